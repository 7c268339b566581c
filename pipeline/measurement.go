package pipeline

import (
	"fmt"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
)

// Verdict is the pipeline's decision on one measurement.
type Verdict uint8

const (
	// VerdictNone is the zero value: not yet classified. Never shown green.
	VerdictNone Verdict = iota
	// VerdictPass: body temperature plausible and below the threshold.
	VerdictPass
	// VerdictFlag: at or above the threshold (or the relative rule); opens
	// a re-check case.
	VerdictFlag
	// VerdictRetake: implausibly low, too short a dwell or unstable.
	VerdictRetake
	// VerdictInvalid: the device's data cannot be trusted.
	VerdictInvalid
)

func (v Verdict) String() string {
	switch v {
	case VerdictPass:
		return event.VerdictPass
	case VerdictFlag:
		return event.VerdictFlag
	case VerdictRetake:
		return event.VerdictRetake
	case VerdictInvalid:
		return event.VerdictInvalid
	}
	return "none"
}

// Reason explains a verdict.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonThreshold
	ReasonRelative
	ReasonBelowFloor
	ReasonShortDwell
	ReasonUnstable
	ReasonChecksum
	ReasonSensorError
	ReasonOutOfRange
	ReasonMalformed
	ReasonStatus
	ReasonNaN
	ReasonStuck
	ReasonDrill
	// ReasonDeviceAlarm: the device raised its own alarm and our number
	// passes; the two disagree, so the person is measured again.
	ReasonDeviceAlarm
	// ReasonTooFar: a thermal array saw a face too small in pixels to
	// measure (drivers.RetakeTooFar).
	ReasonTooFar
	// ReasonCrowded: a thermal array saw two people close enough to measure
	// at once (drivers.RetakeCrowded).
	ReasonCrowded

	reasonCount // the number of reasons; keep last
)

var reasonNames = [...]string{
	ReasonNone:        "",
	ReasonThreshold:   "threshold",
	ReasonRelative:    "relative",
	ReasonBelowFloor:  "below_floor",
	ReasonShortDwell:  "short_dwell",
	ReasonUnstable:    "unstable",
	ReasonChecksum:    "checksum",
	ReasonSensorError: "sensor_error",
	ReasonOutOfRange:  "out_of_range",
	ReasonMalformed:   "malformed",
	ReasonStatus:      "status",
	ReasonNaN:         "nan",
	ReasonStuck:       "stuck",
	ReasonDrill:       "drill",
	ReasonDeviceAlarm: "device_alarm",
	ReasonTooFar:      "too_far",
	ReasonCrowded:     "crowded",
}

// retakeReasons maps a device's own retake (drivers.Reading.Retake) to the
// reason of the retake verdict.
var retakeReasons = [...]Reason{
	drivers.RetakeTooFar:     ReasonTooFar,
	drivers.RetakeCrowded:    ReasonCrowded,
	drivers.RetakeShortDwell: ReasonShortDwell,
	drivers.RetakeUnstable:   ReasonUnstable,
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Warning bits do not change a verdict; they are shown and stored.
type Warning uint8

const (
	WarnAmbientLow Warning = 1 << iota
	WarnAmbientHigh
	WarnNoAmbient
)

// Names returns the warnings as the strings used in events.
func (w Warning) Names() []string {
	var out []string
	if w&WarnAmbientLow != 0 {
		out = append(out, "ambient_low")
	}
	if w&WarnAmbientHigh != 0 {
		out = append(out, "ambient_high")
	}
	if w&WarnNoAmbient != 0 {
		out = append(out, "no_ambient")
	}
	return out
}

// MaxPersonID bounds a roster id carried by a measurement.
const MaxPersonID = 24

// Measurement is one decision about one person (or one unusable frame). Like
// drivers.Reading it is a fixed-size value with no pointers, copied through
// the rings without allocating.
type Measurement struct {
	Lane     uint8 // index into the configured lanes
	Device   uint16
	Verdict  Verdict
	Reason   Reason
	Warnings Warning
	Flags    drivers.Flags
	Drill    bool
	// Mono/Wall are the capture time of the frame (or of the plateau).
	Mono int64
	Wall int64
	// RawC and AmbientC as the device reported them (NaN when absent);
	// BodyC after compensation (NaN when invalid).
	RawC     float64
	AmbientC float64
	BodyC    float64
	// Compensation applied.
	Mode          CompMode
	OffsetC       float64
	Gain          float64
	CalibrationID uint64
	ThresholdC    float64
	// PersonLen bytes of Person hold the roster id paired by badge.
	PersonLen uint8
	Person    [MaxPersonID]byte
	FrameLen  uint8
	Frame     [drivers.MaxFrame]byte
	// Ticket is the re-check ticket number (R-001 is 1) the pipeline drew
	// for a flag when a Cases is attached; 0 means none.
	Ticket uint16
}

// TicketName formats a ticket number as shown on the screen, e.g. "R-003".
func TicketName(n uint16) string { return fmt.Sprintf("R-%03d", n) }

// PersonID returns the paired roster id, or "".
func (m *Measurement) PersonID() string { return string(m.Person[:m.PersonLen]) }

// SetPersonID stores a roster id, truncated to MaxPersonID bytes.
func (m *Measurement) SetPersonID(id string) { m.PersonLen = uint8(copy(m.Person[:], id)) }

// CompMode is how a device's value becomes a body temperature.
type CompMode uint8

const (
	// ModeBody: the device already reports body temperature.
	ModeBody CompMode = iota
	// ModeSkin: add the calibrated offset (and gain) to the skin reading.
	ModeSkin
)

func (c CompMode) String() string {
	if c == ModeSkin {
		return "skin"
	}
	return "body"
}

// Sink consumes measurements on its own goroutine, fed by its own ring, so a
// slow sink (SD card, network, browser) never delays another or the lamps.
type Sink interface {
	// Consume is called once per measurement, in order per lane. m is only
	// valid during the call.
	Consume(m *Measurement)
}
