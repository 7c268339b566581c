package thermal

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c"

	"github.com/gatescreen/gatescreen/drivers"
)

// sceneArray plays scenes as a sensor would, one frame per ReadFrame; frames
// listed in invalid carry a checksum failure. After the last scene it
// cancels the run, or fails like a bus when err is set.
type sceneArray struct {
	scenes  [][]person
	invalid map[int]bool
	i       int
	rng     *rand.Rand
	cancel  context.CancelFunc
	err     error
}

func (a *sceneArray) String() string   { return "scene" }
func (a *sceneArray) NewFrame() *Frame { return NewFrame(sceneW, sceneH) }

func (a *sceneArray) ReadFrame(f *Frame) error {
	if a.i == len(a.scenes) {
		if a.err != nil {
			return a.err
		}
		a.cancel()
		return nil
	}
	render(f, a.scenes[a.i], a.rng, 0.05)
	if a.invalid[a.i] {
		f.Flags = drivers.FlagChecksum
	}
	a.i++
	// The Source's clock is the wall clock: pace the frames at 80 Hz.
	time.Sleep(framePeriod / 10)
	return nil
}

func runScenes(t *testing.T, a *sceneArray) ([]drivers.Reading, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.cancel, a.rng = cancel, rand.New(rand.NewPCG(3, 1))
	var got []drivers.Reading
	// Dwell and gap scaled to the 80 Hz frames, with room for a loaded
	// machine: a passage ends after 20 frames without the person.
	err := NewSource(a, TrackerOpts{MinDwell: 50 * time.Millisecond, MaxGap: 250 * time.Millisecond}).
		Run(ctx, func(r drivers.Reading) { got = append(got, r) })
	return got, err
}

// A person enters the pipeline as one reading; a retake as one reading
// with Retake set; invalid frames as at most one invalid reading a second.
func TestSourceEmitsOneReadingPerPerson(t *testing.T) {
	scenes := append(walk(38.5, 1.0, 1500*time.Millisecond), make([][]person, 40)...)
	scenes = append(scenes, walk(36.6, 3.0, 1500*time.Millisecond)...)
	a := &sceneArray{scenes: scenes, invalid: map[int]bool{0: true, 1: true, 2: true}}
	got, err := runScenes(t, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d readings %+v, want invalid, measurement, retake", len(got), got)
	}
	if !got[0].Flags.Invalid() || got[0].Flags&drivers.FlagChecksum == 0 {
		t.Errorf("first reading %+v, want one invalid for the three bad frames", got[0])
	}
	if m := got[1]; m.Retake != drivers.RetakeNone || m.Flags != 0 || math.Abs(m.ObjectC-38.5) > 0.1 || m.AmbientC != sceneAmbientC {
		t.Errorf("second reading %+v, want 38.5 °C measured", m)
	}
	if m := got[2]; m.Retake != drivers.RetakeTooFar || m.Flags.Invalid() {
		t.Errorf("third reading %+v, want retake too_far", m)
	}
}

func TestSourceReturnsBusError(t *testing.T) {
	errBus := errors.New("i2c: NACK")
	a := &sceneArray{scenes: walk(37, 1.0, 500*time.Millisecond)[:10], err: errBus}
	got, err := runScenes(t, a)
	if !errors.Is(err, errBus) {
		t.Fatalf("Run = %v, want the bus error", err)
	}
	if len(got) != 0 {
		t.Fatalf("emitted %+v for a passage the bus cut short", got)
	}
}

// errNoSensor is what the test driver's Open returns for the device
// "missing".
var errNoSensor = errors.New("no sensor")

// registerTestDriver registers "thermaltest" once per test binary: the
// registry refuses a name twice, and -count=2 runs TestRegister again.
var registerTestDriver = sync.OnceFunc(func() {
	Register(ArrayDriver{
		Name:        "thermaltest",
		AddressOK:   func(a uint16) bool { return a != 0x7F },
		AddressRule: "is not 0x7f",
		RateOK:      func(hz float64) bool { return hz >= 0 },
		RateRule:    "is negative",
		Open: func(d drivers.Device, _ i2c.Bus) (Array, error) {
			if d.Name == "missing" {
				return nil, errNoSensor
			}
			return &sceneArray{}, nil
		},
	})
})

func TestRegister(t *testing.T) {
	registerTestDriver()
	drv, ok := drivers.Lookup("thermaltest")
	if !ok {
		t.Fatal("not registered")
	}
	if drv.Transport != drivers.I2C || drv.Continuous {
		t.Fatalf("transport %d continuous %v, want I2C and one reading per person", drv.Transport, drv.Continuous)
	}
	if errs := drv.Validate(drivers.Device{Address: 0x5A, RateHz: 4}); len(errs) != 0 {
		t.Fatalf("valid device rejected: %v", errs)
	}
	errs := drv.Validate(drivers.Device{Address: 0x7F, RateHz: -1})
	if len(errs) != 2 || errs[0].Field != "address" || errs[0].Msg != "is not 0x7f" || errs[1].Field != "rate_hz" || errs[1].Msg != "is negative" {
		t.Fatalf("got %v, want the address and rate_hz rules", errs)
	}
	if src, err := drv.New(drivers.Device{Name: "lane1"}, drivers.Conn{}); err != nil {
		t.Fatal(err)
	} else if _, ok := src.(*Source); !ok {
		t.Fatalf("New gave a %T, want a *thermal.Source", src)
	}
	if _, err := drv.New(drivers.Device{Name: "missing"}, drivers.Conn{}); !errors.Is(err, errNoSensor) {
		t.Fatalf("New on a missing sensor: %v", err)
	}
}
