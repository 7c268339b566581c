package storage

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	bolt "go.etcd.io/bbolt"
)

// Acknowledgements ride in the writer's group commit: a drain that acks
// message by message costs a few commits, not one per message, yet each
// acked event leaves Pending and OutboxLen at once and stays acked across
// a reopen.
func TestAcksAreGroupCommitted(t *testing.T) {
	var commits atomic.Int32
	path := tempPath(t)
	s := openStore(t, path, Opts{CommitInterval: time.Hour, CommitHook: func() { commits.Add(1) }})
	var evs []event.Event
	for range 100 {
		evs = append(evs, reading(t, "L1", event.VerdictPass, t0))
	}
	appendFlushed(t, s, evs...)
	before := commits.Load()
	for seq := uint64(1); seq <= 100; seq++ {
		if err := s.Ack(seq); err != nil {
			t.Fatal(err)
		}
		if seq == 50 {
			if p, b := s.OutboxLen(); p != 0 || b != 50 {
				t.Fatalf("OutboxLen after 50 acks = %d, %d; want 0, 50", p, b)
			}
			left, err := s.Pending(Bulk, 0, 1000)
			if err != nil || len(left) != 50 || left[0].Seq != 51 {
				t.Fatalf("Pending after 50 acks: %d events from seq %v, %v", len(left), left[0].Seq, err)
			}
		}
	}
	if got := commits.Load() - before; got != 0 {
		t.Fatalf("%d commits for 100 acks inside one commit interval, want none before the flush", got)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := commits.Load() - before; got != 1 {
		t.Fatalf("%d commits for 100 acks, want 1", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})
	if p, b := s.OutboxLen(); p != 0 || b != 0 {
		t.Fatalf("after reopen OutboxLen = %d, %d; want 0, 0", p, b)
	}
}

// Acks still waiting in the writer are committed by Close: nothing acked
// comes back after a clean restart.
func TestCloseCommitsPendingAcks(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{CommitInterval: time.Hour})
	appendFlushed(t, s, reading(t, "L1", event.VerdictPass, t0), reading(t, "L1", event.VerdictPass, t0))
	if err := s.Ack(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})
	left, err := s.Pending(Bulk, 0, 10)
	if err != nil || len(left) != 1 || left[0].Seq != 2 {
		t.Fatalf("after reopen pending %+v %v, want only seq 2", left, err)
	}
}

// An Ack while Pending reads and a commit waits to remap the grown file:
// bbolt's waiting remap blocks new readers, Pending holds its reader and
// checks the acks in flight, so an Ack must never hold that check's lock
// while it waits for a reader of its own (it did, and the three stopped
// for good).
func TestAckDuringPendingAndRemapDoesNotDeadlock(t *testing.T) {
	s := openStore(t, tempPath(t), Opts{})
	appendFlushed(t, s, reading(t, "L1", event.VerdictPass, t0))

	inTx, proceed, readerDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { // Pending's part: a reader that checks the acks in flight
		defer close(readerDone)
		_ = s.view(func(*bolt.Tx) error {
			close(inTx)
			<-proceed
			s.isAcking(1)
			return nil
		})
	}()
	<-inTx
	// A commit that grows the file past its mapping waits for the reader.
	big := reading(t, "L1", event.VerdictPass, t0)
	big.Body = []byte(`{"pad":"` + strings.Repeat("x", 8<<20) + `"}`)
	big.Urgent = true
	wrote := make(chan error, 1)
	go func() { _, err := s.AppendWait(context.Background(), big); wrote <- err }()
	time.Sleep(200 * time.Millisecond)
	acked := make(chan error, 1)
	go func() { acked <- s.Ack(1) }()
	time.Sleep(200 * time.Millisecond)
	close(proceed)

	deadline := time.After(10 * time.Second)
	for _, c := range []struct {
		what string
		done <-chan error
	}{{"Ack", acked}, {"the growing commit", wrote}} {
		select {
		case err := <-c.done:
			if err != nil {
				t.Fatalf("%s: %v", c.what, err)
			}
		case <-deadline:
			t.Fatalf("%s did not return: Ack, Pending and the remap deadlocked", c.what)
		}
	}
	<-readerDone
}

// An Ack that finds the writer's queue full (a commit stuck on a slow card)
// neither waits nor commits on its own: the writer's next commit takes it,
// and the seqs stay out of Pending and OutboxLen meanwhile.
func TestAckWithTheQueueFull(t *testing.T) {
	stall, stalled := make(chan struct{}), make(chan struct{}, 1)
	var stalling atomic.Bool
	path := tempPath(t)
	s := openStore(t, path, Opts{QueueLen: 2, CommitHook: func() {
		if stalling.Load() {
			select {
			case stalled <- struct{}{}:
			default:
			}
			<-stall
		}
	}})
	for range 3 {
		appendFlushed(t, s, reading(t, "L1", event.VerdictPass, t0))
	}
	stalling.Store(true)
	if err := s.Append(reading(t, "L1", event.VerdictFlag, t0)); err != nil {
		t.Fatal(err)
	}
	<-stalled
	for s.Append(reading(t, "L1", event.VerdictFlag, t0)) == nil {
	}
	acked := make(chan error, 1)
	go func() { acked <- s.Ack(1, 2) }()
	select {
	case err := <-acked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Ack waited for the stalled writer")
	}
	if _, b := s.OutboxLen(); b != 1 {
		t.Errorf("OutboxLen bulk = %d while the writer is stuck, want 1", b)
	}
	stalling.Store(false)
	close(stall)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})
	left, err := s.Pending(Bulk, 0, 10)
	if err != nil || len(left) != 1 || left[0].Seq != 3 {
		t.Fatalf("after reopen pending %v, %v; want only seq 3", seqsOf(left), err)
	}
}
