package thermal

import (
	"context"
	"fmt"
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
	dev Array
	f   *Frame
	tr  *Tracker
}

// NewSource returns a Source reading dev and measuring people with a
// Tracker of options o.
func NewSource(dev Array, o TrackerOpts) *Source {
	f := dev.NewFrame()
	return &Source{dev: dev, f: f, tr: NewTracker(f.W, f.H, o)}
}

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
			emit(reading(m))
		}
	}
	for _, m := range s.tr.Flush() {
		emit(reading(m))
	}
	return nil
}

func reading(m Measurement) drivers.Reading {
	r := drivers.NewTemperature(m.ObjectC, m.AmbientC, 0)
	r.Retake = m.Retake
	return r
}

var _ drivers.Source = (*Source)(nil)

// Register registers a thermal array driver named name on I²C: open builds
// the array on the daemon's bus, and its Source gives one reading per person
// (not continuous: the Tracker, not the pipeline's segmenter, turns frames
// into measurements).
func Register(name string, validate func(drivers.Device) []drivers.FieldError, open func(d drivers.Device, bus i2c.Bus) (Array, error)) {
	drivers.Register(drivers.Driver{
		Name:      name,
		Transport: drivers.I2C,
		Validate:  validate,
		New: func(d drivers.Device, c drivers.Conn) (drivers.Source, error) {
			dev, err := open(d, c.Bus)
			if err != nil {
				return nil, err
			}
			return NewSource(dev, TrackerOpts{}), nil
		},
	})
}
