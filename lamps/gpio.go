package lamps

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	periphgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/gatescreen/gatescreen/pipeline"
)

// output is one of a lane's pins.
type output uint8

const (
	green output = iota
	red
	amber
	buzzer
	barrier
	numOutputs
)

var outputNames = [numOutputs]string{"green", "red", "amber", "buzzer", "barrier"}

func (o output) String() string { return outputNames[o] }

// outputSet is a set of outputs, one bit each.
type outputSet uint8

func setOf(outs ...output) outputSet {
	var s outputSet
	for _, o := range outs {
		s |= 1 << o
	}
	return s
}

// Pattern timings. Three long beeps on a flag are meant to be heard across a
// noisy gate and told apart from the single short beep of a retake.
const (
	flagBeepOn  = 500 * time.Millisecond
	flagBeepOff = 250 * time.Millisecond
	retakeBeep  = 120 * time.Millisecond
	blinkPeriod = 250 * time.Millisecond
)

// Pins is the GPIO wiring of one lane's lamps, buzzer and barrier, by
// periph pin name (gpioreg.ByName), e.g. "GPIO17"; an empty name means not
// wired. The configuration's outputs entries decode into it.
type Pins struct {
	Green   string `yaml:"green,omitempty"`
	Red     string `yaml:"red,omitempty"`
	Amber   string `yaml:"amber,omitempty"`
	Buzzer  string `yaml:"buzzer,omitempty"`
	Barrier string `yaml:"barrier,omitempty"`
	// ActiveLow inverts every pin of the lane (relay boards often are).
	ActiveLow bool `yaml:"active_low,omitempty"`
}

// Opts configures the outputs of one lane. Zero fields mean their default.
type Opts struct {
	// Lane names the lane in errors, logs and OnChange.
	Lane string
	// Pins are the lane's pins; at least one must be given.
	Pins Pins
	// Hold is how long a pass (green), a retake or an invalid reading
	// (amber) stays shown; default 3s. A flag's red lamp is held until
	// ResolveFlag instead.
	Hold time.Duration
	// BarrierPulse is how long the barrier relay is held on a pass;
	// default 800ms.
	BarrierPulse time.Duration
	// Logger receives pin write failures; the zero value logs nothing.
	Logger zerolog.Logger
	// OnChange, when set, is called after every change of an output with
	// the output's name (green, red, amber, buzzer, barrier) and the time
	// of the write. It runs with the lane's lock held, on the Consume
	// goroutine or a timer's: it must be quick and must not call back into
	// Lamps.
	OnChange func(lane, output string, on bool, at time.Time)
}

// DefaultOpts are the values zero fields of Opts stand for.
var DefaultOpts = Opts{Hold: 3 * time.Second, BarrierPulse: 800 * time.Millisecond}

// Lamps drives one lane's outputs. It is safe for concurrent use: the sink
// goroutine calls Consume, the daemon ResolveFlag and Halt.
type Lamps struct {
	lane         string
	hold         time.Duration
	barrierPulse time.Duration
	activeLow    bool
	log          zerolog.Logger
	onChange     func(lane, output string, on bool, at time.Time)

	mu    sync.Mutex
	pins  [numOutputs]periphgpio.PinOut // nil when not wired
	on    outputSet                     // outputs currently on
	timer *time.Timer                   // runs the pattern's next change
	// The running pattern: its verdict, when it started and the index of
	// its next scheduled change.
	verdict pipeline.Verdict
	start   time.Time
	next    int
	closed  bool
}

// New looks up the pins of one lane, sets them to the safe state (lamps and
// buzzer off, barrier closed) and returns the lane's Lamps.
func New(opts *Opts) (*Lamps, error) {
	o := DefaultOpts
	if opts != nil {
		o.Lane, o.Pins, o.Logger, o.OnChange = opts.Lane, opts.Pins, opts.Logger, opts.OnChange
		if opts.Hold != 0 {
			o.Hold = opts.Hold
		}
		if opts.BarrierPulse != 0 {
			o.BarrierPulse = opts.BarrierPulse
		}
	}
	if o.Hold < 0 || o.BarrierPulse < 0 {
		return nil, fmt.Errorf("gpio lane %q: hold %v and barrier pulse %v must not be negative", o.Lane, o.Hold, o.BarrierPulse)
	}
	l := &Lamps{
		lane:         o.Lane,
		hold:         o.Hold,
		barrierPulse: o.BarrierPulse,
		activeLow:    o.Pins.ActiveLow,
		log:          o.Logger,
		onChange:     o.OnChange,
	}
	names := [numOutputs]string{o.Pins.Green, o.Pins.Red, o.Pins.Amber, o.Pins.Buzzer, o.Pins.Barrier}
	wired := 0
	for out, name := range names {
		if name == "" {
			continue
		}
		p := gpioreg.ByName(name)
		if p == nil {
			return nil, fmt.Errorf("gpio lane %q: %s pin %q: no such GPIO pin on this board", o.Lane, output(out), name)
		}
		l.pins[out] = p
		wired++
	}
	if wired == 0 {
		return nil, fmt.Errorf("gpio lane %q: no output pins configured", o.Lane)
	}
	// Drive every pin to its off level now: after a crash the pins keep
	// whatever the previous process left.
	for out, p := range l.pins {
		if p == nil {
			continue
		}
		if err := p.Out(l.level(false)); err != nil {
			return nil, fmt.Errorf("gpio lane %q: %s pin %q: %w", o.Lane, output(out), names[out], err)
		}
	}
	l.timer = time.AfterFunc(time.Hour, l.fire)
	l.timer.Stop()
	return l, nil
}

// Lane returns the lane's name.
func (l *Lamps) Lane() string { return l.lane }

// Consume shows the verdict of m: the lamp is set before Consume returns;
// beeps, blinking and the end of the hold run on a timer.
func (l *Lamps) Consume(m *pipeline.Measurement) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	now := time.Now()
	var show outputSet
	switch m.Verdict {
	case pipeline.VerdictPass:
		show = setOf(green, barrier)
	case pipeline.VerdictFlag:
		show = setOf(red, buzzer)
	case pipeline.VerdictRetake:
		show = setOf(amber, buzzer)
	case pipeline.VerdictInvalid:
		show = setOf(amber)
	}
	l.apply(show, now)
	l.verdict, l.start, l.next = m.Verdict, now, 0
	l.advance(now)
}

// ResolveFlag ends a flag shown on the lane: the daemon calls it when the
// lane's re-check case is cleared. It does nothing if the lane shows
// something else by now.
func (l *Lamps) ResolveFlag() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.verdict != pipeline.VerdictFlag {
		return
	}
	l.timer.Stop()
	l.verdict = pipeline.VerdictNone
	l.apply(0, time.Now())
}

// Halt stops the running pattern and puts the outputs in the safe state:
// lamps and buzzer off, barrier closed. Later measurements are shown again.
func (l *Lamps) Halt() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.haltLocked()
}

// Close halts the outputs and ignores every later call.
func (l *Lamps) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return l.haltLocked()
}

func (l *Lamps) haltLocked() error {
	l.timer.Stop()
	l.verdict = pipeline.VerdictNone
	now := time.Now()
	var errs []error
	// Write every pin, not only those believed on: the safe state must hold
	// even if an earlier write failed half-way.
	for out, p := range l.pins {
		if p == nil {
			continue
		}
		if err := p.Out(l.level(false)); err != nil {
			errs = append(errs, fmt.Errorf("gpio lane %q: %s pin %s: %w", l.lane, output(out), p, err))
		}
	}
	l.reportOff(l.on, now)
	l.on = 0
	return errors.Join(errs...)
}

// apply switches the outputs so that exactly want are on. Outputs are
// switched off before others go on, so red and green are never lit together.
func (l *Lamps) apply(want outputSet, now time.Time) {
	off, on := l.on&^want, want&^l.on
	l.write(off, false, now)
	l.write(on, true, now)
}

func (l *Lamps) write(set outputSet, on bool, now time.Time) {
	for out := range numOutputs {
		if set&(1<<out) == 0 {
			continue
		}
		p := l.pins[out]
		if p == nil {
			continue
		}
		if err := p.Out(l.level(on)); err != nil {
			l.log.Error().Err(err).Str("lane", l.lane).Stringer("output", out).Bool("on", on).Msg("gpio write failed")
			continue
		}
		if on {
			l.on |= 1 << out
		} else {
			l.on &^= 1 << out
		}
		if l.onChange != nil {
			l.onChange(l.lane, outputNames[out], on, now)
		}
	}
}

// reportOff tells OnChange about outputs switched off together by a halt.
func (l *Lamps) reportOff(wereOn outputSet, now time.Time) {
	if l.onChange == nil {
		return
	}
	for out := range numOutputs {
		if wereOn&(1<<out) != 0 {
			l.onChange(l.lane, outputNames[out], false, now)
		}
	}
}

func (l *Lamps) level(on bool) periphgpio.Level { return periphgpio.Level(on != l.activeLow) }

// fire runs on the timer's goroutine.
func (l *Lamps) fire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance(time.Now())
}

// advance applies every change of the running pattern that is due and arms
// the timer for the next one. A timer callback that lost the race with a
// newer Consume finds nothing due and only re-arms the same deadline.
func (l *Lamps) advance(now time.Time) {
	for {
		c, ok := l.change(l.next)
		if !ok {
			return
		}
		if wait := l.start.Add(c.at).Sub(now); wait > 0 {
			l.timer.Reset(wait)
			return
		}
		want := l.on &^ (1 << c.out)
		if c.on {
			want |= 1 << c.out
		}
		l.apply(want, now)
		l.next++
	}
}

// change is one scheduled switch of an output, at an offset from the start
// of the pattern.
type change struct {
	at  time.Duration
	out output
	on  bool
}

var flagBeeps = [...]change{
	{flagBeepOn, buzzer, false},
	{flagBeepOn + flagBeepOff, buzzer, true},
	{2*flagBeepOn + flagBeepOff, buzzer, false},
	{2*flagBeepOn + 2*flagBeepOff, buzzer, true},
	{3*flagBeepOn + 2*flagBeepOff, buzzer, false},
}

// change returns the i-th scheduled change of the running pattern, computed
// on demand so that no pattern needs a buffer.
func (l *Lamps) change(i int) (change, bool) {
	switch l.verdict {
	case pipeline.VerdictPass:
		return inOrder(i, change{l.barrierPulse, barrier, false}, change{l.hold, green, false})
	case pipeline.VerdictFlag:
		if i < len(flagBeeps) {
			return flagBeeps[i], true
		}
	case pipeline.VerdictRetake:
		return inOrder(i, change{retakeBeep, buzzer, false}, change{l.hold, amber, false})
	case pipeline.VerdictInvalid:
		toggles := int((l.hold - 1) / blinkPeriod)
		switch {
		case i < toggles:
			return change{time.Duration(i+1) * blinkPeriod, amber, i%2 == 1}, true
		case i == toggles:
			return change{l.hold, amber, false}, true
		}
	}
	return change{}, false
}

// inOrder returns the i-th of two changes by time.
func inOrder(i int, a, b change) (change, bool) {
	if b.at < a.at {
		a, b = b, a
	}
	switch i {
	case 0:
		return a, true
	case 1:
		return b, true
	}
	return change{}, false
}

// Lanes routes each measurement to the Lamps of its lane: index i holds the
// Lamps of lanes[i] in the configuration, nil for a lane without outputs.
type Lanes []*Lamps

// Consume passes m to its lane's Lamps.
func (ls Lanes) Consume(m *pipeline.Measurement) {
	if int(m.Lane) < len(ls) && ls[m.Lane] != nil {
		ls[m.Lane].Consume(m)
	}
}

// Close puts every lane's outputs in the safe state.
func (ls Lanes) Close() error {
	var errs []error
	for _, l := range ls {
		if l != nil {
			errs = append(errs, l.Close())
		}
	}
	return errors.Join(errs...)
}

// RegisterSimPins registers in-memory pins (periph's gpiotest.Pin) for a lane
// without hardware, named SIM_<LANE>_GREEN, _RED, _AMBER, _BUZZER and
// _BARRIER, and returns the Pins that wire them. Pins registered by an
// earlier call for the same lane are reused. Read a pin's level with
// gpioreg.ByName(name).Read() or follow changes with Opts.OnChange.
func RegisterSimPins(lane string) (Pins, error) {
	prefix := "SIM_" + strings.ToUpper(lane) + "_"
	var names [numOutputs]string
	for out := range numOutputs {
		name := prefix + strings.ToUpper(outputNames[out])
		names[out] = name
		if gpioreg.ByName(name) != nil {
			continue
		}
		if err := gpioreg.Register(&gpiotest.Pin{N: name, Num: -1}); err != nil {
			return Pins{}, fmt.Errorf("gpio lane %q: register simulated pin: %w", lane, err)
		}
	}
	return Pins{Green: names[green], Red: names[red], Amber: names[amber], Buzzer: names[buzzer], Barrier: names[barrier]}, nil
}

var _ pipeline.Sink = (*Lamps)(nil)
var _ pipeline.Sink = Lanes(nil)
