package clock

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// Anchor ties the monotonic clock of one boot to the synchronised wall clock.
type Anchor struct {
	BootID string `json:"boot_id"`
	// Mono and Wall are nanoseconds (CLOCK_MONOTONIC and Unix time) read
	// together when the clock was first seen synchronised in this boot.
	Mono int64 `json:"mono"`
	Wall int64 `json:"wall"`
}

// Opts configures a Clock. The zero value reads the real system.
type Opts struct {
	// Now returns the wall clock; default time.Now.
	Now func() time.Time
	// Mono returns monotonic nanoseconds of this boot; default
	// CLOCK_MONOTONIC.
	Mono func() int64
	// SyncedFunc says whether the wall clock is synchronised; default
	// KernelSynced (adjtimex) or the systemd-timesyncd flag file.
	SyncedFunc func() bool
	// BootIDPath is read once by New; default
	// /proc/sys/kernel/random/boot_id.
	BootIDPath string
	// Poll is how often Run checks the sync state; default 5s.
	Poll time.Duration
	// Anchors are anchors saved earlier (any boot); the one of the current
	// boot, if any, is used at once.
	Anchors []Anchor
	// SaveAnchor persists the anchor of this boot when it is recorded;
	// optional. An error is logged and the anchor is kept in memory.
	SaveAnchor func(Anchor) error
	Logger     zerolog.Logger
}

// DefaultBootIDPath is where Linux publishes the random id of this boot.
const DefaultBootIDPath = "/proc/sys/kernel/random/boot_id"

// TimesyncFlagPath exists once systemd-timesyncd has synchronised the clock.
const TimesyncFlagPath = "/run/systemd/timesync/synchronized"

// Clock stamps events and corrects their wall time once NTP has synced.
type Clock struct {
	now    func() time.Time
	mono   func() int64
	synced func() bool
	poll   time.Duration
	save   func(Anchor) error
	log    zerolog.Logger
	bootID string

	isSynced atomic.Bool
	mu       sync.RWMutex
	anchors  map[string]Anchor // by boot id
}

// New returns a Clock. It reads the boot id once; an unreadable boot id is
// logged and replaced by "unknown" (correction is then limited to events
// stamped by this process, which share that id).
func New(o Opts) *Clock {
	c := &Clock{
		now:     o.Now,
		mono:    o.Mono,
		synced:  o.SyncedFunc,
		poll:    o.Poll,
		save:    o.SaveAnchor,
		log:     o.Logger,
		anchors: make(map[string]Anchor, len(o.Anchors)+1),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.mono == nil {
		c.mono = MonotonicNow
	}
	if c.synced == nil {
		c.synced = SystemSynced
	}
	if c.poll <= 0 {
		c.poll = 5 * time.Second
	}
	path := o.BootIDPath
	if path == "" {
		path = DefaultBootIDPath
	}
	id, err := ReadBootID(path)
	if err != nil {
		c.log.Warn().Err(err).Msg("boot id unknown")
		id = "unknown"
	}
	c.bootID = id
	for _, a := range o.Anchors {
		c.anchors[a.BootID] = a
	}
	c.check()
	return c
}

// ReadBootID returns the boot id stored in the file at path.
func ReadBootID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("clock: read boot id %s: %w", path, err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("clock: boot id %s: empty", path)
	}
	return id, nil
}

// MonotonicNow returns CLOCK_MONOTONIC in nanoseconds: it never jumps with
// the wall clock and is comparable only within one boot.
func MonotonicNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		// CLOCK_MONOTONIC is always present on Linux; failing is a kernel bug.
		panic(fmt.Sprintf("clock: clock_gettime(CLOCK_MONOTONIC): %v", err))
	}
	return ts.Nano()
}

// maxSyncedError is the largest kernel maxerror still called synchronised;
// the kernel lets it grow by 500 ppm when NTP stops disciplining the clock
// and sets 16 s when it gives up.
const maxSyncedError = 5 * time.Second

// KernelSynced reports the kernel NTP state (adjtimex): synchronised when
// STA_UNSYNC is clear and the estimated maximum error is small. chrony,
// ntpd and systemd-timesyncd all keep it.
func KernelSynced() (bool, error) {
	var tx unix.Timex // Modes 0: read only
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, fmt.Errorf("clock: adjtimex: %w", err)
	}
	if state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0 {
		return false, nil
	}
	return time.Duration(tx.Maxerror)*time.Microsecond <= maxSyncedError, nil
}

// SystemSynced reports whether the kernel or systemd-timesyncd says the wall
// clock is synchronised.
func SystemSynced() bool {
	if ok, err := KernelSynced(); err == nil && ok {
		return true
	}
	_, err := os.Stat(TimesyncFlagPath)
	return err == nil
}

// BootID is the id of the current boot.
func (c *Clock) BootID() string { return c.bootID }

// Synced reports the sync state seen at the last poll.
func (c *Clock) Synced() bool { return c.isSynced.Load() }

// Now reads the wall clock that Stamp reads (Opts.Now), uncorrected: what
// names the local day and the time of day of the events being stamped.
func (c *Clock) Now() time.Time { return c.now() }

// Stamp reads the monotonic and the wall clock, both in nanoseconds.
func (c *Clock) Stamp() (mono, wall int64) {
	return c.mono(), c.now().UnixNano()
}

// Anchor returns the anchor of the current boot, if the clock has been
// synchronised in this boot.
func (c *Clock) Anchor() (Anchor, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.anchors[c.bootID]
	return a, ok
}

// Run polls the sync state until ctx is done.
func (c *Clock) Run(ctx context.Context) {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.check()
		}
	}
}

// check reads the sync state and records this boot's anchor on its first
// sync.
func (c *Clock) check() {
	synced := c.synced()
	was := c.isSynced.Swap(synced)
	if synced != was {
		c.log.Info().Bool("synced", synced).Msg("wall clock sync state changed")
	}
	if !synced {
		return
	}
	if _, ok := c.Anchor(); ok {
		return
	}
	mono, wall := c.Stamp()
	a := Anchor{BootID: c.bootID, Mono: mono, Wall: wall}
	c.mu.Lock()
	c.anchors[c.bootID] = a
	c.mu.Unlock()
	c.log.Info().Str("boot_id", a.BootID).Time("wall", time.Unix(0, wall)).Msg("clock anchor recorded")
	if c.save != nil {
		if err := c.save(a); err != nil {
			c.log.Error().Err(err).Msg("saving clock anchor")
		}
	}
}

// Correct returns the wall time of an event and whether it can be trusted.
// Events stamped as synced are returned unchanged. An unsynced event of a
// boot whose anchor is known gets wall = wall_at_sync − (mono_at_sync − mono);
// others stay unsynced with their original wall time.
func (c *Clock) Correct(bootID string, mono, wall int64, synced bool) (wall2 int64, synced2 bool) {
	if synced {
		return wall, true
	}
	c.mu.RLock()
	a, ok := c.anchors[bootID]
	c.mu.RUnlock()
	if !ok || bootID == "" {
		return wall, false
	}
	return a.Wall - (a.Mono - mono), true
}
