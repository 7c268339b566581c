//go:build bench

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
)

const (
	wearWarmup = 10 * time.Second
	wearRun    = 60 * time.Second
	// wearRate is the readings per second per lane of the wear run: with 4
	// lanes, 4 events a second at the gate.
	wearRate = 1
)

// TestSDWear runs the real daemon at gate rate with the broker up (so the
// outbox acks are written too) and divides the bytes it wrote to disk
// (/proc/<pid>/io write_bytes) by the events it stored, at the default
// commit interval and at the 10 s recommended for SD cards.
func TestSDWear(t *testing.T) {
	broker := startMosquitto(t)
	for _, interval := range []string{"200ms", "10s"} {
		t.Run("commit_interval_"+interval, func(t *testing.T) {
			dir := t.TempDir()
			g := startGate(t, gateOpts{lanes: footprintLanes, broker: broker, commitInterval: interval, dir: dir}, nil)
			ctx, cancel := context.WithCancel(context.Background())
			var sent atomic.Int64
			fed := make(chan struct{})
			go func() { defer close(fed); feed(t, ctx, g, wearRate, &sent) }()
			time.Sleep(wearWarmup)
			bytes0, sent0, from := writeBytes(t, g.pid()), sent.Load(), time.Now()
			time.Sleep(wearRun)
			bytes1, sent1, to := writeBytes(t, g.pid()), sent.Load(), time.Now()
			cancel()
			<-fed
			g.stop()
			// Events stored in the window, counted in the store itself (every
			// reading is one event; health and status events count too).
			stored := countEvents(t, dir, from, to)
			if stored < sent1-sent0-int64(footprintLanes) {
				t.Errorf("stored %d events in the window, sent %d readings", stored, sent1-sent0)
			}
			result(t, "wear_"+interval, float64(bytes1-bytes0)/float64(stored), "B/event",
				fmt.Sprintf("write_bytes=%d events=%d over %v, 4 lanes x %d/s, broker up target<=2048", bytes1-bytes0, stored, wearRun, wearRate))
		})
	}
}

// countEvents counts the events of the store at dir/events.db whose wall
// time is in [from, to).
func countEvents(t testing.TB, dir string, from, to time.Time) int64 {
	t.Helper()
	s, err := storage.Open(filepath.Join(dir, "events.db"), storage.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int64
	if err := s.Scan(from, to, func(event.Event) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
