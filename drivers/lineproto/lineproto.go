package lineproto

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// DefaultMaxLine bounds a line when line.max_line is 0.
const DefaultMaxLine = 256

// maxMaxLine keeps a misconfigured bound from becoming a large buffer.
const maxMaxLine = 64 << 10

// readTimeout bounds one Read so Run notices ctx being done.
const readTimeout = 100 * time.Millisecond

func init() {
	drivers.Register(drivers.Driver{
		Name:      "lineproto",
		Transport: drivers.Serial,
		Bauds:     []int{9600, 19200, 38400, 57600, 115200},
		Validate:  Validate,
		New:       New,
	})
}

// Validate checks the device's line block; a missing block is valid and
// means DefaultPattern.
func Validate(d drivers.Device) []drivers.FieldError {
	var errs []drivers.FieldError
	if _, err := NewParser(d.Line); err != nil {
		var fe drivers.FieldError
		if errors.As(err, &fe) {
			errs = append(errs, fe)
		}
	}
	if d.Line == nil {
		return errs
	}
	switch d.Line.LineEnd {
	case "", "\n", "\r\n", "\r":
	default:
		errs = append(errs, drivers.FieldError{Field: "line.line_end", Value: fmt.Sprintf("%q", d.Line.LineEnd), Msg: `must be "\n", "\r\n" or "\r"`})
	}
	if d.Line.MaxLine < 0 || d.Line.MaxLine > maxMaxLine {
		errs = append(errs, drivers.FieldError{Field: "line.max_line", Value: d.Line.MaxLine, Msg: fmt.Sprintf("out of range 0–%d", maxMaxLine)})
	}
	return errs
}

// Source reads one line-oriented device.
type Source struct {
	port   drivers.Port
	name   string
	split  *Splitter
	parser *Parser
	buf    [512]byte
}

// New returns a Source reading lines from c.Port.
func New(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
	if c.Port == nil {
		return nil, fmt.Errorf("lineproto %s: no serial port", d.Name)
	}
	if errs := Validate(d); len(errs) > 0 {
		return nil, fmt.Errorf("lineproto %s: %w", d.Name, errs[0])
	}
	parser, err := NewParser(d.Line)
	if err != nil {
		return nil, fmt.Errorf("lineproto %s: %w", d.Name, err)
	}
	// "\r\n" splits at "\n"; the splitter trims the "\r".
	ends, maxLine := "\n", DefaultMaxLine
	if d.Line != nil {
		if d.Line.LineEnd == "\r" {
			ends = "\r"
		}
		if d.Line.MaxLine > 0 {
			maxLine = d.Line.MaxLine
		}
	}
	return &Source{port: c.Port, name: d.Name, split: NewSplitter(ends, maxLine), parser: parser}, nil
}

// Dropped returns how many over-long lines were dropped.
func (s *Source) Dropped() uint64 { return s.split.Dropped() }

// Run reads lines until ctx is done or the port fails.
func (s *Source) Run(ctx context.Context, emit drivers.Emit) error {
	if err := s.port.SetReadTimeout(readTimeout); err != nil {
		return fmt.Errorf("lineproto %s: set read timeout: %w", s.name, err)
	}
	onLine := func(line []byte) {
		if r, ok := s.parser.Parse(line); ok {
			emit(r)
		}
	}
	for ctx.Err() == nil {
		n, err := s.port.Read(s.buf[:])
		if n > 0 {
			s.split.Feed(s.buf[:n], onLine)
		}
		if err != nil {
			return fmt.Errorf("lineproto %s: read: %w", s.name, err)
		}
	}
	return nil
}

var _ drivers.Source = (*Source)(nil)
