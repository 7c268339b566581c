package drivers

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"periph.io/x/conn/v3/i2c"
)

// Kind says what a Reading carries.
type Kind uint8

const (
	// KindTemperature is a temperature frame from a thermometer or gate.
	KindTemperature Kind = iota + 1
	// KindBadge is a card swipe; Frame holds the card UID as ASCII.
	KindBadge
)

// Flags are the device's own verdicts on a frame. Any flag but FlagAlarm and
// FlagNoAmbient makes the reading invalid: it is never shown as a pass.
type Flags uint16

const (
	// FlagChecksum: the frame's checksum or the bus PEC did not match.
	FlagChecksum Flags = 1 << iota
	// FlagSensorError: the device set its own error bit (e.g. MLX90614 bit 15).
	FlagSensorError
	// FlagOutOfRange: the value lies outside what the sensor can measure.
	FlagOutOfRange
	// FlagMalformed: the bytes could not be parsed as a frame at all.
	FlagMalformed
	// FlagStatus: a status register reported a fault.
	FlagStatus
	// FlagAlarm: the device raised its own over-temperature alarm. It is
	// information, not a fault; the pipeline decides the verdict.
	FlagAlarm
	// FlagNoAmbient: the device does not report ambient temperature.
	FlagNoAmbient
)

// Retake is a device's own reason to have the person measured again: a
// thermal array that saw someone but found no measurement in its frames.
// The pipeline's verdict on such a reading of a one-shot device (one reading
// per person) is retake, whatever ObjectC says.
type Retake uint8

const (
	// RetakeNone: the reading is a measurement.
	RetakeNone Retake = iota
	// RetakeTooFar: the face was too small in pixels to measure.
	RetakeTooFar
	// RetakeCrowded: two people close enough to measure were in view at once.
	RetakeCrowded
	// RetakeShortDwell: close enough for less than the minimum dwell.
	RetakeShortDwell
	// RetakeUnstable: the reading never held still.
	RetakeUnstable
)

var retakeNames = [...]string{"", "too_far", "crowded", "short_dwell", "unstable"}

func (r Retake) String() string {
	if int(r) < len(retakeNames) {
		return retakeNames[r]
	}
	return fmt.Sprintf("retake(%d)", r)
}

// Invalid reports whether the flags make the reading unusable.
func (f Flags) Invalid() bool { return f&^(FlagAlarm|FlagNoAmbient) != 0 }

// MaxFrame bounds the raw bytes kept with a reading, so a Reading stays a
// fixed-size value with no pointers.
const MaxFrame = 24

// Reading is one frame from one device. It is a plain value (no pointers) so
// the pipeline's rings copy it without allocating.
type Reading struct {
	Kind  Kind
	Flags Flags
	// Device is the index of the device in the configuration; set by the
	// daemon's emitter, not by the driver.
	Device uint16
	// FrameLen is how many bytes of Frame are used.
	FrameLen uint8
	// Retake, when set, is the device's reason to measure the person again;
	// ObjectC is then the hottest value it saw, for the log.
	Retake Retake
	// Mono is the monotonic capture time in nanoseconds (see sync/clock),
	// Wall the wall-clock time in Unix nanoseconds; both stamped by the
	// daemon's emitter when the driver emits.
	Mono int64
	Wall int64
	// ObjectC is the object (skin or body) temperature in °C as the device
	// reports it; NaN when the frame carries none.
	ObjectC float64
	// AmbientC is the sensor's ambient temperature in °C; NaN when absent.
	AmbientC float64
	// Frame holds the raw bytes of an invalid frame (truncated to MaxFrame)
	// for diagnosis, or the card UID of a badge reading.
	Frame [MaxFrame]byte
}

// NewTemperature returns a temperature reading with the given values.
func NewTemperature(objectC, ambientC float64, flags Flags) Reading {
	return Reading{Kind: KindTemperature, Flags: flags, ObjectC: objectC, AmbientC: ambientC}
}

// Invalid returns a reading that carries no temperature, only the reason and
// the offending bytes.
func Invalid(flags Flags, frame []byte) Reading {
	r := Reading{Kind: KindTemperature, Flags: flags, ObjectC: math.NaN(), AmbientC: math.NaN()}
	r.SetFrame(frame)
	return r
}

// Badge returns a badge reading for a card UID.
func Badge(uid []byte) Reading {
	r := Reading{Kind: KindBadge, ObjectC: math.NaN(), AmbientC: math.NaN()}
	r.SetFrame(uid)
	return r
}

// SetFrame copies b into Frame, truncated to MaxFrame bytes.
func (r *Reading) SetFrame(b []byte) {
	r.FrameLen = uint8(copy(r.Frame[:], b))
}

// FrameBytes returns the used part of Frame.
func (r *Reading) FrameBytes() []byte { return r.Frame[:r.FrameLen] }

// Emit hands a reading to the daemon. It never blocks for long: behind it is
// a lock-free ring.
type Emit func(Reading)

// Source is a running device driver.
type Source interface {
	// Run reads from the device until ctx is done or the device fails, and
	// emits every frame it reads, valid or not. It returns nil when ctx is
	// done and an error wrapping the cause when the port or bus failed, after
	// which the daemon reopens it with backoff and calls Run on a new Source.
	Run(ctx context.Context, emit Emit) error
}

// Port is the part of a serial port a driver uses. go.bug.st/serial's Port
// satisfies it, and so does a pseudo-terminal opened through it in tests.
type Port interface {
	io.ReadWriter
	// SetReadTimeout bounds one Read, so Run can notice ctx being done.
	SetReadTimeout(t time.Duration) error
}

// Conn is what the daemon opened for a device: a serial port or an I²C bus.
type Conn struct {
	Port Port
	Bus  i2c.Bus
}
