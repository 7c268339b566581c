package runner

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
)

// silentTicks is how many checks per SilentAfter the monitor makes, so a
// silence is noticed between SilentAfter and 1.25·SilentAfter.
const silentTicks = 4

// monitor stamps and counts the readings of one session and derives the
// degraded state from the counts.
type monitor struct {
	s     *supervisor
	drops dropCounter // nil when the source drops nothing
	// total and invalid are written by the source's goroutine (emit) and
	// read by watch.
	total, invalid atomic.Uint64
	// answered turns true with the session's first valid frame (at once
	// unless Opts.UpOnFrame), and answer is closed when it does.
	answered atomic.Bool
	answer   chan struct{}
}

// emit is the Emit handed to the source. It does not allocate.
func (m *monitor) emit(r drivers.Reading) {
	r.Device = m.s.o.Index
	r.Mono, r.Wall = m.s.o.Stamp()
	m.total.Add(1)
	if r.Flags.Invalid() {
		m.invalid.Add(1)
	} else if !m.answered.Load() && m.answered.CompareAndSwap(false, true) {
		close(m.answer)
	}
	m.s.o.Emit(r)
}

func (m *monitor) watch(ctx context.Context) {
	o := m.s.o
	window := time.NewTicker(o.Window)
	defer window.Stop()
	var silentC <-chan time.Time
	if o.SilentAfter > 0 {
		t := time.NewTicker(max(o.SilentAfter/silentTicks, time.Millisecond))
		defer t.Stop()
		silentC = t.C
	}
	var (
		winTotal, winInvalid, winDrops uint64 // counts at the window's start
		silentTotal                    uint64
		quietTicks                     int
		silent                         bool
		sick                           string // reason of a bad window, "" when fine
		sickCount                      uint64
		dropLog                        = logLimiter{every: logEvery, now: time.Now}
	)
	if m.drops != nil {
		winDrops = m.drops.Dropped()
	}
	// up: a valid frame came back (or the port is enough). A closed answer
	// is read at once, so up is settled even when the first frame came
	// before this goroutine ran.
	answerC, up := m.answer, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-answerC:
			answerC, up = nil, true
		case <-silentC:
			total := m.total.Load()
			if total != silentTotal {
				silentTotal, quietTicks, silent = total, 0, false
			} else if quietTicks++; quietTicks >= silentTicks {
				silent = true
			}
		case <-window.C:
			total, invalid := m.total.Load(), m.invalid.Load()
			frames, bad := total-winTotal, invalid-winInvalid
			if m.drops != nil {
				drops := m.drops.Dropped()
				if d := drops - winDrops; d > 0 {
					frames += d
					bad += d
					if ok, held := dropLog.allow("dropped input"); ok {
						m.s.log.Warn().Uint64("lines", d).Int("repeats", held).Msg("device sent lines that were dropped")
					}
				}
				winDrops = drops
			}
			winTotal, winInvalid = total, invalid
			if frames >= minWindowFrames && float64(bad) >= o.DegradedRatio*float64(frames) {
				sick, sickCount = fmt.Sprintf("invalid %d of %d frames", bad, frames), bad
			} else if frames >= minWindowFrames || bad == 0 {
				sick = ""
			}
		}
		switch {
		case silent && !up:
			m.s.setHealth(event.HealthDown, fmt.Sprintf("no valid frame since the port opened (silent for %s)", o.SilentAfter), m.s.outages)
		case silent:
			m.s.setHealth(event.HealthDegraded, fmt.Sprintf("silent for %s", o.SilentAfter), 0)
		case sick != "":
			m.s.setHealth(event.HealthDegraded, sick, sickCount)
		case !up:
			// Opened, nothing valid back yet: still down, or not yet reported.
		default:
			reason := "frames valid"
			if m.s.state != event.HealthUp && m.s.state != event.HealthDegraded {
				reason = "answering"
			}
			// The failed reopens before the device came back (0 once up).
			m.s.setHealth(event.HealthUp, reason, m.s.retries)
			m.s.retries = 0
		}
	}
}
