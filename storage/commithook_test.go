package storage

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// CommitHook runs inside every write transaction, so a delay in it delays
// durability exactly like a slow fsync would.
func TestCommitHookDelaysEveryCommit(t *testing.T) {
	var calls atomic.Int32
	const delay = 50 * time.Millisecond
	s, err := Open(t.TempDir()+"/events.db", Opts{CommitHook: func() {
		calls.Add(1)
		time.Sleep(delay)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := calls.Load()
	ev, err := event.New(event.KindHealth, event.Health{Component: "test", State: event.HealthUp})
	if err != nil {
		t.Fatal(err)
	}
	ev.Urgent = true
	start := time.Now()
	if _, err := s.AppendWait(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load() - before; got < 1 {
		t.Fatalf("CommitHook ran %d times for one committed event, want ≥ 1", got)
	}
	if took := time.Since(start); took < delay {
		t.Fatalf("AppendWait returned after %v, before the hook's %v delay", took, delay)
	}
}
