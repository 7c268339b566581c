package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

var t0 = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)

func TestGroupCommitFlushMakesDurable(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{CommitInterval: time.Hour, CommitEvents: 1000})
	for i := range 10 {
		if err := s.Append(reading(t, "L1", event.VerdictPass, t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	if d := s.Durable(); d != 0 {
		t.Errorf("Durable before Flush = %d, want 0 (interval is an hour)", d)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := s.Durable(); d != 10 {
		t.Errorf("Durable after Flush = %d, want 10", d)
	}
	evs, err := s.Pending(Bulk, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 10 {
		t.Fatalf("Pending(Bulk) = %d events, want 10", len(evs))
	}
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) || ev.Kind != event.KindReading || ev.BootID != "boot-1" || ev.Mono != 42 ||
			!ev.ClockSynced || ev.Wall != t0.Add(time.Duration(i)*time.Second).UnixNano() {
			t.Errorf("event %d = %+v", i, ev)
		}
		if r := decodeBody[event.Reading](t, ev); r.Lane != "L1" || *r.BodyC != 36.6 {
			t.Errorf("event %d body = %+v", i, r)
		}
	}
}

func TestCommitIntervalAndCommitEvents(t *testing.T) {
	t.Run("interval", func(t *testing.T) {
		s := openStore(t, tempPath(t), Opts{CommitInterval: 20 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		seq, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictPass, t0))
		if err != nil || seq != 1 {
			t.Fatalf("AppendWait = %d, %v", seq, err)
		}
	})
	t.Run("events", func(t *testing.T) {
		s := openStore(t, tempPath(t), Opts{CommitInterval: time.Hour, CommitEvents: 3})
		for range 2 {
			if err := s.Append(reading(t, "L1", event.VerdictPass, t0)); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		seq, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictPass, t0))
		if err != nil || seq != 3 {
			t.Fatalf("third AppendWait = %d, %v; want 3 committed by CommitEvents", seq, err)
		}
	})
	t.Run("urgent", func(t *testing.T) {
		s := openStore(t, tempPath(t), Opts{CommitInterval: time.Hour, CommitEvents: 1000})
		if err := s.Append(reading(t, "L1", event.VerdictPass, t0)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		seq, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictFlag, t0))
		if err != nil || seq != 2 {
			t.Fatalf("urgent AppendWait = %d, %v", seq, err)
		}
		if d := s.Durable(); d != 2 {
			t.Errorf("Durable = %d, want 2: the queued reading rides with the urgent one", d)
		}
	})
}

func TestNotifyAfterCommit(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{CommitInterval: time.Hour})
	select {
	case <-s.Notify():
		t.Fatal("Notify signalled before any commit")
	default:
	}
	if err := s.Append(reading(t, "L1", event.VerdictFlag, t0)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Notify():
	case <-time.After(10 * time.Second):
		t.Fatal("no Notify after an urgent commit")
	}
	if s.Durable() != 1 {
		t.Errorf("Durable = %d after Notify, want 1", s.Durable())
	}
}

func TestPendingAckQueuesAndReopen(t *testing.T) {
	path := tempPath(t)
	s, err := Open(path, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	// Seqs 1..12: every third a flag (priority), plus one health (priority).
	for i := range 12 {
		v := event.VerdictPass
		if i%3 == 0 {
			v = event.VerdictFlag
		}
		if err := s.Append(reading(t, "L1", v, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(mustEvent(t, event.KindHealth, event.Health{Component: "device", State: event.HealthDown}, t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, b := s.OutboxLen(); p != 5 || b != 8 {
		t.Fatalf("OutboxLen = %d, %d; want 5, 8", p, b)
	}
	prio, err := s.Pending(Priority, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{1, 4, 7, 10, 13}
	if got := seqsOf(prio); !equal(got, want) {
		t.Fatalf("Pending(Priority) = %v, want %v", got, want)
	}
	if prio[4].Kind != event.KindHealth || !prio[4].Urgent {
		t.Errorf("health event = %+v, want urgent health", prio[4])
	}
	bulk, err := s.Pending(Bulk, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(bulk); !equal(got, []uint64{5, 6, 8, 9}) {
		t.Errorf("Pending(Bulk, after 3, max 4) = %v", got)
	}
	if err := s.Ack(1, 4, 5, 6, 99); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(1, 4); err != nil { // idempotent
		t.Fatal(err)
	}
	if p, b := s.OutboxLen(); p != 3 || b != 6 {
		t.Errorf("OutboxLen after Ack = %d, %d; want 3, 6", p, b)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(reading(t, "L1", event.VerdictPass, t0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}

	s = openStore(t, path, Opts{})
	if p, b := s.OutboxLen(); p != 3 || b != 6 {
		t.Errorf("OutboxLen after reopen = %d, %d; want 3, 6", p, b)
	}
	if s.Durable() != 13 {
		t.Errorf("Durable after reopen = %d, want 13", s.Durable())
	}
	prio, err = s.Pending(Priority, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(prio); !equal(got, []uint64{7, 10, 13}) {
		t.Errorf("Pending(Priority) after reopen = %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seq, err := s.AppendWait(ctx, reading(t, "L2", event.VerdictFlag, t0))
	if err != nil || seq != 14 {
		t.Errorf("first seq after reopen = %d, %v; want 14", seq, err)
	}
	if got := len(allSeqs(t, s)); got != 14 {
		t.Errorf("events kept = %d, want 14 (Ack keeps events until retention)", got)
	}
}

func TestAppendNeverBlocks(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{QueueLen: 4, CommitInterval: time.Hour})
	// Hold the file so the writer stalls in its first commit.
	s.mu.Lock()
	var busy bool
	for range 100 {
		if err := s.Append(reading(t, "L1", event.VerdictFlag, t0)); errors.Is(err, ErrBusy) {
			busy = true
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Unlock()
	if !busy {
		t.Fatal("Append never returned ErrBusy with a stalled writer and a queue of 4")
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(event.Event{Kind: 0}); err == nil {
		t.Error("Append of an invalid kind succeeded")
	}
}

func TestMetaKV(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{BoxID: "sch1-gate1"})
	if v, err := s.Meta("uplink.epoch"); err != nil || v != nil {
		t.Fatalf("Meta of a missing key = %q, %v", v, err)
	}
	if err := s.SetMeta("uplink.epoch", []byte("7")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})
	if v, err := s.Meta("uplink.epoch"); err != nil || string(v) != "7" {
		t.Errorf("Meta after reopen = %q, %v", v, err)
	}
	if s.BoxID() != "sch1-gate1" {
		t.Errorf("BoxID = %q, want the stored one", s.BoxID())
	}
	if err := s.SetMeta("uplink.epoch", nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Meta("uplink.epoch"); v != nil {
		t.Errorf("Meta after delete = %q", v)
	}
}

func seqsOf(evs []event.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
