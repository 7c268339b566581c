package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// VisitPending lends every pending event in order, acked ones left out,
// and stops at fn's error; Pending's events are copies that outlive the
// transaction, the file growing (bbolt remaps it) and the store's Close
// (it unmaps it: an aliased body would fault or read garbage).
func TestVisitPendingLendsPendingCopies(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{QueueLen: 4096})
	var evs []event.Event
	for i := range 300 {
		ev := reading(t, "L1", event.VerdictPass, t0.Add(time.Duration(i)*time.Second))
		ev.Body = fmt.Appendf(nil, `{"lane":"L1","n":%d}`, i+1)
		evs = append(evs, ev)
	}
	appendFlushed(t, s, evs...)
	if err := s.Ack(2, 3); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	err := s.VisitPending(Bulk, 0, 100, func(ev *event.Event) error {
		if want := fmt.Sprintf(`{"lane":"L1","n":%d}`, ev.Seq); string(ev.Body) != want || ev.BootID != "boot-1" || ev.Kind != event.KindReading {
			t.Fatalf("seq %d lent as %q boot %q kind %v; want %s", ev.Seq, ev.Body, ev.BootID, ev.Kind, want)
		}
		seqs = append(seqs, ev.Seq)
		return nil
	})
	if err != nil || len(seqs) != 100 || seqs[0] != 1 || seqs[1] != 4 || seqs[99] != 102 {
		t.Fatalf("visited %d seqs %v…, %v; want 100 from 1, 4, …, 102", len(seqs), seqs[:min(3, len(seqs))], err)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.VisitPending(Bulk, 0, 100, func(*event.Event) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("VisitPending = %v after %d calls, want fn's error after 1", err, calls)
	}

	kept, err := s.Pending(Bulk, 0, 1000)
	if err != nil || len(kept) != 298 {
		t.Fatalf("Pending: %d events, %v", len(kept), err)
	}
	big := reading(t, "L1", event.VerdictPass, t0)
	big.Body = []byte(`{"pad":"` + string(bytes.Repeat([]byte("x"), 4000)) + `"}`)
	for range 3000 { // some MiB: the file grows and is remapped
		for err := s.Append(big); err != nil; err = s.Append(big) {
			if !errors.Is(err, ErrBusy) {
				t.Fatal(err)
			}
			if err := s.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ev := range kept {
		if want := fmt.Sprintf(`{"lane":"L1","n":%d}`, ev.Seq); string(ev.Body) != want {
			t.Fatalf("seq %d after Close: %q, want %s", ev.Seq, ev.Body, want)
		}
	}
}

// The acks of one commit go in any order, with repeats and seqs that are
// not in the outbox: each pending one leaves its queue once, and stays
// acked across a reopen.
func TestAcksOfOneCommitInAnyOrder(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{CommitInterval: time.Hour})
	var evs []event.Event
	for range 10 {
		evs = append(evs, reading(t, "L1", event.VerdictPass, t0))
	}
	flag := reading(t, "L1", event.VerdictFlag, t0) // seq 11, priority queue
	appendFlushed(t, s, append(evs, flag)...)
	for _, seqs := range [][]uint64{{9, 3, 11}, {1, 2}, {3, 99, 7}, {2}} {
		if err := s.Ack(seqs...); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})
	if p, b := s.OutboxLen(); p != 0 || b != 5 {
		t.Fatalf("OutboxLen after reopen = %d, %d; want 0, 5", p, b)
	}
	left, err := s.Pending(Bulk, 0, 100)
	var got []uint64
	for _, ev := range left {
		got = append(got, ev.Seq)
	}
	if err != nil || fmt.Sprint(got) != "[4 5 6 8 10]" {
		t.Fatalf("pending after reopen %v, %v; want [4 5 6 8 10]", got, err)
	}
}
