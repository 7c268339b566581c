package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/i2c/i2creg"

	"github.com/gatescreen/gatescreen/drivers"
)

// Opts configures Start. The zero value uses the defaults given.
type Opts struct {
	// Logger receives plug/unplug and fault-injection events; the zero
	// value logs nothing.
	Logger zerolog.Logger
	// SentBuffer is the capacity of the Sent channel; default 1024. When it
	// is full, further people are not queued: the gate never waits for it.
	SentBuffer int
	// WriteTimeout bounds one write to a pseudo-terminal; default 100 ms.
	// Bytes the host does not take in time are dropped, as on a UART.
	WriteTimeout time.Duration
}

// gateCount makes bus names unique among the gates of one process.
var gateCount atomic.Int64

// Gate is a running simulated gate.
type Gate struct {
	sc     *Scenario
	log    zerolog.Logger
	start  time.Time
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sent   chan Person
	done   chan struct{}
	devs   []*simDevice

	closeOnce sync.Once
	closeErr  error
}

// simDevice is one running device: a serial end or an I²C bus.
type simDevice struct {
	spec    *DeviceSpec
	serial  *serialEnd
	bus     *MLXBus
	array   *ArrayBus
	busName string
	scene   *scene
	cmds    chan [3]byte // GY-MCU90614 host commands
}

func (d *simDevice) connected() bool {
	if b := d.i2cBus(); b != nil {
		return b.connected()
	}
	return d.serial.connected()
}

// i2cPlug is the connector of a simulated I²C sensor: pulled out, the
// sensor answers no transaction. Both buses embed it; safe for concurrent
// use.
type i2cPlug struct{ out atomic.Bool }

func (p *i2cPlug) setUnplugged(u bool) { p.out.Store(u) }
func (p *i2cPlug) connected() bool     { return !p.out.Load() }

// pluggable is a simulated I²C bus that can be unplugged.
type pluggable interface {
	connected() bool
	setUnplugged(bool)
}

// i2cBus returns the device's I²C bus, nil for a serial device.
func (d *simDevice) i2cBus() pluggable {
	switch {
	case d.bus != nil:
		return d.bus
	case d.array != nil:
		return d.array
	}
	return nil
}

// Start opens a pseudo-terminal for every serial device and registers an
// I²C bus for every MLX90614, then runs the scenario until ctx is done or
// Close is called. Close must be called either way: it releases the
// pseudo-terminals and unregisters the buses.
func Start(ctx context.Context, sc *Scenario, opts Opts) (*Gate, error) {
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("sim: scenario: %w", err)
	}
	opts.SentBuffer = orDefault(opts.SentBuffer, 1024)
	opts.WriteTimeout = orDefault(opts.WriteTimeout, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(ctx)
	g := &Gate{
		sc: sc, log: opts.Logger, cancel: cancel,
		sent: make(chan Person, opts.SentBuffer), done: make(chan struct{}),
	}
	id := gateCount.Add(1)
	for i := range sc.Devices {
		spec := &sc.Devices[i]
		d := &simDevice{spec: spec}
		log := g.log.With().Str("sim_device", spec.Name).Logger()
		switch {
		case spec.Protocol == ProtocolMLX90614:
			d.busName = fmt.Sprintf("sim%d-%s", id, spec.Name)
			d.bus = NewMLXBus(d.busName, spec.mlxAddress())
			if err := RegisterBus(d.busName, d.bus); err != nil {
				g.Close()
				return nil, err
			}
		case spec.array():
			d.busName = fmt.Sprintf("sim%d-%s", id, spec.Name)
			d.array = NewArrayBus(d.busName, spec.Protocol, spec.Address, spec.ambient(), deviceRand(sc.Seed, spec.Name, "noise"))
			if err := RegisterBus(d.busName, d.array); err != nil {
				g.Close()
				return nil, err
			}
		default:
			d.serial = &serialEnd{name: spec.Name, writeTimeout: opts.WriteTimeout, log: log}
			if spec.Protocol == ProtocolGYMCU {
				d.cmds = make(chan [3]byte, 8)
				d.serial.onPlug = func(master *os.File) { g.readCommands(master, d.cmds, log) }
			}
			if err := d.serial.plug(); err != nil {
				g.Close()
				return nil, err
			}
		}
		if spec.continuous() && !spec.array() {
			d.scene = &scene{ambient: spec.ambient(), noise: deviceRand(sc.Seed, spec.Name, "noise")}
			if d.bus != nil {
				d.bus.follow(func() (float64, float64) { return d.scene.sample(time.Now()) })
			}
		}
		g.devs = append(g.devs, d)
	}

	g.start = time.Now()
	var people sync.WaitGroup
	for _, d := range g.devs {
		if d.spec.Protocol != ProtocolBadge {
			people.Add(1)
			g.goRun(func() { defer people.Done(); g.presentPeople(ctx, d) })
		}
		if d.spec.Protocol == ProtocolGYMCU {
			g.goRun(func() { g.streamGYMCU(ctx, d) })
		}
		if d.spec.Garbage != nil {
			g.goRun(func() { g.injectGarbage(ctx, d) })
		}
		if len(d.spec.Unplug) > 0 {
			g.goRun(func() { g.unplugOnSchedule(ctx, d) })
		}
	}
	g.goRun(func() { people.Wait(); close(g.done) })
	return g, nil
}

func (g *Gate) goRun(f func()) {
	g.wg.Add(1)
	go func() { defer g.wg.Done(); f() }()
}

// Sent delivers every person as their reading is sent, the truth tests
// compare the daemon's output with. It is never closed.
func (g *Gate) Sent() <-chan Person { return g.sent }

// Done is closed when every thermometer has presented its last person:
// after the scenario's duration, or on Close.
func (g *Gate) Done() <-chan struct{} { return g.done }

// Devices returns a device config for every simulated device, in scenario
// order: the pseudo-terminal path (empty while unplugged) or the registered
// I²C bus name, with driver, baud, mode and offset set as the daemon needs
// them.
func (g *Gate) Devices() []drivers.Device {
	out := make([]drivers.Device, 0, len(g.devs))
	for _, d := range g.devs {
		s := d.spec
		dev := drivers.Device{Name: s.Name, Driver: s.Protocol}
		switch s.Protocol {
		case ProtocolGYMCU:
			dev.Baud, dev.RateHz, dev.Query = s.baud(), s.rateHz(), s.Query
			dev.Mode, dev.OffsetC = "skin", s.skinOffset()
		case ProtocolMLX90614:
			dev.Bus, dev.Address, dev.RateHz = d.busName, s.mlxAddress(), s.rateHz()
			dev.Mode, dev.OffsetC = "skin", s.skinOffset()
		case ProtocolMLX90640, ProtocolAMG8833:
			dev.Bus, dev.Address, dev.RateHz = d.busName, d.array.addr, s.rateHz()
			dev.Mode, dev.OffsetC = "skin", s.skinOffset()
		case ProtocolLine:
			dev.Baud, dev.Mode = s.baud(), "body"
			dev.Line = &drivers.LineOpts{
				Pattern: orDefault(s.LinePattern, DefaultLinePattern),
				Unit:    orDefault(s.LineUnit, "C"),
				LineEnd: orDefault(s.LineEnd, "\r\n"),
			}
		case ProtocolBadge:
			dev.Baud = s.baud()
		}
		if d.serial != nil {
			dev.Port, _ = d.serial.path()
		}
		out = append(out, dev)
	}
	return out
}

func (g *Gate) device(name string) (*simDevice, error) {
	for _, d := range g.devs {
		if d.spec.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("sim: no device %q", name)
}

// Path returns the current pseudo-terminal path of a serial device; it
// changes on every replug. It fails while the device is unplugged.
func (g *Gate) Path(name string) (string, error) {
	d, err := g.device(name)
	if err != nil {
		return "", err
	}
	if d.serial == nil {
		return "", fmt.Errorf("sim: %s is an I²C device (bus %s)", name, d.busName)
	}
	p, ok := d.serial.path()
	if !ok {
		return "", fmt.Errorf("sim: %s is unplugged", name)
	}
	return p, nil
}

// Bus returns the simulated I²C bus of an MLX90614 device.
func (g *Gate) Bus(name string) (*MLXBus, error) {
	d, err := g.device(name)
	if err != nil {
		return nil, err
	}
	if d.bus == nil {
		return nil, fmt.Errorf("sim: %s is a serial device", name)
	}
	return d.bus, nil
}

// Unplug disconnects a device: a serial device's pseudo-terminal is closed,
// so the host's reads and writes fail; an I²C sensor stops acknowledging.
// People arriving meanwhile are not presented. Unplugging twice is a no-op.
func (g *Gate) Unplug(name string) error { return g.setPlugged(name, false) }

// Replug reconnects a device; a serial device gets a new pseudo-terminal
// path (see Path). Replugging a plugged device is a no-op.
func (g *Gate) Replug(name string) error { return g.setPlugged(name, true) }

// setPlugged plugs a device in or pulls it out.
func (g *Gate) setPlugged(name string, in bool) error {
	d, err := g.device(name)
	if err != nil {
		return err
	}
	if b := d.i2cBus(); b != nil {
		b.setUnplugged(!in)
		msg := "unplugged"
		if in {
			msg = "plugged in"
		}
		g.log.Info().Str("sim_device", name).Msg(msg)
		return nil
	}
	if in {
		return d.serial.plug()
	}
	return d.serial.unplug()
}

// Close stops the scenario, closes every pseudo-terminal and unregisters
// the I²C buses.
func (g *Gate) Close() error {
	g.closeOnce.Do(func() {
		g.cancel()
		var errs []error
		for _, d := range g.devs {
			if d.serial != nil {
				errs = append(errs, d.serial.close())
			}
		}
		g.wg.Wait()
		for _, d := range g.devs {
			if d.i2cBus() != nil {
				if err := i2creg.Unregister(d.busName); err != nil {
					errs = append(errs, fmt.Errorf("sim: %s: %w", d.spec.Name, err))
				}
			}
		}
		g.closeErr = errors.Join(errs...)
	})
	return g.closeErr
}

// record queues p on Sent without ever waiting.
func (g *Gate) record(p Person) {
	select {
	case g.sent <- p:
	default:
		g.log.Debug().Str("sim_device", p.Device).Int("seq", p.Seq).Msg("sent log full; person not queued")
	}
}

// presentPeople walks the device's people up to it at their arrival times.
func (g *Gate) presentPeople(ctx context.Context, d *simDevice) {
	c := newCrowd(g.sc, d.spec)
	badge := g.badgeOn(d.spec.Lane)
	var line *LineFormat
	if d.spec.Protocol == ProtocolLine {
		line, _ = d.spec.lineFormat() // checked by Validate
	}
	for {
		p, ok := c.next()
		if !ok {
			return
		}
		arrival := g.start.Add(p.Offset)
		if !sleepUntil(ctx, arrival) {
			return
		}
		if !d.connected() {
			g.log.Debug().Str("sim_device", p.Device).Int("seq", p.Seq).Msg("unplugged; person not presented")
			continue
		}
		// The card is swiped on arrival, before the measurement.
		if p.Card != "" && (badge == nil || !badge.serial.write(badgeLine(badge.spec, p.Card))) {
			p.Card = ""
		}
		if d.scene != nil {
			d.scene.present(p, arrival)
		}
		if d.array != nil {
			d.array.present(p, arrival)
		}
		if !sleepUntil(ctx, arrival.Add(approachTime)) {
			return
		}
		p.At = time.Now()
		if line != nil {
			b, err := line.Line(p.ReportedC, p.AmbientC, p.Seq)
			if err != nil || !d.serial.write(b) {
				continue
			}
		}
		g.record(p)
	}
}

func (g *Gate) badgeOn(lane string) *simDevice {
	i := slices.IndexFunc(g.devs, func(d *simDevice) bool { return d.spec.Protocol == ProtocolBadge && d.spec.Lane == lane })
	if i < 0 {
		return nil
	}
	return g.devs[i]
}

func badgeLine(spec *DeviceSpec, uid string) []byte {
	return []byte(uid + orDefault(spec.LineEnd, "\r\n"))
}

// streamGYMCU sends frames at the device's rate in continuous mode and one
// frame per query command in query mode.
func (g *Gate) streamGYMCU(ctx context.Context, d *simDevice) {
	t := time.NewTicker(time.Duration(float64(time.Second) / d.spec.rateHz()))
	defer t.Stop()
	continuous := !d.spec.Query
	frame := func() []byte {
		f := EncodeGYMCU(d.scene.sample(time.Now()))
		return f[:]
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if continuous {
				d.serial.write(frame())
			}
		case cmd := <-d.cmds:
			switch cmd {
			case cmdQuery:
				continuous = false
				d.serial.write(frame())
			case cmdContinuous:
				continuous = true
			}
		}
	}
}

// readCommands reads the host's 3-byte commands from a GY-MCU90614's master
// until it is closed, resynchronising on the A5 header and checksum.
func (g *Gate) readCommands(master *os.File, cmds chan<- [3]byte, log zerolog.Logger) {
	g.goRun(func() {
		var win [3]byte
		n := 0
		buf := make([]byte, 64)
		for {
			k, err := master.Read(buf)
			if err != nil {
				return // the pair was closed: unplugged or the gate closed
			}
			for _, b := range buf[:k] {
				if n < 3 {
					win[n] = b
					n++
				} else {
					win = [3]byte{win[1], win[2], b}
				}
				if n == 3 && win[0] == 0xa5 && win[0]+win[1] == win[2] {
					select {
					case cmds <- win:
					default:
						log.Debug().Hex("cmd", win[:]).Msg("command dropped")
					}
					n = 0
				}
			}
		}
	})
}

// injectGarbage writes bursts of random bytes (serial) or corrupts the PEC
// of reads (I²C) at the scenario's interval.
func (g *Gate) injectGarbage(ctx context.Context, d *simDevice) {
	rng := deviceRand(g.sc.Seed, d.spec.Name, "garbage")
	gb := d.spec.Garbage
	burst := make([]byte, gb.Bytes)
	for next := g.start.Add(gb.Every); sleepUntil(ctx, next); next = next.Add(gb.Every) {
		if d.bus != nil {
			d.bus.CorruptPEC(gb.Bytes)
			continue
		}
		for i := range burst {
			burst[i] = byte(rng.Uint32())
		}
		d.serial.write(burst)
	}
}

func (g *Gate) unplugOnSchedule(ctx context.Context, d *simDevice) {
	plan := slices.Clone(d.spec.Unplug)
	slices.SortFunc(plan, func(a, b Unplug) int { return int(a.At - b.At) })
	for _, u := range plan {
		if !sleepUntil(ctx, g.start.Add(u.At)) {
			return
		}
		if err := g.Unplug(d.spec.Name); err != nil {
			g.log.Warn().Err(err).Msg("scheduled unplug")
		}
		if !sleepUntil(ctx, g.start.Add(u.At+u.For)) {
			return
		}
		if err := g.Replug(d.spec.Name); err != nil {
			g.log.Warn().Err(err).Msg("scheduled replug")
		}
	}
}

// sleepUntil waits for t and reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// scene is what a continuous sensor sees: the background, or the person in
// front of it with approach and leave ramps.
type scene struct {
	mu      sync.Mutex
	ambient float64
	noise   *rand.Rand
	person  Person
	arrival time.Time // zero before the first person
}

// idleAboveAmbientC is how much warmer than the air the background (wall,
// floor) reads.
const idleAboveAmbientC = 0.3

func (s *scene) present(p Person, arrival time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.person, s.arrival = p, arrival
}

// sample returns the object and ambient temperature the sensor reads now.
func (s *scene) sample(now time.Time) (objectC, ambientC float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idle := s.ambient + idleAboveAmbientC
	objectC = idle + s.jitter(0.05)
	ambientC = s.ambient + s.jitter(0.05)
	if s.arrival.IsZero() {
		return objectC, ambientC
	}
	skin := s.person.SkinC + s.jitter(0.03)
	since := now.Sub(s.arrival)
	plateauEnd := approachTime + s.person.Dwell
	switch {
	case since < 0 || since >= plateauEnd+leaveTime:
	case since < approachTime:
		objectC = lerp(idle, skin, float64(since)/float64(approachTime))
	case since < plateauEnd:
		objectC = skin
	default:
		objectC = lerp(skin, idle, float64(since-plateauEnd)/float64(leaveTime))
	}
	return objectC, ambientC
}

// jitter is uniform noise in ±a.
func (s *scene) jitter(a float64) float64 { return a * (2*s.noise.Float64() - 1) }

func lerp(a, b, f float64) float64 { return a + (b-a)*f }
