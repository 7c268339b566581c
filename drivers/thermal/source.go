package thermal

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"

	"github.com/gatescreen/gatescreen/drivers"
)

// Array is a thermal array driver on an opened bus.
type Array interface {
	fmt.Stringer
	// NewFrame returns a frame the size of the sensor's.
	NewFrame() *Frame
	// ReadFrame blocks until the sensor has a new frame, at most a few
	// frame periods, and fills f. Only a bus failure is an error.
	ReadFrame(f *Frame) error
}

// invalidEvery bounds how often a run of invalid frames is reported.
const invalidEvery = time.Second

// Source runs an Array and emits one reading per person, as a one-shot
// thermometer does: the measurement, or a reading with Retake set. Invalid
// frames are reported as invalid readings at most once a second, so the
// device's health shows them. It is a drivers.Source.
type Source struct {
	dev    Array
	f      *Frame
	tr     *Tracker
	thumbs *Thumbs
}

// NewSource returns a Source reading dev and measuring people with a
// Tracker of options o.
func NewSource(dev Array, o TrackerOpts) *Source {
	f := dev.NewFrame()
	return &Source{dev: dev, f: f, tr: NewTracker(f.W, f.H, o)}
}

// KeepThumbs makes the Source hand the frame of every measurement (see
// Measurement.Image) to h before emitting its reading; call before Run.
func (s *Source) KeepThumbs(h *Thumbs) { s.thumbs = h }

// Run reads frames until ctx is done, then decides the people still in
// view and returns nil; a bus failure returns its error at once, deciding
// nobody (the daemon reopens the bus).
func (s *Source) Run(ctx context.Context, emit drivers.Emit) error {
	start := time.Now()
	lastInvalid := -invalidEvery
	for ctx.Err() == nil {
		if err := s.dev.ReadFrame(s.f); err != nil {
			return err
		}
		now := time.Since(start)
		if s.f.Flags.Invalid() {
			if now-lastInvalid >= invalidEvery {
				lastInvalid = now
				emit(drivers.Invalid(s.f.Flags, nil))
			}
			continue
		}
		for _, m := range s.tr.Add(s.f, now) {
			s.emit(emit, m)
		}
	}
	for _, m := range s.tr.Flush() {
		s.emit(emit, m)
	}
	return nil
}

func (s *Source) emit(emit drivers.Emit, m Measurement) {
	if s.thumbs != nil {
		s.thumbs.hold(s.f.W, s.f.H, m.Image)
	}
	emit(reading(m))
}

func reading(m Measurement) drivers.Reading {
	r := drivers.NewTemperature(m.ObjectC, m.AmbientC, 0)
	r.Retake = m.Retake
	return r
}

var _ drivers.Source = (*Source)(nil)

// ArrayDriver describes a thermal array on I²C for Register. A configured
// array has an address and a frame rate, each 0 for the driver's default.
type ArrayDriver struct {
	// Name is the value of devices[].driver.
	Name string
	// AddressOK and RateOK report whether a configured address and rate are
	// valid; AddressRule and RateRule say what is, in the configuration's
	// error (e.g. "must be 1 or 10 (0 means 10)").
	AddressOK   func(addr uint16) bool
	AddressRule string
	RateOK      func(hz float64) bool
	RateRule    string
	// Open builds the array on the daemon's bus from the configured device:
	// the one place the driver reads a drivers.Device.
	Open func(d drivers.Device, bus i2c.Bus) (Array, error)
}

var (
	arraysMu sync.RWMutex
	arrays   = map[string]bool{}
)

// IsArray reports whether the driver named name is a thermal array
// registered by Register: its Source is a *Source, whose measured frames
// the daemon may show on the screen (KeepThumbs).
func IsArray(name string) bool {
	arraysMu.RLock()
	defer arraysMu.RUnlock()
	return arrays[name]
}

// Register registers a thermal array driver. Its Source gives one reading
// per person (not continuous: the Tracker, not the pipeline's segmenter,
// turns frames into measurements).
func Register(a ArrayDriver) {
	arraysMu.Lock()
	arrays[a.Name] = true
	arraysMu.Unlock()
	drivers.Register(drivers.Driver{
		Name:      a.Name,
		Transport: drivers.I2C,
		Validate:  a.validate,
		New: func(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
			dev, err := a.Open(d, c.Bus)
			if err != nil {
				return nil, err
			}
			return NewSource(dev, TrackerOpts{}), nil
		},
	})
}

// validate checks the device fields an array driver reads.
func (a ArrayDriver) validate(d drivers.Device) []drivers.FieldError {
	var errs []drivers.FieldError
	if !a.AddressOK(d.Address) {
		errs = append(errs, drivers.FieldError{Field: "address", Value: d.Address, Msg: a.AddressRule})
	}
	if !a.RateOK(d.RateHz) {
		errs = append(errs, drivers.FieldError{Field: "rate_hz", Value: d.RateHz, Msg: a.RateRule})
	}
	return errs
}
