package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
)

// Ring sizes and batching.
const (
	// DefaultRingSize is the input ring per device and the default sink ring:
	// about a minute of a 14 Hz stream, or a whole morning's queue of
	// one-shot readings, before anything is dropped.
	DefaultRingSize = 1024
	// StorageRingSize is what the storage sink should ask for: a slow SD card
	// commit must not cost events.
	StorageRingSize = 64 << 10
	// CasesRingSize is the ring of an attached Cases; it only receives flags
	// and re-check lane measurements.
	CasesRingSize = 4096
	// consumeBatch bounds how many values a consumer takes before freeing
	// their slots and looking at its other rings.
	consumeBatch = 64
)

// DeviceInfo is what the pipeline knows of one configured device, indexed
// like drivers.Reading.Device: DeviceOf derives it from the device's
// description (drivers.Device) and its driver, once, so the stages read
// plain values.
type DeviceInfo struct {
	Name string
	// Continuous devices stream (or are polled) while a person stands in
	// front of them; the segmenter turns their stream into one measurement
	// per person.
	Continuous bool
	// Idle says IdleC is what the device reads with nobody there; presence
	// is measured against it when a frame carries no ambient. Without it the
	// segmenter learns a baseline from the idle frames.
	Idle  bool
	IdleC float64
	// Mode, OffsetC and Gain are the configured compensation.
	Mode    CompMode
	OffsetC float64
	Gain    float64
}

// DeviceOf describes a configured device for the pipeline; continuous is
// its driver's drivers.Driver.Continuous. A GY-MCU90614 in query mode
// answers once per question, but the questions come several times a
// second: still a stream.
func DeviceOf(d drivers.Device, continuous bool) (DeviceInfo, error) {
	info := DeviceInfo{Name: d.Name, Continuous: continuous, OffsetC: d.OffsetC, Gain: d.Gain}
	switch d.Mode {
	case "", "body":
		info.Mode = ModeBody
	case "skin":
		info.Mode = ModeSkin
	default:
		return DeviceInfo{}, fmt.Errorf("pipeline: device %s: mode %q: want body or skin", d.Name, d.Mode)
	}
	if d.IdleC != nil {
		info.Idle, info.IdleC = true, *d.IdleC
	}
	return info, nil
}

// Lane is one queue at the gate with its thermometer: the one description
// of a lane, given to the pipeline, the cases and the sinks that name lanes
// (the event store, the screen, /metrics), indexed like Measurement.Lane.
type Lane struct {
	Name string
	// Label is what people read for the lane (e.g. 1号通道); empty means
	// Name.
	Label string
	// Role is one of event's lane roles (event.RoleStudent…).
	Role string
	// Device is the index of the lane's thermometer in Opts.Devices.
	Device int
	// Badge is the index of the lane's badge reader, -1 for none.
	Badge int
}

// Opts configures a Pipeline.
type Opts struct {
	Devices []DeviceInfo
	Lanes   []Lane
	// Params is the screening configuration; zero fields take defaults and a
	// nil Comp is filled from Devices.
	Params Params
	// RingSize is the input ring of each device; 0 means DefaultRingSize.
	RingSize int
	// Logger; the zero value logs nothing.
	Logger zerolog.Logger
	// OnHealth receives ring overflow warnings, at most one per ring per
	// HealthEvery; nil discards them (Stats still counts).
	OnHealth func(event.Health)
	// HealthEvery is how often overflow counters are checked; default 10 s.
	HealthEvery time.Duration
	// Roster maps a card UID to a roster id; ok false counts the card as
	// unknown. Nil uses the card UID itself as the person id.
	Roster func(card string) (personID string, ok bool)
	// Cases, when set, draws a ticket for every flag on a non-recheck lane,
	// is fed by its own ring (CasesRingSize) and fills LaneState.Awaiting.
	Cases *Cases
}

// Pipeline runs the screening stages on one goroutine between lock-free
// rings: one input ring per device, one ring per sink.
type Pipeline struct {
	o      Opts
	log    zerolog.Logger
	params atomic.Pointer[Params]

	devs  []device
	lanes []lane
	// Indices with unpublished counts (see publish); stage goroutine only.
	dirtyDevs, dirtyLanes []int
	inputs                []*ring[drivers.Reading]
	// inject carries drills and test readings; its producers serialise on
	// injectMu so the ring keeps a single producer. Not on the device path.
	inject   *ring[injected]
	injectMu sync.Mutex
	wake     *waker
	sinks    []*sink
	// inline sinks run on the stage goroutine (AddInlineSink).
	inline []*sink

	started   bool
	stop      chan struct{}
	stopOnce  sync.Once
	closeOnce sync.Once
	workers   sync.WaitGroup
	health    sync.WaitGroup
	healthEnd chan struct{}

	unknownCards  atomic.Uint64
	unrouted      atomic.Uint64
	unknownDevice atomic.Uint64

	// Bound once: a method value built in the loop would allocate.
	onReading  func(*drivers.Reading)
	onInjected func(*injected)
	// benchFanout, when set, replaces the sink rings: the benchmark that
	// wires the same stages with channels sets it. By value, so the
	// measurement does not escape to the heap.
	benchFanout func(Measurement)
	scratch     [MaxRelativeWindow]float64 // median scratch, stage goroutine only
}

type injected struct {
	lane  int
	drill bool
	r     drivers.Reading
}

// sink is one consumer with its own ring and goroutine.
type sink struct {
	name string
	s    Sink
	// filter, when the Sink is a Filter, picks what is pushed; it is given
	// a copy in scratch so the measurement never escapes the stage's stack.
	filter  Filter
	scratch Measurement
	ring    *ring[Measurement]
	wake    *waker
	stop    chan struct{}
}

// Filter is an optional interface of a Sink: only the measurements Wants
// accepts are pushed to its ring (Cases wants flags and re-check lane
// readings; a calibration sink one device). Wants runs on the stage
// goroutine, on a copy valid during the call: it must be quick and must not
// wait for anything.
type Filter interface {
	Wants(m *Measurement) bool
}

// New checks the options and builds a pipeline; call AddSink, then Start.
func New(o Opts) (*Pipeline, error) {
	if len(o.Devices) == 0 || len(o.Devices) > 1<<16 {
		return nil, fmt.Errorf("pipeline: %d devices: want 1–65536", len(o.Devices))
	}
	if len(o.Lanes) == 0 || len(o.Lanes) > 256 {
		return nil, fmt.Errorf("pipeline: %d lanes: want 1–256", len(o.Lanes))
	}
	if o.RingSize <= 0 {
		o.RingSize = DefaultRingSize
	}
	if o.HealthEvery <= 0 {
		o.HealthEvery = 10 * time.Second
	}
	p := &Pipeline{
		o:          o,
		log:        o.Logger.With().Str("component", "pipeline").Logger(),
		devs:       make([]device, len(o.Devices)),
		lanes:      make([]lane, len(o.Lanes)),
		dirtyDevs:  make([]int, 0, len(o.Devices)),
		dirtyLanes: make([]int, 0, len(o.Lanes)),
		wake:       newWaker(),
		stop:       make(chan struct{}),
		healthEnd:  make(chan struct{}),
	}
	for i, di := range o.Devices {
		p.devs[i] = device{info: di, lane: -1, badgeLane: -1}
		p.inputs = append(p.inputs, newRing[drivers.Reading]("device:"+di.Name, o.RingSize, p.wake))
	}
	for i, li := range o.Lanes {
		if li.Device < 0 || li.Device >= len(o.Devices) {
			return nil, fmt.Errorf("pipeline: lane %q: device index %d out of range", li.Name, li.Device)
		}
		if li.Badge >= len(o.Devices) {
			return nil, fmt.Errorf("pipeline: lane %q: badge index %d out of range", li.Name, li.Badge)
		}
		if p.devs[li.Device].lane >= 0 {
			return nil, fmt.Errorf("pipeline: lane %q: device %q already serves lane %q",
				li.Name, o.Devices[li.Device].Name, o.Lanes[p.devs[li.Device].lane].Name)
		}
		p.devs[li.Device].lane = i
		if li.Badge >= 0 {
			p.devs[li.Badge].badgeLane = i
		}
		p.lanes[i] = lane{info: li, recheck: li.Role == event.RoleRecheck}
	}
	p.inject = newRing[injected]("inject", 64, p.wake)
	prm := o.Params
	if prm.Comp == nil {
		for _, di := range o.Devices {
			prm.Comp = append(prm.Comp, Compensation{Mode: di.Mode, OffsetC: di.OffsetC, Gain: di.Gain})
		}
	}
	p.storeParams(prm)
	p.onReading = func(r *drivers.Reading) { p.process(r, -1, false) }
	p.onInjected = func(in *injected) { p.process(&in.r, in.lane, in.drill) }
	if o.Cases != nil {
		p.AddSink("cases", CasesRingSize, o.Cases)
	}
	return p, nil
}

func (p *Pipeline) storeParams(prm Params) {
	prm = prm.withDefaults()
	prm.Comp = append([]Compensation(nil), prm.Comp...)
	p.params.Store(&prm)
	if p.o.Cases != nil {
		p.o.Cases.setThreshold(prm.ThresholdC)
	}
}

// Reload makes prm the screening configuration for every reading processed
// from now on. A nil prm.Comp keeps the compensation in force. Safe to call
// from any goroutine (the daemon does on SIGHUP, after validating the file).
func (p *Pipeline) Reload(prm Params) {
	if prm.Comp == nil {
		prm.Comp = p.params.Load().Comp
	}
	p.storeParams(prm)
}

// Params returns the configuration in force, defaults filled in.
func (p *Pipeline) Params() Params {
	prm := *p.params.Load()
	prm.Comp = append([]Compensation(nil), prm.Comp...)
	return prm
}

// SetCompensation replaces one device's compensation (a new calibration
// record) for the readings processed from now on.
func (p *Pipeline) SetCompensation(device uint16, c Compensation) error {
	if int(device) >= len(p.devs) {
		return fmt.Errorf("pipeline: compensation for device %d: no such device", device)
	}
	for {
		old := p.params.Load()
		next := *old
		next.Comp = append([]Compensation(nil), old.Comp...)
		for len(next.Comp) <= int(device) {
			next.Comp = append(next.Comp, Compensation{})
		}
		next.Comp[device] = c
		if p.params.CompareAndSwap(old, &next) {
			return nil
		}
	}
}

// Producer returns the emit function of a device. Exactly one goroutine (the
// device's runner) may call it. It never blocks and never locks; when the
// device's ring is full the reading is dropped and counted (see Stats and
// the ring_overflow health event).
func (p *Pipeline) Producer(device uint16) drivers.Emit {
	if int(device) >= len(p.inputs) {
		panic(fmt.Sprintf("pipeline: Producer(%d): only %d devices", device, len(p.inputs)))
	}
	in := p.inputs[device]
	return func(r drivers.Reading) {
		r.Device = device
		in.push(&r)
	}
}

// AddSink gives s its own ring of size slots (0 means DefaultRingSize) and
// goroutine. When the ring is full the newest measurement is dropped for
// this sink only and counted; no other sink and no lamp waits. The storage
// sink should ask for StorageRingSize. Call before Start.
func (p *Pipeline) AddSink(name string, size int, s Sink) {
	if p.started {
		panic("pipeline: AddSink " + name + " after Start")
	}
	if size <= 0 {
		size = DefaultRingSize
	}
	w := newWaker()
	sk := &sink{name: name, s: s, wake: w, stop: make(chan struct{}),
		ring: newRing[Measurement]("sink:"+name, size, w)}
	sk.filter, _ = s.(Filter)
	p.sinks = append(p.sinks, sk)
}

// AddInlineSink calls s.Consume on the stage goroutine, for every
// measurement, right after it is pushed to the other sinks' rings: no ring
// and no goroutine, so no wake-up per measurement. It is for a sink like
// Filter.Wants: quick (counters, atomics) and never waiting for anything
// (no lock another goroutine holds for long, no I/O), because while it runs
// the stage, and the lamps behind it, wait. Call before Start.
func (p *Pipeline) AddInlineSink(name string, s Sink) {
	if p.started {
		panic("pipeline: AddInlineSink " + name + " after Start")
	}
	sk := &sink{name: name, s: s}
	sk.filter, _ = s.(Filter)
	p.inline = append(p.inline, sk)
}

// Start runs the stage goroutine, one goroutine per sink and the overflow
// reporter. When ctx is done the pipeline drains and stops as if Close were
// called; Close must still be called to wait for it.
func (p *Pipeline) Start(ctx context.Context) {
	if p.started {
		return
	}
	p.started = true
	p.workers.Add(1 + len(p.sinks))
	go p.runStage()
	for _, s := range p.sinks {
		go s.run(&p.workers)
	}
	if p.o.OnHealth != nil {
		p.health.Add(1)
		go p.runHealth()
	}
	go func() {
		select {
		case <-ctx.Done():
			p.signalStop()
		case <-p.stop:
		}
	}()
}

func (p *Pipeline) signalStop() { p.stopOnce.Do(func() { close(p.stop) }) }

// Close drains every input ring through the stages, then every sink ring
// through its sink, and returns when all are done. Call it after every
// producer has stopped (devices → pipeline → storage); readings emitted
// after Close are dropped.
func (p *Pipeline) Close() {
	p.closeOnce.Do(func() {
		p.signalStop()
		if !p.started {
			return
		}
		p.workers.Wait()
		close(p.healthEnd)
		p.health.Wait()
	})
}

// Inject processes r as if the lane's device had measured it, as a one-shot
// reading (continuous devices are not segmented, their stuck detector is not
// touched); drill marks the measurement and everything it causes. For drills
// and tests; safe from any goroutine. Its ring holds 64 readings; when it
// is full Inject drops the reading, counts it and returns an error.
func (p *Pipeline) Inject(laneIdx int, r drivers.Reading, drill bool) error {
	if laneIdx < 0 || laneIdx >= len(p.lanes) {
		return fmt.Errorf("pipeline: inject: no lane %d", laneIdx)
	}
	r.Device = uint16(p.lanes[laneIdx].info.Device)
	in := injected{lane: laneIdx, drill: drill, r: r}
	p.injectMu.Lock()
	defer p.injectMu.Unlock()
	if !p.inject.push(&in) {
		return errors.New("pipeline: inject: ring full")
	}
	return nil
}

func (p *Pipeline) runStage() {
	defer p.workers.Done()
	for {
		if p.drainInputs() > 0 {
			p.publish()
			continue
		}
		select {
		case <-p.stop:
			for p.drainInputs() > 0 {
				p.publish()
			}
			p.publish()
			// Only now: a sink drains after the last push into its ring.
			for _, s := range p.sinks {
				close(s.stop)
			}
			return
		default:
		}
		p.wake.idle(p.inputsPending, p.stop)
	}
}

func (p *Pipeline) drainInputs() int {
	n := 0
	for _, in := range p.inputs {
		n += in.consume(consumeBatch, p.onReading)
	}
	return n + p.inject.consume(consumeBatch, p.onInjected)
}

func (p *Pipeline) inputsPending() bool {
	for _, in := range p.inputs {
		if in.pending() {
			return true
		}
	}
	return p.inject.pending()
}

func (s *sink) run(wg *sync.WaitGroup) {
	defer wg.Done()
	consume := s.s.Consume
	for {
		if s.ring.consume(consumeBatch, consume) > 0 {
			continue
		}
		select {
		case <-s.stop:
			for s.ring.consume(consumeBatch, consume) > 0 {
			}
			return
		default:
		}
		s.wake.idle(s.ring.pending, s.stop)
	}
}

// overflowCounter names one ring's drop counter for reporting.
type overflowCounter struct {
	name    string
	dropped *atomic.Uint64
}

func (p *Pipeline) counters() []overflowCounter {
	var cs []overflowCounter
	for _, in := range p.inputs {
		cs = append(cs, overflowCounter{in.name, &in.dropped})
	}
	cs = append(cs, overflowCounter{p.inject.name, &p.inject.dropped})
	for _, s := range p.sinks {
		cs = append(cs, overflowCounter{s.ring.name, &s.ring.dropped})
	}
	return cs
}

// runHealth reports ring overflows at most once per HealthEvery per ring:
// a flood of drops becomes one event with a count, not one per drop.
func (p *Pipeline) runHealth() {
	defer p.health.Done()
	cs := p.counters()
	reported := make([]uint64, len(cs))
	report := func() {
		for i, c := range cs {
			n := c.dropped.Load()
			if n == reported[i] {
				continue
			}
			p.o.OnHealth(event.Health{Component: "pipeline", State: event.HealthWarning,
				Reason: "ring_overflow:" + c.name, Count: n - reported[i]})
			p.log.Warn().Str("ring", c.name).Uint64("dropped", n-reported[i]).Msg("ring overflow")
			reported[i] = n
		}
	}
	t := time.NewTicker(p.o.HealthEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			report()
		case <-p.healthEnd:
			report()
			return
		}
	}
}
