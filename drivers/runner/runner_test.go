package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/gymcu90614"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"

	// Registered for the tests that run them by name.
	_ "github.com/gatescreen/gatescreen/drivers/badge"
	_ "github.com/gatescreen/gatescreen/drivers/lineproto"
	_ "github.com/gatescreen/gatescreen/drivers/modbusir"
	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
	"github.com/gatescreen/gatescreen/event"
)

const generous = 10 * time.Second

// datasheetFrame is the GY-MCU90614 manual's example: 31.92 °C / 33.53 °C.
var datasheetFrame = []byte{0x5A, 0x5A, 0x45, 0x04, 0x0C, 0x78, 0x0D, 0x19, 0xA7}

// bench is a device on a swappable pseudo-terminal under a running Run.
type bench struct {
	t        *testing.T
	mu       sync.Mutex
	pair     *ptyport.Pair // nil while the device is unplugged
	opens    atomic.Int32
	readings chan drivers.Reading
	health   chan event.Health
	// states records every reported state in order.
	states []string
	done   chan error
	cancel context.CancelFunc
}

func newBench(t *testing.T, driver string, dev drivers.Device, tune func(*Opts)) *bench {
	t.Helper()
	drv, ok := drivers.Lookup(driver)
	if !ok {
		t.Fatalf("driver %s not registered", driver)
	}
	b := &bench{t: t, readings: make(chan drivers.Reading, 4096), health: make(chan event.Health, 64), done: make(chan error, 1)}
	b.plug()
	var stamps atomic.Int64
	o := Opts{
		Device: dev,
		Driver: drv,
		Index:  3,
		Open: func(ctx context.Context) (drivers.Conn, io.Closer, error) {
			b.opens.Add(1)
			b.mu.Lock()
			p := b.pair
			b.mu.Unlock()
			if p == nil {
				return drivers.Conn{}, nil, errors.New("no such device")
			}
			return SerialOpener(drivers.Device{Port: p.Path}, drv)(ctx)
		},
		Emit: func(r drivers.Reading) { b.readings <- r },
		Stamp: func() (int64, int64) {
			n := stamps.Add(1)
			return n, 1_000_000 + n
		},
		OnHealth: func(h event.Health) {
			b.mu.Lock()
			b.states = append(b.states, h.State)
			b.mu.Unlock()
			b.health <- h
		},
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
		Logger:     zerolog.Nop(),
	}
	if tune != nil {
		tune(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go func() { b.done <- Run(ctx, o) }()
	t.Cleanup(func() {
		b.stop()
		b.unplug()
	})
	return b
}

func (b *bench) plug() *ptyport.Pair {
	p, err := ptyport.Open()
	if err != nil {
		b.t.Fatal(err)
	}
	b.mu.Lock()
	b.pair = p
	b.mu.Unlock()
	return p
}

func (b *bench) unplug() {
	b.mu.Lock()
	p := b.pair
	b.pair = nil
	b.mu.Unlock()
	if p != nil {
		p.Close()
	}
}

func (b *bench) master() *os.File {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pair.Master
}

func (b *bench) write(p []byte) {
	b.t.Helper()
	if _, err := b.master().Write(p); err != nil {
		b.t.Fatal(err)
	}
}

// expectCommand reads one command the driver wrote to the device.
func (b *bench) expectCommand(want []byte) {
	b.t.Helper()
	m := b.master()
	got := make([]byte, len(want))
	m.SetReadDeadline(time.Now().Add(generous))
	if _, err := io.ReadFull(m, got); err != nil || !bytes.Equal(got, want) {
		b.t.Fatalf("command % X (%v), want % X", got, err, want)
	}
}

func (b *bench) waitHealth(state string) event.Health {
	b.t.Helper()
	deadline := time.After(generous)
	for {
		select {
		case h := <-b.health:
			if h.Component != "device" || h.Device == "" {
				b.t.Fatalf("health event %+v lacks component or device", h)
			}
			if h.State == state {
				return h
			}
		case <-deadline:
			b.t.Fatalf("health never became %s (states so far %v)", state, b.statesSoFar())
		}
	}
}

// waitOpens waits until Open was called n times.
func (b *bench) waitOpens(n int32) {
	b.t.Helper()
	deadline := time.Now().Add(generous)
	for b.opens.Load() < n {
		if time.Now().After(deadline) {
			b.t.Fatalf("Open called %d times, want %d", b.opens.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (b *bench) statesSoFar() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.states...)
}

func (b *bench) next() drivers.Reading {
	b.t.Helper()
	select {
	case r := <-b.readings:
		return r
	case <-time.After(generous):
		b.t.Fatal("no reading")
	}
	return drivers.Reading{}
}

// stop cancels Run and checks it returns nil promptly.
func (b *bench) stop() {
	b.t.Helper()
	b.cancel()
	select {
	case err := <-b.done:
		if err != nil {
			b.t.Fatalf("Run returned %v after cancel", err)
		}
		b.done <- nil // keep stop idempotent for Cleanup
	case <-time.After(generous):
		b.t.Fatal("Run did not return after cancel")
	}
}

// noRepeats checks each reported state differs from the one before.
func (b *bench) noRepeats() {
	b.t.Helper()
	s := b.statesSoFar()
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			b.t.Fatalf("state %s reported twice in a row: %v", s[i], s)
		}
	}
}

func TestReopensAfterDeviceVanishes(t *testing.T) {
	b := newBench(t, "gymcu90614", drivers.Device{Name: "lane1"}, nil)
	if h := b.waitHealth(event.HealthUp); h.Count != 0 || h.Device != "lane1" {
		t.Fatalf("first up event %+v", h)
	}
	b.expectCommand(gymcu90614.CmdContinuous)
	b.write(datasheetFrame)
	r := b.next()
	if r.ObjectC != 31.92 || r.Device != 3 || r.Mono == 0 || r.Wall != 1_000_000+r.Mono {
		t.Fatalf("reading %+v not stamped or wrong", r)
	}

	b.unplug() // the USB adapter is pulled
	h := b.waitHealth(event.HealthDown)
	if !strings.Contains(h.Reason, "run") || h.Count != 1 {
		t.Fatalf("down event %+v, want the read failure and count 1", h)
	}
	// While unplugged, reopening fails and is retried, with no new events.
	b.waitOpens(b.opens.Load() + 3)

	b.plug()
	if h := b.waitHealth(event.HealthUp); h.Count < 3 {
		t.Fatalf("up event %+v, want the failed reopen attempts (≥ 3) counted", h)
	}
	b.expectCommand(gymcu90614.CmdContinuous)
	b.write(datasheetFrame)
	if r := b.next(); r.ObjectC != 31.92 || r.Flags != 0 {
		t.Fatalf("after reopen got %+v", r)
	}
	b.stop()
	b.noRepeats()
}

func TestSilentDeviceIsDegraded(t *testing.T) {
	b := newBench(t, "gymcu90614", drivers.Device{Name: "lane2"}, func(o *Opts) { o.SilentAfter = 100 * time.Millisecond })
	b.waitHealth(event.HealthUp)
	b.expectCommand(gymcu90614.CmdContinuous)
	h := b.waitHealth(event.HealthDegraded)
	if !strings.Contains(h.Reason, "silent") {
		t.Fatalf("degraded for %q, want silent", h.Reason)
	}
	b.write(datasheetFrame)
	b.next()
	b.waitHealth(event.HealthUp)
	b.stop()
	b.noRepeats()
}

func TestMostlyInvalidIsDegraded(t *testing.T) {
	b := newBench(t, "lineproto", drivers.Device{Name: "gate1", Line: &drivers.LineOpts{MaxLine: 16}},
		func(o *Opts) { o.Window = 100 * time.Millisecond })
	b.waitHealth(event.HealthUp)
	// Malformed and over-long lines, a few valid ones: the window is bad.
	junk := strings.Repeat("ERR 07\n", 6) + strings.Repeat(strings.Repeat("9", 40)+"\n", 6) + "T=36.5\n"
	b.write([]byte(junk))
	h := b.waitHealth(event.HealthDegraded)
	if h.Count < 6 || !strings.Contains(h.Reason, "invalid") {
		t.Fatalf("degraded event %+v, want invalid count ≥ 6", h)
	}
	// Drain and then send clean data until the device is up again.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-b.readings:
			}
		}
	}()
	good := make(chan struct{})
	go func() {
		defer close(good)
		for range 200 {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := b.master().Write([]byte("T=36.5 A=24.1\nT=36.6 A=24.1\n")); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	b.waitHealth(event.HealthUp)
	close(stop)
	<-good
	b.stop()
	b.noRepeats()
}

func TestOpenFailuresReportDownOnce(t *testing.T) {
	b := newBench(t, "badge", drivers.Device{Name: "card"}, nil)
	b.waitHealth(event.HealthUp)
	b.unplug()
	b.waitHealth(event.HealthDown)
	b.waitOpens(8)
	b.stop()
	if s := b.statesSoFar(); len(s) != 2 {
		t.Fatalf("states %v, want only up and down", s)
	}
}

func TestRunRejectsMissingOptions(t *testing.T) {
	drv, _ := drivers.Lookup("badge")
	open := func(context.Context) (drivers.Conn, io.Closer, error) { return drivers.Conn{}, nil, errors.New("x") }
	for name, o := range map[string]Opts{
		"open":   {Driver: drv, Emit: func(drivers.Reading) {}},
		"emit":   {Driver: drv, Open: open},
		"driver": {Open: open, Emit: func(drivers.Reading) {}},
	} {
		if err := Run(context.Background(), o); err == nil {
			t.Errorf("missing %s: Run returned nil", name)
		}
	}
}

func TestOpenSerialRejectsBadInput(t *testing.T) {
	if _, _, err := OpenSerial("/dev/does-not-exist", 9600); err == nil || !strings.Contains(err.Error(), "/dev/does-not-exist") {
		t.Fatalf("got %v, want an error naming the path", err)
	}
	if _, _, err := OpenSerial("/dev/null", 0); err == nil {
		t.Fatal("baud 0 accepted")
	}
}

func TestRepeatedErrorLoggedOnce(t *testing.T) {
	var logs syncbuf.Buffer
	b := newBench(t, "badge", drivers.Device{Name: "card"}, func(o *Opts) {
		o.Logger = zerolog.New(&logs)
		o.Open = func(context.Context) (drivers.Conn, io.Closer, error) {
			return drivers.Conn{}, nil, errors.New("no such device")
		}
	})
	b.waitHealth(event.HealthDown)
	time.Sleep(100 * time.Millisecond) // several 5–50 ms retries
	b.stop()
	if n := strings.Count(logs.String(), "device failed"); n != 1 {
		t.Fatalf("logged %d times, want once within the rate-limit period:\n%s", n, logs.String())
	}
}

// A nil closer (a bus the daemon shares between devices) is not closed, and
// the device works.
func TestNilCloserIsAccepted(t *testing.T) {
	b := newBench(t, "gymcu90614", drivers.Device{Name: "lane3"}, func(o *Opts) {
		open := o.Open
		o.Open = func(ctx context.Context) (drivers.Conn, io.Closer, error) {
			c, closer, err := open(ctx)
			if err == nil {
				t.Cleanup(func() { closer.Close() })
			}
			return c, nil, err
		}
	})
	b.waitHealth(event.HealthUp)
	b.expectCommand(gymcu90614.CmdContinuous)
	b.write(datasheetFrame)
	if r := b.next(); r.ObjectC != 31.92 {
		t.Fatalf("got %+v", r)
	}
}

// A polled transmitter that never answers is down, however often its port
// reopens: during 8 s of silence a dead Modbus transmitter went down → up
// ("opened") → down → up, and the screen showed it up half the time. Up
// means a valid answer came back.
func TestDeadPolledDeviceNeverUp(t *testing.T) {
	b := newBench(t, "modbusir", drivers.Device{Name: "rs485-ir", RateHz: 20,
		Modbus: &drivers.ModbusOpts{SlaveID: 1, Register: 0}}, func(o *Opts) { o.UpOnFrame = true })
	b.waitHealth(event.HealthDown) // five polls of 500 ms without a reply
	b.waitOpens(2)                 // and a reopen that proves nothing
	time.Sleep(600 * time.Millisecond)
	b.stop()
	if s := b.statesSoFar(); len(s) != 1 || s[0] != event.HealthDown {
		t.Fatalf("states %v, want only down", s)
	}
}

// A streaming module is up with its first valid frame, not with its port.
func TestStreamUpOnFirstValidFrame(t *testing.T) {
	b := newBench(t, "gymcu90614", drivers.Device{Name: "lane4"}, func(o *Opts) { o.UpOnFrame = true })
	b.expectCommand(gymcu90614.CmdContinuous)
	time.Sleep(50 * time.Millisecond)
	if s := b.statesSoFar(); len(s) != 0 {
		t.Fatalf("states %v before any frame, want none", s)
	}
	bad := append([]byte(nil), datasheetFrame...)
	bad[8]++ // a checksum failure is not an answer
	b.write(bad)
	b.next()
	time.Sleep(50 * time.Millisecond)
	if s := b.statesSoFar(); len(s) != 0 {
		t.Fatalf("states %v after an invalid frame, want none", s)
	}
	b.write(datasheetFrame)
	b.next()
	if h := b.waitHealth(event.HealthUp); h.Reason != "answering" {
		t.Fatalf("up event %+v, want reason answering", h)
	}
	b.unplug()
	b.waitHealth(event.HealthDown)
	b.plug()
	b.waitOpens(b.opens.Load() + 1)
	b.expectCommand(gymcu90614.CmdContinuous)
	b.write(datasheetFrame)
	b.next()
	b.waitHealth(event.HealthUp)
	b.stop()
	b.noRepeats()
}

// A frame that comes before the monitor's goroutine starts (which a slow
// machine makes likely: under armv6 emulation the device came back up only
// at the first 10 s window) still turns the device up at once.
func TestUpWhenTheFirstFrameBeatsTheMonitor(t *testing.T) {
	health := make(chan event.Health, 4)
	m := &monitor{s: &supervisor{o: Opts{
		Device:   drivers.Device{Name: "lane4"},
		Emit:     func(drivers.Reading) {},
		Stamp:    systemStamp(),
		OnHealth: func(h event.Health) { health <- h },
		Window:   time.Hour,
	}, log: zerolog.Nop()}, answer: make(chan struct{})}
	m.emit(drivers.Reading{ObjectC: 31.92})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	select {
	case h := <-health:
		if h.State != event.HealthUp || h.Reason != "answering" {
			t.Fatalf("health %+v, want up, answering", h)
		}
	case <-time.After(generous):
		t.Fatal("no health event: the device stays down until the first window")
	}
}

// Input a driver dropped never reaches the pipeline, so the runner keeps the
// count for /metrics, and keeps it when the device is unplugged and comes
// back: each session's Source starts again from 0.
func TestLostFramesSurviveReopening(t *testing.T) {
	var lost LostFrames
	b := newBench(t, "lineproto", drivers.Device{Name: "gate1", Line: &drivers.LineOpts{MaxLine: 16}},
		func(o *Opts) { o.Lost = &lost })
	b.waitHealth(event.HealthUp)
	over := strings.Repeat("9", 40) + "\nT=36.5\n"
	b.write([]byte(over))
	if r := b.next(); r.ObjectC != 36.5 {
		t.Fatalf("reading after the over-long line %+v", r)
	}
	if c := lost.Counts(); c.Dropped != 1 || c.Timeouts != 0 {
		t.Fatalf("counts in the first session %+v, want 1 dropped", c)
	}
	b.unplug()
	b.waitHealth(event.HealthDown)
	b.plug()
	b.waitHealth(event.HealthUp)
	b.write([]byte(over))
	b.next()
	if c := lost.Counts(); c.Dropped != 2 {
		t.Fatalf("counts after the reopen %+v, want both sessions' 2 dropped", c)
	}
	b.stop()
}
