package storage

import (
	"context"
	"testing"
	"time"
)

// The oldest event the district has not acknowledged is the oldest of
// either queue, and nothing waits once every event is acknowledged.
func TestOldestPending(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{})
	if _, ok, err := s.OldestPending(); err != nil || ok {
		t.Fatalf("empty store: ok %v err %v", ok, err)
	}
	old := time.Date(2026, 12, 3, 7, 30, 0, 0, time.UTC)
	ctx := context.Background()
	first, err := s.AppendWait(ctx, reading(t, "lane-1", "pass", old))
	if err != nil {
		t.Fatal(err)
	}
	flag, err := s.AppendWait(ctx, flagReading(t, "lane-1", "R-001", old.Add(time.Minute), 1))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.OldestPending(); err != nil || !ok || !got.Equal(old) {
		t.Fatalf("oldest pending %v %v %v, want the bulk reading at %v", got, ok, err, old)
	}
	if err := s.Ack(first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ack", func() bool { got, ok, _ := s.OldestPending(); return ok && got.Equal(old.Add(time.Minute)) })
	if err := s.Ack(flag); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "nothing pending", func() bool { _, ok, _ := s.OldestPending(); return !ok })
	if a, f, err := s.Room(); err != nil || a <= 0 || f <= 0 {
		t.Fatalf("Room: allocated %d free %d err %v", a, f, err)
	}
}
