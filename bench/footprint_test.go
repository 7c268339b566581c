//go:build bench

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/storage"
)

const (
	footprintLanes = 4
	backlogEvents  = 100_000
	// readingsPerSecond per lane: a busy walk-through gate.
	readingsPerSecond = 4
	footprintRun      = 60 * time.Second
	idleRun           = 30 * time.Second
	startups          = 7
)

// fillStore writes n stored, not yet uploaded readings into a new store at
// dir/events.db, as a week offline leaves them.
func fillStore(t testing.TB, dir string, n int) {
	t.Helper()
	s, err := storage.Open(filepath.Join(dir, "events.db"), storage.Opts{BoxID: "bench-east", QueueLen: 8192})
	if err != nil {
		t.Fatal(err)
	}
	raw, amb, body := 36.4, 24.1, 36.4
	for i := range n {
		ev, err := event.New(event.KindReading, event.Reading{
			Lane: laneName(i % footprintLanes), Role: "student", Device: fmt.Sprintf("gate%d", i%footprintLanes+1),
			RawC: &raw, AmbientC: &amb, BodyC: &body, Verdict: event.VerdictPass, Mode: "body",
			ThresholdC: 37.3, Round: "morning",
		})
		if err != nil {
			t.Fatal(err)
		}
		ev.Wall, ev.Mono, ev.BootID, ev.ClockSynced = time.Now().UnixNano(), int64(i), "bench-boot", true
		for {
			err = s.Append(ev)
			if err != storage.ErrBusy {
				break
			}
			time.Sleep(time.Millisecond) // the writer is committing; let it
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, bulk := s.OutboxLen(); bulk != n {
		t.Fatalf("backlog holds %d events, want %d", bulk, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// feed writes perSecond readings per second into every port until ctx
// ends, counting them in sent. Values vary by 0.1 °C so the stuck
// detector never fires; all of them pass.
func feed(t testing.TB, ctx context.Context, g *gate, perSecond int, sent *atomic.Int64) {
	t.Helper()
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	var buf []byte
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		buf = line(buf, 36.2+0.1*float64(i%5))
		for _, p := range g.ports {
			if _, err := p.Master.Write(buf); err != nil {
				t.Error(err)
				return
			}
			sent.Add(1)
		}
	}
}

// TestFootprint measures peak RSS under load with a backlog, idle CPU and
// start-up time of the real daemon.
func TestFootprint(t *testing.T) {
	broker := startMosquitto(t)
	down := fmt.Sprintf("tcp://127.0.0.1:%d", mosquittotest.FreePort(t))
	// Held: the broker is down, the backlog stays on the box; draining:
	// the broker is up and the backlog is uploaded during the run.
	for _, c := range []struct{ name, broker string }{{"backlog_held", down}, {"backlog_draining", broker}} {
		t.Run("peak_rss_"+c.name, func(t *testing.T) {
			dir := t.TempDir()
			fillStore(t, dir, backlogEvents)
			g := startGate(t, gateOpts{lanes: footprintLanes, broker: c.broker, screen: true, dir: dir}, nil)
			ctx, cancel := context.WithCancel(context.Background())
			clients := sseClients(t, ctx, g.screen, 5)
			var sent atomic.Int64
			fed := make(chan struct{})
			go func() { defer close(fed); feed(t, ctx, g, readingsPerSecond, &sent) }()
			time.Sleep(footprintRun)
			pid := g.pid()
			hwm, rss := procStatus(t, pid, "VmHWM"), procStatus(t, pid, "VmRSS")
			anon, db := procStatus(t, pid, "RssAnon"), mappedRss(t, pid, "events.db")
			cancel()
			<-fed
			clients.Wait()
			g.stop()
			if sent.Load() == 0 {
				t.Fatal("no reading was sent")
			}
			note := fmt.Sprintf("lanes=4 rate=%d/s/lane sse=5 backlog=%d run=%v readings=%d", readingsPerSecond, backlogEvents, footprintRun, sent.Load())
			result(t, "peak_rss_"+c.name, float64(hwm)/1024, "MiB", note+" target<=40MB")
			result(t, "rss_end_"+c.name, float64(rss)/1024, "MiB", note)
			// What the peak is made of: the daemon's own memory (heap,
			// stacks) and the bbolt file's pages mapped read-only, which are
			// page cache the kernel drops under memory pressure.
			result(t, "rss_end_anon_"+c.name, float64(anon)/1024, "MiB", "heap, stacks: the daemon's own memory")
			result(t, "rss_end_db_mmap_"+c.name, float64(db)/1024, "MiB", "bbolt file pages (clean, reclaimable page cache)")
		})
	}

	t.Run("idle_cpu", func(t *testing.T) {
		g := startGate(t, gateOpts{lanes: footprintLanes, broker: broker, screen: true}, nil)
		time.Sleep(5 * time.Second) // start-up work (integrity check, first publish) is not idle
		before := cpuTime(t, g.pid())
		start := time.Now()
		time.Sleep(idleRun)
		used, wall := cpuTime(t, g.pid())-before, time.Since(start)
		g.stop()
		result(t, "idle_cpu", 100*used.Seconds()/wall.Seconds(), "%core",
			fmt.Sprintf("lanes=4 broker=up screen=on clients=0 over %v (cpu %v) target<1%%", idleRun, used))
	})

	t.Run("startup_to_first_reading", func(t *testing.T) {
		var took []time.Duration
		for range startups {
			took = append(took, startupOnce(t, broker))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		note := fmt.Sprintf("runs=%d lanes=1 broker=up, exec → first lamp", startups)
		result(t, "startup_median", ms(took[len(took)/2]), "ms", note+" target<300ms")
		result(t, "startup_max", ms(took[len(took)-1]), "ms", note)
	})
}

// feedEveryMillisecond writes a frame to g's first lane every millisecond
// from now until stop is closed, and closes the returned channel then.
// Values alternate: the stuck detector is not what is measured.
func feedEveryMillisecond(g *gate, stop <-chan struct{}) <-chan struct{} {
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		buf := line(nil, 36.5)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			buf = line(buf, 36.4+0.1*float64(i%3))
			if _, err := g.ports[0].Master.Write(buf); err != nil {
				return
			}
		}
	}()
	return fed
}

// startupOnce starts the daemon while a frame is written every millisecond
// and returns the time from exec to the first lamp it lit.
func startupOnce(t *testing.T, broker string) time.Duration {
	stopFeed := make(chan struct{})
	var fed <-chan struct{}
	g := startGate(t, gateOpts{lanes: 1, broker: broker, trace: true}, func(g *gate) { fed = feedEveryMillisecond(g, stopFeed) })
	defer func() { close(stopFeed); <-fed }()
	select {
	case ev := <-g.trace:
		took := ev.at.Sub(g.started)
		g.stop()
		return took
	case <-time.After(long):
		t.Fatalf("no lamp lit within %v of start\n%s", long, g.stderr.String())
	}
	return 0
}
