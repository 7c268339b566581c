package badge

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

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

// readTimeout bounds one Read so Run notices ctx being done.
const readTimeout = 100 * time.Millisecond

func init() {
	drivers.Register(drivers.Driver{
		Name:      "badge",
		Transport: drivers.Serial,
		Bauds:     []int{9600, 115200},
		Validate:  Validate,
		New:       New,
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

// Source reads one card reader.
type Source struct {
	port  drivers.Port
	name  string
	split *lineproto.Splitter
	// bad counts lines that were not a UID.
	bad atomic.Uint64
	buf [256]byte
}

// New returns a Source reading UIDs from c.Port.
func New(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
	if c.Port == nil {
		return nil, fmt.Errorf("badge %s: no serial port", d.Name)
	}
	if errs := Validate(d); len(errs) > 0 {
		return nil, fmt.Errorf("badge %s: %w", d.Name, errs[0])
	}
	return &Source{port: c.Port, name: d.Name, split: lineproto.NewSplitter(lineEnds, maxLine)}, nil
}

// Dropped returns how many lines were dropped: too long or not a UID.
func (s *Source) Dropped() uint64 { return s.split.Dropped() + s.bad.Load() }

// Run reads UIDs until ctx is done or the port fails.
func (s *Source) Run(ctx context.Context, emit drivers.Emit) error {
	if err := s.port.SetReadTimeout(readTimeout); err != nil {
		return fmt.Errorf("badge %s: set read timeout: %w", s.name, err)
	}
	var uid [maxUID]byte
	onLine := func(line []byte) {
		n, ok := Normalize(line, &uid)
		if !ok {
			s.bad.Add(1)
			return
		}
		emit(drivers.Badge(uid[:n]))
	}
	for ctx.Err() == nil {
		n, err := s.port.Read(s.buf[:])
		if n > 0 {
			s.split.Feed(s.buf[:n], onLine)
		}
		if err != nil {
			return fmt.Errorf("badge %s: read: %w", s.name, err)
		}
	}
	return nil
}

var _ drivers.Source = (*Source)(nil)
