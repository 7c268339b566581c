package storage

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

const linkDay = "2026-11-23"

func r003(lane string) event.Case {
	return event.Case{Ticket: "R-003", Day: linkDay, Lane: lane, Role: "student",
		State: event.CaseAwaitingRecheck, FlagC: ptr(37.9), Actor: "system", OpenedAt: event.TimeOf(t0)}
}

// clearedR003 is the re-check transition the pipeline appends after the
// opening: the whole case, still without its reading's seq.
func clearedR003(t testing.TB, flag event.Event) event.Event {
	c := r003("L2")
	c.From, c.State, c.RecheckC, c.Actor = event.CaseAwaitingRecheck, event.CaseCleared, ptr(36.7), "doctor"
	ev := mustEvent(t, event.KindCase, c, t0.Add(time.Minute))
	ev.Drill = flag.Drill
	return ev
}

// storedCases returns the case events in the file and in the priority
// outbox (what the uplink sends), by seq.
func storedCases(t *testing.T, s *Store) (stored, outbox map[uint64]event.Case) {
	t.Helper()
	stored, outbox = map[uint64]event.Case{}, map[uint64]event.Case{}
	for seq, ev := range allSeqs(t, s) {
		if ev.Kind == event.KindCase {
			stored[seq] = decodeBody[event.Case](t, ev)
		}
	}
	pending, err := s.Pending(Priority, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range pending {
		if ev.Kind == event.KindCase {
			outbox[ev.Seq] = decodeBody[event.Case](t, ev)
		}
	}
	return stored, outbox
}

func appendWait(t *testing.T, s *Store, ev event.Event) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seq, err := s.AppendWait(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// checkLinked asserts that every stored and outbox transition of R-003,
// and its projection, carry readingSeq.
func checkLinked(t *testing.T, s *Store, readingSeq uint64, transitions int) {
	t.Helper()
	stored, outbox := storedCases(t, s)
	if len(stored) != transitions || len(outbox) != transitions {
		t.Fatalf("%d stored and %d outbox case events, want %d: %+v", len(stored), len(outbox), transitions, stored)
	}
	for seq, c := range stored {
		if seq <= readingSeq {
			t.Errorf("case event %d stored before its reading %d", seq, readingSeq)
		}
		if c.ReadingSeq != readingSeq || outbox[seq].ReadingSeq != readingSeq {
			t.Errorf("case event %d (%s): reading_seq stored %d, outbox %d; want %d", seq, c.State, c.ReadingSeq, outbox[seq].ReadingSeq, readingSeq)
		}
	}
	cases, err := s.CasesOn(linkDay)
	if err != nil || len(cases) != 1 || cases[0].ReadingSeq != readingSeq {
		t.Errorf("projection %+v, %v; want R-003 with reading_seq %d", cases, err, readingSeq)
	}
}

func TestCaseLinksReadingAppendedFirst(t *testing.T) {
	t.Run("earlier_commit", func(t *testing.T) {
		s := openStore(t, tempPath(t), Opts{ReadingWait: time.Hour})
		flag := flagReading(t, "L2", "R-003", t0, 7)
		rseq := appendWait(t, s, flag)
		appendWait(t, s, openedBy(t, flag, r003("L2"))) // would wait an hour if held
		appendWait(t, s, clearedR003(t, flag))
		checkLinked(t, s, rseq, 2)
	})
	t.Run("same_batch", func(t *testing.T) {
		// The first commit blocks until the reading and the case are both
		// queued, so the writer takes them into one batch, reading first.
		inCommit, proceed := make(chan struct{}), make(chan struct{})
		var once sync.Once
		s := openStore(t, tempPath(t), Opts{ReadingWait: time.Hour, CommitHook: func() {
			once.Do(func() { close(inCommit); <-proceed })
		}})
		if err := s.Append(mustEvent(t, event.KindHealth, event.Health{Component: "device", State: event.HealthUp}, t0)); err != nil {
			t.Fatal(err)
		}
		<-inCommit
		flag := flagReading(t, "L2", "R-003", t0, 7)
		for _, ev := range []event.Event{flag, openedBy(t, flag, r003("L2"))} {
			if err := s.Append(ev); err != nil {
				t.Fatal(err)
			}
		}
		close(proceed)
		appendWait(t, s, clearedR003(t, flag))
		checkLinked(t, s, 2, 2)
	})
}

func TestCaseLinksReadingAppendedLater(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{ReadingWait: 10 * time.Second})
	// Another flag of the same ticket number on another day, and one with
	// the same ticket at another time, must not be taken for R-003's.
	other := flagReading(t, "L2", "R-003", t0.Add(-24*time.Hour), 5)
	appendWait(t, s, other)
	flag := flagReading(t, "L2", "R-003", t0, 7)

	// The opening, then the doctor's re-check, which queues behind the held
	// opening: appended in this order on one goroutine, so the store's
	// queue keeps it.
	for _, ev := range []event.Event{openedBy(t, flag, r003("L2")), clearedR003(t, flag)} {
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if stored, _ := storedCases(t, s); len(stored) != 0 {
		t.Fatalf("case events %v were stored before their reading arrived", stored)
	}
	start := time.Now()
	rseq := appendWait(t, s, flag)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("the held case became durable %v after its reading; want at once", waited)
	}
	var oseq, cseq uint64
	stored, _ := storedCases(t, s)
	for seq, c := range stored {
		switch c.State {
		case event.CaseAwaitingRecheck:
			oseq = seq
		case event.CaseCleared:
			cseq = seq
		}
	}
	if !(rseq < oseq && oseq < cseq) {
		t.Errorf("seqs reading %d, opening %d, re-check %d: want that order", rseq, oseq, cseq)
	}
	checkLinked(t, s, rseq, 2)
	if cases, _ := s.CasesOn(linkDay); len(cases) != 1 || cases[0].State != event.CaseCleared {
		t.Errorf("projection %+v: want the re-check's state", cases)
	}

	// After a restart the link is in the stored case: a later transition
	// still carries it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})
	c := r003("L2")
	c.From, c.State, c.Actor = event.CaseCleared, event.CaseClosed, "doctor"
	seq := appendWait(t, s, mustEvent(t, event.KindCase, c, t0.Add(time.Hour)))
	if stored, _ := storedCases(t, s); stored[seq].ReadingSeq != rseq {
		t.Errorf("transition after restart: reading_seq %d, want %d", stored[seq].ReadingSeq, rseq)
	}
}

func TestCaseWithoutReadingStoredWithinBound(t *testing.T) {
	var logs syncbuf.Buffer
	const wait = 150 * time.Millisecond
	s := openStoreLogged(t, tempPath(t), Opts{ReadingWait: wait, Logger: zerolog.New(&logs)})
	// The reading was dropped (say, by a full ring): only the case comes.
	flag := flagReading(t, "L2", "R-003", t0, 7)
	start := time.Now()
	seq := appendWait(t, s, openedBy(t, flag, r003("L2")))
	took := time.Since(start)
	if took < wait || took > wait+3*time.Second {
		t.Errorf("case without its reading durable after %v; want just after %v", took, wait)
	}
	if s.Durable() < seq {
		t.Errorf("durable %d < case seq %d", s.Durable(), seq)
	}
	stored, outbox := storedCases(t, s)
	if c, ok := stored[seq]; !ok || c.ReadingSeq != 0 || outbox[seq].Ticket != "R-003" {
		t.Errorf("stored %+v outbox %+v: want R-003 without reading_seq, queued for upload", stored, outbox)
	}
	if l := logs.String(); !strings.Contains(l, "without the seq of its flagged reading") || !strings.Contains(l, linkDay+"/R-003") {
		t.Errorf("log does not tell: %s", l)
	}
	// A reading that comes later does not disturb anything.
	appendWait(t, s, flag)
	if stored, _ := storedCases(t, s); len(stored) != 1 {
		t.Errorf("case events after the late reading: %+v", stored)
	}
}

func TestFlushAndCloseWriteHeldCase(t *testing.T) {
	for _, how := range []string{"flush", "close"} {
		t.Run(how, func(t *testing.T) {
			var logs syncbuf.Buffer
			path := tempPath(t)
			s := openStoreLogged(t, path, Opts{ReadingWait: time.Hour, Logger: zerolog.New(&logs)})
			flag := flagReading(t, "L2", "R-003", t0, 7)
			if err := s.Append(openedBy(t, flag, r003("L2"))); err != nil {
				t.Fatal(err)
			}
			if err := s.Append(clearedR003(t, flag)); err != nil {
				t.Fatal(err)
			}
			if how == "flush" {
				if err := s.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s = openStore(t, path, Opts{})
			}
			stored, _ := storedCases(t, s)
			cases, err := s.CasesOn(linkDay)
			if len(stored) != 2 || err != nil || len(cases) != 1 || cases[0].State != event.CaseCleared {
				t.Errorf("after %s: stored %+v, projection %+v %v; want both transitions, cleared last", how, stored, cases, err)
			}
			if !strings.Contains(logs.String(), `"why":"`+how+`"`) {
				t.Errorf("log: %s", logs.String())
			}
		})
	}
}

func TestDrillCaseKeepsDrillMark(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{})
	flag := flagReading(t, "L2", "R-003", t0, 7)
	flag.Drill = true
	appendWait(t, s, flag)
	appendWait(t, s, openedBy(t, flag, r003("L2")))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, Opts{})
	open, err := s.OpenCases()
	if err != nil || len(open) != 1 || !open[0].Drill {
		t.Fatalf("OpenCases after restart = %+v, %v; want R-003 marked drill", open, err)
	}
	// A transition appended without the mark (a pipeline that forgot it)
	// is still a drill's.
	rc := clearedR003(t, flag)
	rc.Drill = false
	seq := appendWait(t, s, rc)
	if ev := allSeqs(t, s)[seq]; !ev.Drill {
		t.Errorf("transition of a drill case stored with drill false: %+v", ev)
	}
	if cases, _ := s.CasesOn(linkDay); len(cases) != 1 || !cases[0].Drill {
		t.Errorf("CasesOn = %+v; want drill", cases)
	}
}
