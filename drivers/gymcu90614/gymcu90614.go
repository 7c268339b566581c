package gymcu90614

import (
	"context"
	"fmt"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

// DefaultRateHz is the query rate when the device is polled and rate_hz is 0.
const DefaultRateHz = 8

// maxRateHz bounds polling: the module answers a query within one output
// period of its 10–14 Hz internal cycle, so asking faster only repeats frames.
const maxRateHz = 50

// readTimeout bounds one Read so Run notices ctx being done.
const readTimeout = 100 * time.Millisecond

// resendAfter is how long a streaming module may stay quiet before the
// continuous-output command is sent again: a module that was power-cycled
// behind a USB adapter that stayed plugged in comes back in query mode when
// it is configured without auto-output (A5 52 F7), and the port never fails.
const resendAfter = time.Second

func init() {
	drivers.Register(drivers.Driver{
		Name:       "gymcu90614",
		Transport:  drivers.Serial,
		Continuous: true,
		Bauds:      []int{9600, 115200},
		Validate:   Validate,
		New: func(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
			dev, err := New(c.Port, &Opts{Name: d.Name, RateHz: d.RateHz, Query: d.Query})
			if err != nil {
				return nil, err
			}
			return dev, nil
		},
	})
}

// Validate checks the parts of a device's configuration this driver reads.
func Validate(d drivers.Device) []drivers.FieldError {
	var errs []drivers.FieldError
	if d.RateHz < 0 || d.RateHz > maxRateHz {
		errs = append(errs, drivers.FieldError{Field: "rate_hz", Value: d.RateHz, Msg: fmt.Sprintf("out of range 0–%d", maxRateHz)})
	}
	if d.Line != nil {
		errs = append(errs, drivers.FieldError{Field: "line", Value: "set", Msg: "is not used by gymcu90614"})
	}
	if d.Modbus != nil {
		errs = append(errs, drivers.FieldError{Field: "modbus", Value: "set", Msg: "is not used by gymcu90614"})
	}
	return errs
}

// Opts configures a Dev. The zero value of every field means its default;
// nil Opts means all defaults.
type Opts struct {
	// Name identifies the device in errors; default "gymcu90614".
	Name string
	// RateHz is the query rate when Query is set, at most 50; default 8
	// (DefaultRateHz).
	RateHz float64
	// Query polls the module with CmdQuery RateHz times a second instead of
	// having it stream.
	Query bool
}

// DefaultOpts are the values zero fields of Opts stand for.
var DefaultOpts = Opts{Name: "gymcu90614", RateHz: DefaultRateHz}

// Dev reads one module on an opened serial port.
type Dev struct {
	port drivers.Port
	name string
	// query polls with CmdQuery every interval instead of streaming.
	query    bool
	interval time.Duration
	dec      Decoder
	buf      [256]byte
}

// New returns a Dev reading the module on port. It does not touch the port
// until Run.
func New(port drivers.Port, opts *Opts) (*Dev, error) {
	o := drivers.WithDefaults(opts, DefaultOpts)
	switch {
	case port == nil:
		return nil, fmt.Errorf("gymcu90614 %s: no serial port", o.Name)
	case !(o.RateHz > 0 && o.RateHz <= maxRateHz):
		return nil, fmt.Errorf("gymcu90614 %s: rate %v Hz out of range 0–%d", o.Name, o.RateHz, maxRateHz)
	}
	return &Dev{
		port:     port,
		name:     o.Name,
		query:    o.Query,
		interval: time.Duration(float64(time.Second) / o.RateHz),
	}, nil
}

// Run streams (or polls) the module until ctx is done or the port fails.
func (s *Dev) Run(ctx context.Context, emit drivers.Emit) error {
	if err := s.port.SetReadTimeout(readTimeout); err != nil {
		return fmt.Errorf("gymcu90614 %s: set read timeout: %w", s.name, err)
	}
	var nextQuery, lastCommand, lastData time.Time
	for ctx.Err() == nil {
		switch {
		case s.query:
			if err := s.poll(&nextQuery); err != nil {
				return err
			}
		case time.Since(lastData) >= resendAfter && time.Since(lastCommand) >= resendAfter:
			if err := s.write(CmdContinuous); err != nil {
				return err
			}
			lastCommand = time.Now()
		}
		n, err := s.port.Read(s.buf[:])
		if n > 0 {
			lastData = time.Now()
			s.dec.Feed(s.buf[:n], emit)
		}
		if err != nil {
			return fmt.Errorf("gymcu90614 %s: read: %w", s.name, err)
		}
	}
	return nil
}

// poll sends a query when one is due and shortens the next read so the
// following query is not late by more than a millisecond or so.
func (s *Dev) poll(next *time.Time) error {
	now := time.Now()
	if !now.Before(*next) {
		if err := s.write(CmdQuery); err != nil {
			return err
		}
		// From now, not from the missed deadline: a stalled port must not
		// cause a burst of queries.
		*next = now.Add(s.interval)
	}
	wait := min(readTimeout, max(time.Until(*next), time.Millisecond))
	if err := s.port.SetReadTimeout(wait); err != nil {
		return fmt.Errorf("gymcu90614 %s: set read timeout: %w", s.name, err)
	}
	return nil
}

func (s *Dev) write(cmd []byte) error {
	if _, err := s.port.Write(cmd); err != nil {
		return fmt.Errorf("gymcu90614 %s: write % X: %w", s.name, cmd, err)
	}
	return nil
}

var _ drivers.Source = (*Dev)(nil)
