package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
)

// openTestStore opens a real store file that outlives a Close, so a test
// can reopen it as a restarted daemon would.
func openTestStore(t *testing.T, path string, o storage.Opts) *storage.Store {
	t.Helper()
	s, err := storage.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func flush(t *testing.T, s *storage.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// storedEvents returns every event in s of kind k, in seq order.
func storedEvents(t *testing.T, s *storage.Store, k event.Kind) []event.Event {
	t.Helper()
	var out []event.Event
	err := s.Scan(time.Unix(0, 0), time.Now().Add(24*time.Hour*365*10), func(ev event.Event) error {
		if ev.Kind == k {
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// flagged is a flag on lane 0 that drew its ticket, as the route stage
// hands it to every sink.
func flagged(c *Cases, wall time.Time, drill bool) *Measurement {
	m := &Measurement{Lane: 0, Device: 0, Verdict: VerdictFlag, Reason: ReasonThreshold, BodyC: 38.1,
		RawC: 36.0, AmbientC: 22, ThresholdC: 37.3, Wall: wall.UnixNano(), Mono: wall.UnixNano() / 3, Drill: drill}
	m.Ticket = c.drawTicket(m.Wall)
	return m
}

// The flagged reading and the case it opens reach the store from two sinks
// in either order; the stored case carries the reading's seq either way.
func TestCaseCarriesSeqOfItsFlaggedReading(t *testing.T) {
	for _, order := range []string{"reading_first", "case_first"} {
		t.Run(order, func(t *testing.T) {
			store := openTestStore(t, filepath.Join(t.TempDir(), "events.db"), storage.Opts{ReadingWait: time.Minute})
			now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
			var changes []event.Case
			c := casesAt(t, store, &now, &changes)
			o := gate()
			sink, err := NewEventSink(EventSinkOpts{Store: store, Clock: fixedClock{}, Devices: o.Devices, Lanes: o.Lanes, Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			m := flagged(c, now, false)
			if order == "reading_first" {
				sink.Consume(m)
				c.Consume(m)
			} else {
				c.Consume(m)
				sink.Consume(m)
			}
			if _, err := c.Recheck("R-001", 36.6, "doctor"); err != nil {
				t.Fatal(err)
			}
			flush(t, store)

			readings := storedEvents(t, store, event.KindReading)
			if len(readings) != 1 {
				t.Fatalf("%d readings stored", len(readings))
			}
			cases := storedEvents(t, store, event.KindCase)
			if len(cases) != 2 {
				t.Fatalf("%d case events stored", len(cases))
			}
			for _, ev := range cases {
				var cs event.Case
				if err := ev.Decode(&cs); err != nil {
					t.Fatal(err)
				}
				if cs.ReadingSeq != readings[0].Seq {
					t.Errorf("case event %d (%s): reading_seq %d, want %d", ev.Seq, cs.State, cs.ReadingSeq, readings[0].Seq)
				}
			}
			got, err := store.CasesOn("2026-11-23")
			if err != nil || len(got) != 1 || got[0].ReadingSeq != readings[0].Seq || got[0].State != event.CaseCleared {
				t.Errorf("stored case %+v, %v; want R-001 cleared with reading_seq %d", got, err, readings[0].Seq)
			}
		})
	}
}

// A drill case restored after a restart is still a drill: its next
// transition is stored, shown and counted as one.
func TestRestoredDrillCaseStaysDrill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	store := openTestStore(t, path, storage.Opts{})
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	var changes []event.Case
	c := casesAt(t, store, &now, &changes)
	c.Consume(flagged(c, now, true))                   // the drill: R-001
	c.Consume(flagged(c, now.Add(time.Second), false)) // a real flag: R-002
	if len(changes) != 2 || !changes[0].Drill || changes[1].Drill {
		t.Fatalf("changes %+v: want R-001 drill, R-002 not", changes)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store = openTestStore(t, path, storage.Opts{})
	now = now.Add(time.Minute)
	changes = nil
	c = casesAt(t, store, &now, &changes)
	for _, cs := range c.Open() {
		if cs.Drill != (cs.Ticket == "R-001") {
			t.Errorf("restored %s: drill %v", cs.Ticket, cs.Drill)
		}
	}
	for _, ticket := range []string{"R-001", "R-002"} {
		if _, err := c.Recheck(ticket, 38.0, "doctor"); err != nil {
			t.Fatal(err)
		}
	}
	if len(changes) != 2 || !changes[0].Drill || changes[1].Drill {
		t.Errorf("changes after restart %+v: want R-001 drill, R-002 not", changes)
	}
	flush(t, store)
	cases := storedEvents(t, store, event.KindCase)
	if len(cases) != 4 {
		t.Fatalf("%d case events stored, want 4", len(cases))
	}
	for _, ev := range cases[2:] {
		var cs event.Case
		if err := ev.Decode(&cs); err != nil {
			t.Fatal(err)
		}
		if ev.Drill != (cs.Ticket == "R-001") {
			t.Errorf("%s %s after restart stored with drill %v", cs.Ticket, cs.State, ev.Drill)
		}
	}
}

// The pipeline marks a restored drill case's transitions itself (storage
// would repair a missing mark, the fake does not).
func TestRestoredDrillCasePersistsDrill(t *testing.T) {
	now := time.Date(2026, 11, 23, 7, 10, 0, 0, cst)
	log := &caseLog{}
	var changes []event.Case
	c := casesAt(t, log, &now, &changes)
	c.Consume(flagged(c, now, true))
	c = casesAt(t, log, &now, &changes) // restart
	if _, err := c.Recheck("R-001", 36.5, "doctor"); err != nil {
		t.Fatal(err)
	}
	if last := log.events[len(log.events)-1]; !last.Drill {
		t.Errorf("re-check of a restored drill case appended with drill false: %+v", last)
	}
}
