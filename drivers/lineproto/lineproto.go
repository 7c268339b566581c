package lineproto

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatescreen/gatescreen/drivers"
)

// DefaultMaxLine bounds a line when line.max_line is 0.
const DefaultMaxLine = 256

// maxMaxLine keeps a misconfigured bound from becoming a large buffer.
const maxMaxLine = 64 << 10

func init() {
	drivers.Register(drivers.Driver{
		Name:      "lineproto",
		Transport: drivers.Serial,
		Bauds:     []int{9600, 19200, 38400, 57600, 115200},
		Validate:  Validate,
		New: func(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
			dev, err := New(c.Port, &Opts{Name: d.Name, Line: d.Line})
			if err != nil {
				return nil, err
			}
			return dev, nil
		},
	})
}

// Validate checks the device's line block; a missing block is valid and
// means DefaultPattern.
func Validate(d drivers.Device) []drivers.FieldError { return validateLine(d.Line) }

func validateLine(line *drivers.LineOpts) []drivers.FieldError {
	var errs []drivers.FieldError
	if _, err := NewParser(line); err != nil {
		var fe drivers.FieldError
		if errors.As(err, &fe) {
			errs = append(errs, fe)
		}
	}
	if line == nil {
		return errs
	}
	switch line.LineEnd {
	case "", "\n", "\r\n", "\r":
	default:
		errs = append(errs, drivers.FieldError{Field: "line.line_end", Value: fmt.Sprintf("%q", line.LineEnd), Msg: `must be "\n", "\r\n" or "\r"`})
	}
	if line.MaxLine < 0 || line.MaxLine > maxMaxLine {
		errs = append(errs, drivers.FieldError{Field: "line.max_line", Value: line.MaxLine, Msg: fmt.Sprintf("out of range 0–%d", maxMaxLine)})
	}
	return errs
}

// Opts configures a Dev; nil Opts means all defaults.
type Opts struct {
	// Name identifies the device in errors; default "lineproto".
	Name string
	// Line is the pattern, unit, line end and line bound (devices[].line);
	// nil means DefaultPattern in °C, lines ending in "\n" or "\r\n", at
	// most DefaultMaxLine bytes.
	Line *drivers.LineOpts
}

// DefaultOpts are the values zero fields of Opts stand for.
var DefaultOpts = Opts{Name: "lineproto"}

// Dev reads one line-oriented device on an opened serial port.
type Dev struct {
	port   drivers.Port
	name   string
	split  *Splitter
	parser *Parser
	buf    [512]byte
}

// New returns a Dev reading lines from port. It does not touch the port
// until Run. A bad Line is an error wrapping the drivers.FieldError.
func New(port drivers.Port, opts *Opts) (*Dev, error) {
	o := drivers.WithDefaults(opts, DefaultOpts)
	if port == nil {
		return nil, fmt.Errorf("lineproto %s: no serial port", o.Name)
	}
	if errs := validateLine(o.Line); len(errs) > 0 {
		return nil, fmt.Errorf("lineproto %s: %w", o.Name, errs[0])
	}
	parser, err := NewParser(o.Line)
	if err != nil {
		return nil, fmt.Errorf("lineproto %s: %w", o.Name, err)
	}
	// "\r\n" splits at "\n"; the splitter trims the "\r".
	ends, maxLine := "\n", DefaultMaxLine
	if o.Line != nil {
		if o.Line.LineEnd == "\r" {
			ends = "\r"
		}
		if o.Line.MaxLine > 0 {
			maxLine = o.Line.MaxLine
		}
	}
	return &Dev{port: port, name: o.Name, split: NewSplitter(ends, maxLine), parser: parser}, nil
}

// Dropped returns how many over-long lines were dropped.
func (s *Dev) Dropped() uint64 { return s.split.Dropped() }

// Run reads lines until ctx is done or the port fails.
func (s *Dev) Run(ctx context.Context, emit drivers.Emit) error {
	err := s.split.ReadLines(ctx, s.port, s.buf[:], func(line []byte) {
		if r, ok := s.parser.Parse(line); ok {
			emit(r)
		}
	})
	if err != nil {
		return fmt.Errorf("lineproto %s: %w", s.name, err)
	}
	return nil
}

var _ drivers.Source = (*Dev)(nil)
