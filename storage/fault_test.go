package storage

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// blockReservation makes the next write of the sequence reservation fail,
// as a disk that refuses writes does: its temporary file is a directory.
// The returned func lets the disk recover.
func blockReservation(t *testing.T, path string) (heal func()) {
	t.Helper()
	tmp := path + ".seq.tmp"
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := os.Remove(tmp); err != nil {
			t.Fatal(err)
		}
	}
}

// outboxScan counts the outbox queues in the file, leaving out the seqs
// whose acknowledgement waits for its commit: what OutboxLen must say.
func outboxScan(t *testing.T, s *Store) (prio, bulk int) {
	t.Helper()
	p, err := s.Pending(Priority, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Pending(Bulk, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return len(p), len(b)
}

// A commit that fails keeps its batch: once the disk takes writes again,
// the flagged reading and the normal one are stored, and so is the storage
// fault, as a health event the district receives. Before, the batch was
// cleared after the error and the fault only went to OnHealth.
func TestFailedCommitKeepsItsBatch(t *testing.T) {
	path := tempPath(t)
	var health healthLog
	s := openStore(t, path, Opts{OnHealth: health.add, CommitInterval: 10 * time.Millisecond})
	heal := blockReservation(t, path)

	flag := reading(t, "L1", event.VerdictFlag, t0)
	normal := reading(t, "L2", event.VerdictPass, t0)
	for _, ev := range []event.Event{flag, normal} {
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a write error reported", func() bool {
		for _, h := range health.all() {
			if h.State == event.HealthDown && strings.HasPrefix(h.Reason, "write error") {
				return true
			}
		}
		return false
	})
	time.Sleep(50 * time.Millisecond) // a few more failed tries
	if d := s.Durable(); d != 0 {
		t.Fatalf("Durable = %d while every commit fails", d)
	}
	heal()
	waitFor(t, "the batch committed after the disk recovered", func() bool { return s.Durable() >= 2 })
	// The recovery is raised when the batch commits and stored with the
	// commit after it; until then the outbox is still changing.
	var stored map[uint64]event.Event
	var lanes []string
	var fault, recovered bool
	waitFor(t, "the recovery stored", func() bool {
		stored, lanes, fault, recovered = allSeqs(t, s), nil, false, false
		for _, ev := range stored {
			switch ev.Kind {
			case event.KindReading:
				lanes = append(lanes, decodeBody[event.Reading](t, ev).Lane)
			case event.KindHealth:
				h := decodeBody[event.Health](t, ev)
				fault = fault || (h.Component == "storage" && h.State == event.HealthDown && strings.HasPrefix(h.Reason, "write error"))
				recovered = recovered || (h.Component == "storage" && h.State == event.HealthUp)
			}
		}
		return recovered
	})
	if len(lanes) != 2 {
		t.Errorf("readings stored after the disk recovered: lanes %v, want L1 (the flag) and L2", lanes)
	}
	if !fault || !recovered {
		t.Errorf("stored health: fault %v, recovery %v; want both stored for the district (events %v)", fault, recovered, stored)
	}
	// The counters are published just after the commit a reader can
	// already see, so they may lag the scan for a moment, never for good.
	waitFor(t, "OutboxLen to match a scan of the outbox", func() bool {
		p, b := s.OutboxLen()
		sp, sb := outboxScan(t, s)
		return p == sp && b == sb
	})
	var up bool
	for _, h := range health.all() {
		up = up || (h.Component == "storage" && h.State == event.HealthUp)
	}
	if !up {
		t.Errorf("OnHealth = %+v, want the recovery reported", health.all())
	}
}

// Acknowledgements that ride in a failing commit stay delivered (not
// pending, not counted) and are committed once the disk recovers; a
// reopened store does not offer them again.
func TestAcksInAFailingCommitAreKept(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{CommitInterval: 10 * time.Millisecond})
	var evs []event.Event
	for range 10 {
		evs = append(evs, reading(t, "L1", event.VerdictPass, t0))
	}
	appendFlushed(t, s, evs...)
	// The next reservation is due at seq 65537: move the file's sequence
	// there so the commit carrying the acks reserves, and fails.
	s.seqs.reserved = s.Durable()
	heal := blockReservation(t, path)
	if err := s.Ack(1, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(reading(t, "L1", event.VerdictFlag, t0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err == nil {
		t.Fatal("Flush = nil while the commit fails")
	}
	if p, b := s.OutboxLen(); p != 0 || b != 7 {
		t.Errorf("OutboxLen during the fault = %d, %d; want 0, 7 (3 of 10 delivered, the flag not stored)", p, b)
	}
	if sp, sb := outboxScan(t, s); sp != 0 || sb != 7 {
		t.Errorf("Pending during the fault: %d, %d; want 0, 7", sp, sb)
	}
	heal()
	waitFor(t, "the flag stored", func() bool { return s.Durable() >= 11 })
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	p, b := s.OutboxLen()
	if sp, sb := outboxScan(t, s); p != sp || b != sb || b != 7 {
		t.Errorf("OutboxLen = %d, %d; scan %d, %d; want 7 normal readings", p, b, sp, sb)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})
	left, err := s.Pending(Bulk, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 7 || left[0].Seq != 4 {
		t.Errorf("after reopen %d normal readings pending from %v; want 7 from seq 4 (1-3 acked)", len(left), seqsOf(left))
	}
}
