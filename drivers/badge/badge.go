package badge

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/lineproto"
)

// UID lengths accepted, in digits: 4 covers the shortest numeric cards, and
// a reading holds at most drivers.MaxFrame bytes (a 10-byte UID in hex is
// 20 digits).
const (
	minUID = 4
	maxUID = drivers.MaxFrame
)

// maxLine bounds a reader's line; UIDs with separators, prefixes and framing
// are far shorter.
const maxLine = 64

// lineEnds end a line: LF, CR, and ETX for readers that frame without one.
const lineEnds = "\n\r\x03"

func init() {
	drivers.Register(drivers.Driver{
		Name:      "badge",
		Transport: drivers.Serial,
		Bauds:     []int{9600, 115200},
		Validate:  Validate,
		New: func(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
			dev, err := New(c.Port, &Opts{Name: d.Name})
			if err != nil {
				return nil, err
			}
			return dev, nil
		},
	})
}

// Validate rejects configuration blocks a card reader does not use.
func Validate(d drivers.Device) []drivers.FieldError {
	var errs []drivers.FieldError
	if d.Line != nil {
		errs = append(errs, drivers.FieldError{Field: "line", Value: "set", Msg: "is not used by badge"})
	}
	if d.Modbus != nil {
		errs = append(errs, drivers.FieldError{Field: "modbus", Value: "set", Msg: "is not used by badge"})
	}
	return errs
}

// Normalize extracts the UID from one line: control characters (STX, ETX)
// and blanks around it, a 0x prefix and ':', '-' or ' ' separators are
// removed and hex letters upper-cased. It writes into uid and reports the
// length; ok is false when the line is not a UID.
func Normalize(line []byte, uid *[drivers.MaxFrame]byte) (n int, ok bool) {
	line = bytes.TrimFunc(line, func(r rune) bool { return r <= ' ' || r == 0x7f })
	if len(line) > 2 && line[0] == '0' && (line[1] == 'x' || line[1] == 'X') {
		line = line[2:]
	}
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'F':
		case c >= 'a' && c <= 'f':
			c -= 'a' - 'A'
		case c == ':' || c == '-' || c == ' ':
			continue
		default:
			return 0, false
		}
		if n == maxUID {
			return 0, false
		}
		uid[n] = c
		n++
	}
	return n, n >= minUID
}

// Opts configures a Dev; nil Opts means all defaults.
type Opts struct {
	// Name identifies the device in errors; default "badge".
	Name string
}

// DefaultOpts are the values zero fields of Opts stand for.
var DefaultOpts = Opts{Name: "badge"}

// Dev reads one card reader on an opened serial port.
type Dev struct {
	port  drivers.Port
	name  string
	split *lineproto.Splitter
	// bad counts lines that were not a UID.
	bad atomic.Uint64
	buf [256]byte
}

// New returns a Dev reading UIDs from port. It does not touch the port
// until Run.
func New(port drivers.Port, opts *Opts) (*Dev, error) {
	o := drivers.WithDefaults(opts, DefaultOpts)
	if port == nil {
		return nil, fmt.Errorf("badge %s: no serial port", o.Name)
	}
	return &Dev{port: port, name: o.Name, split: lineproto.NewSplitter(lineEnds, maxLine)}, nil
}

// Dropped returns how many lines were dropped: too long or not a UID.
func (s *Dev) Dropped() uint64 { return s.split.Dropped() + s.bad.Load() }

// Run reads UIDs until ctx is done or the port fails.
func (s *Dev) Run(ctx context.Context, emit drivers.Emit) error {
	var uid [maxUID]byte
	err := s.split.ReadLines(ctx, s.port, s.buf[:], func(line []byte) {
		n, ok := Normalize(line, &uid)
		if !ok {
			s.bad.Add(1)
			return
		}
		emit(drivers.Badge(uid[:n]))
	})
	if err != nil {
		return fmt.Errorf("badge %s: %w", s.name, err)
	}
	return nil
}

var _ drivers.Source = (*Dev)(nil)
