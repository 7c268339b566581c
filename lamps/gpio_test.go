package lamps

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	periphgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/pipeline"
)

// generous bounds every wait for a timer-driven change; the patterns
// themselves last at most a few seconds.
const generous = 10 * time.Second

type edge struct {
	output string
	on     bool
	at     time.Time
}

// recorder collects OnChange calls.
type recorder struct {
	mu    sync.Mutex
	edges []edge
}

func (r *recorder) onChange(_, output string, on bool, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.edges = append(r.edges, edge{output, on, at})
}

// of returns the recorded edges of one output as "+"/"-" for on/off.
func (r *recorder) of(output string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.edges {
		if e.output == output {
			if e.on {
				b.WriteByte('+')
			} else {
				b.WriteByte('-')
			}
		}
	}
	return b.String()
}

func (r *recorder) first(output string, on bool) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.edges {
		if e.output == output && e.on == on {
			return e.at, true
		}
	}
	return time.Time{}, false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, generous, what, cond)
}

var laneSeq atomic.Int32

// lane wires a lane to fresh simulated pins named after the test.
type lane struct {
	*Lamps
	rec  *recorder
	pins Pins
}

func newLane(t *testing.T, o Opts) *lane {
	t.Helper()
	name := fmt.Sprintf("%s_%d", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()), laneSeq.Add(1))
	pins, err := RegisterSimPins(name)
	if err != nil {
		t.Fatal(err)
	}
	pins.ActiveLow = o.Pins.ActiveLow
	rec := &recorder{}
	o.Lane, o.Pins, o.OnChange = name, pins, rec.onChange
	l, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &lane{Lamps: l, rec: rec, pins: pins}
}

// level reads the electrical level of a simulated pin.
func level(t *testing.T, name string) periphgpio.Level {
	t.Helper()
	p := gpioreg.ByName(name)
	if p == nil {
		t.Fatalf("pin %s not registered", name)
	}
	return p.Read()
}

// lit reports which outputs are on, as levels read from the pins.
func (l *lane) lit(t *testing.T) string {
	t.Helper()
	var on []string
	names := []string{l.pins.Green, l.pins.Red, l.pins.Amber, l.pins.Buzzer, l.pins.Barrier}
	for i, n := range names {
		if level(t, n) != periphgpio.Level(l.pins.ActiveLow) {
			on = append(on, outputNames[i])
		}
	}
	return strings.Join(on, ",")
}

func measure(v pipeline.Verdict) *pipeline.Measurement { return &pipeline.Measurement{Verdict: v} }

func TestPassShowsGreenAndPulsesBarrier(t *testing.T) {
	t.Parallel()
	l := newLane(t, Opts{Hold: 300 * time.Millisecond, BarrierPulse: 100 * time.Millisecond})
	start := time.Now()
	l.Consume(measure(pipeline.VerdictPass))
	if got := l.lit(t); got != "green,barrier" {
		t.Fatalf("right after Consume: lit %q, want green,barrier", got)
	}
	waitFor(t, "green to go out", func() bool { return l.rec.of("green") == "+-" })
	if got := l.rec.of("barrier"); got != "+-" {
		t.Fatalf("barrier edges %q, want one pulse", got)
	}
	offAt, _ := l.rec.first("green", false)
	closedAt, _ := l.rec.first("barrier", false)
	if offAt.Sub(start) < 300*time.Millisecond || closedAt.Sub(start) < 100*time.Millisecond {
		t.Fatalf("green off after %v, barrier closed after %v: earlier than Hold/BarrierPulse", offAt.Sub(start), closedAt.Sub(start))
	}
	if !closedAt.Before(offAt) {
		t.Fatalf("barrier closed at %v, after green went out at %v", closedAt, offAt)
	}
	if got := l.lit(t); got != "" {
		t.Fatalf("after the hold: lit %q, want nothing", got)
	}
}

func TestFlagHoldsRedUntilResolved(t *testing.T) {
	t.Parallel()
	l := newLane(t, Opts{Hold: 100 * time.Millisecond})
	l.Consume(measure(pipeline.VerdictFlag))
	if got := l.lit(t); got != "red,buzzer" {
		t.Fatalf("right after Consume: lit %q, want red,buzzer", got)
	}
	waitFor(t, "three long beeps", func() bool { return l.rec.of("buzzer") == "+-+-+-" })
	// The pattern is over and far beyond Hold: red must still be on.
	if got := l.lit(t); got != "red" {
		t.Fatalf("after the beeps: lit %q, want red held", got)
	}
	on, _ := l.rec.first("buzzer", true)
	off, _ := l.rec.first("buzzer", false)
	if off.Sub(on) < flagBeepOn {
		t.Fatalf("first beep lasted %v, want a long beep (%v)", off.Sub(on), flagBeepOn)
	}
	l.ResolveFlag()
	if got := l.lit(t); got != "" {
		t.Fatalf("after ResolveFlag: lit %q, want nothing", got)
	}
	if got := l.rec.of("red"); got != "+-" {
		t.Fatalf("red edges %q, want on then off", got)
	}
}

func TestNextMeasurementEndsFlag(t *testing.T) {
	t.Parallel()
	l := newLane(t, Opts{Hold: time.Hour})
	l.Consume(measure(pipeline.VerdictFlag))
	l.Consume(measure(pipeline.VerdictPass))
	if got := l.lit(t); got != "green,barrier" {
		t.Fatalf("pass after flag: lit %q, want green,barrier", got)
	}
	// Red went off before green came on: never both.
	var redOff, greenOn int
	l.rec.mu.Lock()
	for i, e := range l.rec.edges {
		switch {
		case e.output == "red" && !e.on:
			redOff = i
		case e.output == "green" && e.on:
			greenOn = i
		}
	}
	l.rec.mu.Unlock()
	if redOff > greenOn {
		t.Fatalf("green came on (edge %d) before red went off (edge %d)", greenOn, redOff)
	}
	// The flag's beep timer must not touch the buzzer of the new pattern.
	time.Sleep(3 * (flagBeepOn + flagBeepOff))
	if got := l.rec.of("buzzer"); got != "+-" {
		t.Fatalf("buzzer edges %q after the flag was superseded, want the beep cut short", got)
	}
	// ResolveFlag no longer applies: the lane shows a pass.
	l.ResolveFlag()
	if got := l.lit(t); !strings.Contains(got, "green") {
		t.Fatalf("ResolveFlag on a pass turned off the green lamp: lit %q", got)
	}
}

func TestRetakeShowsAmberAndShortBeep(t *testing.T) {
	t.Parallel()
	l := newLane(t, Opts{Hold: 300 * time.Millisecond})
	l.Consume(measure(pipeline.VerdictRetake))
	if got := l.lit(t); got != "amber,buzzer" {
		t.Fatalf("right after Consume: lit %q, want amber,buzzer", got)
	}
	waitFor(t, "amber to go out", func() bool { return l.rec.of("amber") == "+-" })
	if got := l.rec.of("buzzer"); got != "+-" {
		t.Fatalf("buzzer edges %q, want one beep", got)
	}
	on, _ := l.rec.first("buzzer", true)
	off, _ := l.rec.first("buzzer", false)
	if off.Sub(on) >= flagBeepOn {
		t.Fatalf("retake beep lasted %v, want it shorter than a flag beep", off.Sub(on))
	}
	if got := l.rec.of("green"); got != "" {
		t.Fatalf("green edges %q on a retake, want none", got)
	}
}

func TestInvalidBlinksAmber(t *testing.T) {
	t.Parallel()
	l := newLane(t, Opts{Hold: time.Second})
	l.Consume(measure(pipeline.VerdictInvalid))
	if got := l.lit(t); got != "amber" {
		t.Fatalf("right after Consume: lit %q, want amber", got)
	}
	// 1 s at 250 ms: on, off, on, off.
	waitFor(t, "amber to blink and stop", func() bool { return l.rec.of("amber") == "+-+-" })
	if got := l.rec.of("buzzer") + l.rec.of("green"); got != "" {
		t.Fatalf("buzzer/green edges %q on an invalid reading, want none", got)
	}
	time.Sleep(2 * blinkPeriod)
	if got := l.rec.of("amber"); got != "+-+-" {
		t.Fatalf("amber kept blinking after Hold: %q", got)
	}
}

func TestUnclassifiedShowsNothing(t *testing.T) {
	t.Parallel()
	l := newLane(t, Opts{Hold: time.Hour})
	l.Consume(measure(pipeline.VerdictPass))
	l.Consume(measure(pipeline.VerdictNone))
	if got := l.lit(t); got != "" {
		t.Fatalf("after an unclassified measurement: lit %q, want nothing (never green)", got)
	}
}

func TestHaltLeavesSafeState(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		t.Run(fmt.Sprintf("active_low=%v", activeLow), func(t *testing.T) {
			l := newLane(t, Opts{Hold: time.Hour, Pins: Pins{ActiveLow: activeLow}})
			if got := l.lit(t); got != "" {
				t.Fatalf("after New: lit %q, want nothing", got)
			}
			if activeLow && level(t, l.pins.Red) != periphgpio.High {
				t.Fatal("active-low red pin is low (lit) after New")
			}
			l.Consume(measure(pipeline.VerdictFlag))
			if got := l.lit(t); got != "red,buzzer" {
				t.Fatalf("flag: lit %q", got)
			}
			if err := l.Halt(); err != nil {
				t.Fatal(err)
			}
			if got := l.lit(t); got != "" {
				t.Fatalf("after Halt: lit %q, want lamps and buzzer off, barrier closed", got)
			}
			time.Sleep(flagBeepOn + flagBeepOff)
			if got := l.lit(t); got != "" {
				t.Fatalf("the beep pattern ran on after Halt: lit %q", got)
			}
			if got := l.rec.of("red"); got != "+-" {
				t.Fatalf("red edges %q, want OnChange to report the halt", got)
			}
			// Halt is not Close: the lane shows measurements again.
			l.Consume(measure(pipeline.VerdictPass))
			if got := l.lit(t); got != "green,barrier" {
				t.Fatalf("pass after Halt: lit %q", got)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l.Consume(measure(pipeline.VerdictFlag))
			if got := l.lit(t); got != "" {
				t.Fatalf("Consume after Close lit %q", got)
			}
		})
	}
}

func TestUnknownPinNamesPinAndLane(t *testing.T) {
	_, err := New(&Opts{Lane: "east-1", Pins: Pins{Green: "GPIO_NOPE_17"}})
	if err == nil {
		t.Fatal("New accepted an unknown pin")
	}
	for _, want := range []string{"east-1", "green", "GPIO_NOPE_17"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %q", err, want)
		}
	}
	if _, err := New(&Opts{Lane: "east-2"}); err == nil || !strings.Contains(err.Error(), "no output pins") {
		t.Fatalf("New without pins: %v", err)
	}
}

func TestPartialWiring(t *testing.T) {
	pins, err := RegisterSimPins(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(&Opts{Lane: "two-lamps", Pins: Pins{Green: pins.Green, Red: pins.Red}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Consume(measure(pipeline.VerdictRetake)) // no amber, no buzzer wired
	l.Consume(measure(pipeline.VerdictFlag))
	if level(t, pins.Red) != periphgpio.High || level(t, pins.Buzzer) != periphgpio.Low {
		t.Fatal("flag on a lane with only green and red: want red lit and the unwired buzzer untouched")
	}
}

func TestLanesRouteByIndex(t *testing.T) {
	a := newLane(t, Opts{Hold: time.Hour})
	b := newLane(t, Opts{Hold: time.Hour})
	lanes := Lanes{a.Lamps, nil, b.Lamps}
	lanes.Consume(&pipeline.Measurement{Lane: 2, Verdict: pipeline.VerdictFlag})
	lanes.Consume(&pipeline.Measurement{Lane: 1, Verdict: pipeline.VerdictPass}) // no outputs
	lanes.Consume(&pipeline.Measurement{Lane: 7, Verdict: pipeline.VerdictPass}) // unknown
	if got := a.lit(t) + "|" + b.lit(t); got != "|red,buzzer" {
		t.Fatalf("lit %q, want only lane 2 flagged", got)
	}
	if err := lanes.Close(); err != nil {
		t.Fatal(err)
	}
	if got := b.lit(t); got != "" {
		t.Fatalf("after Lanes.Close: lit %q", got)
	}
}

func TestRegisterSimPinsReuses(t *testing.T) {
	first, err := RegisterSimPins("reuse")
	if err != nil {
		t.Fatal(err)
	}
	second, err := RegisterSimPins("reuse")
	if err != nil {
		t.Fatalf("second registration: %v", err)
	}
	if first != second || first.Red != "SIM_REUSE_RED" {
		t.Fatalf("pins %+v then %+v, want the same SIM_REUSE_* names", first, second)
	}
}
