package pipeline

import (
	"encoding/hex"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
)

// Appender stores one event. storage implements it.
type Appender interface {
	Append(event.Event) error
}

// EventSinkOpts configures an EventSink.
type EventSinkOpts struct {
	// Store receives one KindReading event per measurement; required.
	Store Appender
	// Clock gives the boot id and whether the wall clock is synced; nil
	// leaves them empty and false.
	Clock   Clock
	Devices []DeviceInfo
	Lanes   []Lane
	// Tag, when set, completes a reading's payload before it is stored,
	// e.g. with the school's check round and a late arrival. It runs on the
	// sink's goroutine, never on the lamp path.
	Tag func(m *Measurement, r *event.Reading)
	// Logger; the zero value logs nothing.
	Logger zerolog.Logger
}

// EventSink is the Sink that turns measurements into stored events. Give it
// a ring of StorageRingSize: it is as slow as the SD card.
type EventSink struct {
	o      EventSinkOpts
	log    zerolog.Logger
	failed atomic.Uint64
	// Consume's payload and the temperatures it points to, reused: a
	// fresh one per measurement was four of its allocations.
	r     event.Reading
	temps [3]float64
}

// NewEventSink returns an event sink.
func NewEventSink(o EventSinkOpts) (*EventSink, error) {
	if o.Store == nil {
		return nil, errors.New("pipeline: event sink: no store")
	}
	return &EventSink{o: o, log: o.Logger.With().Str("component", "pipeline.events").Logger()}, nil
}

// Failed counts measurements the store refused.
func (s *EventSink) Failed() uint64 { return s.failed.Load() }

// Consume implements Sink. Like every Sink it is called from one goroutine
// at a time.
func (s *EventSink) Consume(m *Measurement) {
	r := &s.r
	s.fill(m, r, &s.temps)
	if s.o.Tag != nil {
		s.o.Tag(m, r)
	}
	ev, err := event.NewReading(r)
	if err == nil {
		// The measurement's times: storage links a flag's case to this
		// reading by them and the ticket (Cases stamps the case alike).
		ev.Urgent, ev.Mono, ev.Wall, ev.Drill = m.Verdict == VerdictFlag, m.Mono, m.Wall, m.Drill
		if s.o.Clock != nil {
			// The clock's state when stored, a few ms after capture.
			ev.BootID, ev.ClockSynced = s.o.Clock.BootID(), s.o.Clock.Synced()
		}
		err = s.o.Store.Append(ev)
	}
	if err != nil {
		n := s.failed.Add(1)
		// A dying SD card fails every append: log 1, 2, 4, 8 … failures.
		if bits.OnesCount64(n) == 1 {
			s.log.Error().Err(err).Uint64("failed", n).Msg("store reading")
		}
	}
}

// Reading converts a measurement to the payload of a KindReading event.
func (s *EventSink) Reading(m *Measurement) event.Reading {
	var r event.Reading
	s.fill(m, &r, new([3]float64))
	return r
}

// fill sets *r to the payload of m; its temperatures point into temps.
func (s *EventSink) fill(m *Measurement, r *event.Reading, temps *[3]float64) {
	*r = event.Reading{
		RawC:          optC(m.RawC, &temps[0]),
		AmbientC:      optC(m.AmbientC, &temps[1]),
		BodyC:         optC(m.BodyC, &temps[2]),
		Verdict:       m.Verdict.String(),
		Reason:        m.Reason.String(),
		Warnings:      m.Warnings.Names(),
		Mode:          m.Mode.String(),
		CalibrationID: m.CalibrationID,
		ThresholdC:    m.ThresholdC,
		PersonID:      m.PersonID(),
	}
	if m.Mode == ModeSkin { // body mode applies no correction: no offset, no gain
		// The offset in force is the configured one plus the calibration's:
		// their sum carries float noise (0.7 + -0.5 = 0.19999999999999996).
		r.OffsetC, r.Gain = float64(hundredths(m.OffsetC))/100, m.Gain
	}
	if int(m.Lane) < len(s.o.Lanes) {
		r.Lane, r.Role = s.o.Lanes[m.Lane].Name, s.o.Lanes[m.Lane].Role
	} else {
		r.Lane = strconv.Itoa(int(m.Lane))
	}
	if int(m.Device) < len(s.o.Devices) {
		r.Device = s.o.Devices[m.Device].Name
	} else {
		r.Device = strconv.Itoa(int(m.Device))
	}
	if m.Ticket > 0 {
		r.Ticket = TicketName(m.Ticket)
	}
	if m.FrameLen > 0 {
		r.FrameHex = hex.EncodeToString(m.Frame[:m.FrameLen])
	}
}

// optC is nil for a temperature that was not measured, else dst set to the
// value to 0.01 °C: finer digits are float noise of the conversions, not
// data.
func optC(c float64, dst *float64) *float64 {
	if math.IsNaN(c) || math.IsInf(c, 0) {
		return nil
	}
	*dst = float64(hundredths(c)) / 100
	return dst
}
