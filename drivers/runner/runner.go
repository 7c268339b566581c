package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
)

// Defaults for the zero values of Opts.
const (
	DefaultMinBackoff    = 200 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultDegradedRatio = 0.5
	DefaultWindow        = 10 * time.Second
)

// minWindowFrames is how many frames a window needs before its invalid share
// counts: one garbled line of a quiet one-shot gate is not a sick device.
const minWindowFrames = 4

// logEvery is the period of the rate limit on repeated identical errors.
const logEvery = 10 * time.Second

// Opts configures Run. Zero values mean the documented defaults.
type Opts struct {
	// Device is the device's configuration; Driver its registered driver.
	Device drivers.Device
	Driver drivers.Driver
	// Index is stamped into Reading.Device.
	Index uint16
	// Open opens the device's port or bus; the daemon supplies it
	// (SerialOpener for serial devices). The closer may be nil when there is
	// nothing to close, as for an I²C bus shared by several devices that the
	// daemon owns. Required.
	Open func(ctx context.Context) (drivers.Conn, io.Closer, error)
	// Emit is the pipeline's producer for this device. Required.
	Emit drivers.Emit
	// Stamp returns the capture time stamped on every reading as it is
	// emitted. Default: CLOCK_MONOTONIC and time.Now.
	Stamp func() (mono, wall int64)
	// OnHealth is called on each change of the device's state (up,
	// degraded, down), never per frame. Count is, for down, how many times
	// the device went down since Run started; for up after a failure, how
	// many reopen attempts failed; for degraded, the invalid frames of the
	// window. Optional.
	OnHealth func(event.Health)
	// MinBackoff and MaxBackoff bound the capped exponential, jittered
	// delay between reopen attempts. Defaults 200 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// The device is degraded while at least DegradedRatio of the frames
	// in a Window are invalid (counted over tumbling windows of at least
	// four frames). Defaults 0.5 and 10 s.
	DegradedRatio float64
	Window        time.Duration
	// SilentAfter marks the device degraded ("silent") when no frame at all
	// arrived for this long while the port was open. 0 turns it off, as for
	// one-shot devices that only talk when someone walks through.
	SilentAfter time.Duration
	// UpOnFrame is for devices that send frames with nobody in front of
	// them (a stream, or answers to polls): such a device is up only once a
	// valid frame came back, as opening its port proves nothing about the
	// device behind it. False: up when the port opens and the driver starts,
	// for devices that only speak when someone walks through.
	UpOnFrame bool
	// Lost, when set, counts the frames the device lost before they became
	// readings (dropped input, unanswered polls), across its sessions.
	Lost   *LostFrames
	Logger zerolog.Logger
}

// dropCounter is implemented by sources that discard input without emitting
// a reading for it (over-long or unreadable lines); the runner counts those
// as invalid frames.
type dropCounter interface {
	Dropped() uint64
}

// Run supervises the device until ctx is done: open, run the Source, close,
// back off, again. It returns nil when ctx is done and an error only when the
// options are unusable.
func Run(ctx context.Context, o Opts) error {
	switch {
	case o.Open == nil:
		return fmt.Errorf("runner: device %s: Opts.Open is nil", o.Device.Name)
	case o.Emit == nil:
		return fmt.Errorf("runner: device %s: Opts.Emit is nil", o.Device.Name)
	case o.Driver.New == nil:
		return fmt.Errorf("runner: device %s: driver %q has no New", o.Device.Name, o.Driver.Name)
	}
	if o.Stamp == nil {
		o.Stamp = systemStamp()
	}
	if o.OnHealth == nil {
		o.OnHealth = func(event.Health) {}
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.DegradedRatio <= 0 {
		o.DegradedRatio = DefaultDegradedRatio
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	s := &supervisor{
		o:       o,
		log:     o.Logger.With().Str("device", o.Device.Name).Str("driver", o.Driver.Name).Logger(),
		limiter: logLimiter{every: logEvery, now: time.Now},
	}
	return s.loop(ctx)
}

// systemStamp returns a Stamp giving CLOCK_MONOTONIC and wall time. The
// monotonic clock is read once through a system call and then advanced with
// time.Now's monotonic reading, which is far cheaper per reading.
func systemStamp() func() (mono, wall int64) {
	var ts unix.Timespec
	// CLOCK_MONOTONIC cannot fail on Linux with a valid pointer.
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	base, baseMono := time.Now(), ts.Nano()
	return func() (mono, wall int64) {
		now := time.Now()
		return baseMono + int64(now.Sub(base)), now.UnixNano()
	}
}

// supervisor is the state of one Run. Its health fields are touched by the
// loop goroutine and, while a source runs, only by that session's monitor
// goroutine, which the loop starts and waits for.
type supervisor struct {
	o       Opts
	log     zerolog.Logger
	limiter logLimiter
	state   string
	// outages counts the times the device went down, reported with "down";
	// retries counts sessions that failed before the device was up,
	// reported with "up" when it comes back.
	outages, retries uint64
}

func (s *supervisor) loop(ctx context.Context) error {
	attempt := 0
	for {
		stable, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if stable {
			attempt = 0
		}
		switch s.state {
		case event.HealthUp, event.HealthDegraded:
			s.outages++
		default: // the session failed before the device was up
			s.retries++
		}
		s.setHealth(event.HealthDown, err.Error(), s.outages)
		delay := backoff(attempt, s.o.MinBackoff, s.o.MaxBackoff)
		if ok, held := s.limiter.allow(err.Error()); ok {
			s.log.Warn().Err(err).Int("repeats", held).Dur("retry_in", delay).Msg("device failed")
		}
		if !sleep(ctx, delay) {
			return nil
		}
		attempt++
	}
}

// session opens the device once and runs its source until it fails. stable
// says the device worked for a while, so the next reopen starts from the
// shortest backoff again.
func (s *supervisor) session(ctx context.Context) (stable bool, err error) {
	conn, closer, err := s.o.Open(ctx)
	if err != nil {
		return false, fmt.Errorf("open: %w", err)
	}
	if closer != nil {
		defer func() {
			// A port that failed often fails to close too; that adds nothing.
			if cerr := closer.Close(); cerr != nil {
				s.log.Debug().Err(cerr).Msg("close")
			}
		}()
	}
	src, err := s.o.Driver.New(s.o.Device, conn)
	if err != nil {
		return false, fmt.Errorf("start driver: %w", err)
	}
	m := &monitor{s: s, answer: make(chan struct{})}
	if !s.o.UpOnFrame {
		s.setHealth(event.HealthUp, "opened", s.retries)
		s.retries = 0
		m.answered.Store(true)
		close(m.answer)
	}
	if dc, ok := src.(dropCounter); ok {
		m.drops = dc
	}
	if s.o.Lost != nil {
		s.o.Lost.attach(src)
		defer s.o.Lost.detach()
	}
	mctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { m.watch(mctx) })
	started := time.Now()
	err = src.Run(ctx, m.emit)
	stop()
	wg.Wait()

	if ctx.Err() != nil {
		return true, nil
	}
	if err == nil {
		err = errors.New("source stopped")
	}
	return m.total.Load() > 0 || time.Since(started) >= s.o.MaxBackoff, fmt.Errorf("run: %w", err)
}

// setHealth reports a state change; repeating the current state is a no-op.
func (s *supervisor) setHealth(state, reason string, count uint64) {
	if state == s.state {
		return
	}
	s.state = state
	s.log.Info().Str("state", state).Str("reason", reason).Msg("device health changed")
	s.o.OnHealth(event.Health{
		Component: "device",
		Device:    s.o.Device.Name,
		State:     state,
		Reason:    reason,
		Count:     count,
	})
}

// backoff is the delay before reopen attempt n (from 0): min·2ⁿ capped at
// max, with "equal jitter" (uniform in the upper half) so that boxes and
// devices that failed together do not retry in lock step.
func backoff(n int, minD, maxD time.Duration) time.Duration {
	d := maxD
	if n < 32 && minD<<n < maxD && minD<<n > 0 {
		d = minD << n
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
