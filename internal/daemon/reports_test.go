package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/storage"
)

func reportGate(t *testing.T) *gate {
	t.Helper()
	cfg := config.Default()
	loc, err := time.LoadLocation(cfg.Site.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := school.NewSchedule(cfg.School, loc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(filepath.Join(t.TempDir(), "events.db"), storage.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &gate{cfg: &cfg, log: zerolog.Nop(), loc: loc, store: st, sched: sched,
		roster: &rosterHolder{}, stamp: func(ev *event.Event) { ev.Wall = time.Now().UnixNano() }}
}

// A box that was off for two report times sends the missed days' reports
// when it comes back, each a zero report if nothing happened, marked late.
func TestMissedReportsSentAfterRestart(t *testing.T) {
	g := reportGate(t)
	now := time.Date(2026, 11, 23, 19, 0, 0, 0, g.loc) // after today's 18:00
	if err := g.store.SetMeta(metaLastReport, []byte("2026-11-20")); err != nil {
		t.Fatal(err)
	}
	if err := g.catchUpReports(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	for _, day := range []string{"2026-11-21", "2026-11-22", "2026-11-23"} {
		r, ok, err := g.store.Daily(day)
		if err != nil || !ok {
			t.Fatalf("report of %s: stored %v, err %v", day, ok, err)
		}
		if !r.Zero || r.Totals.Total != 0 {
			t.Errorf("%s: want a zero report, got %+v", day, r)
		}
		if wantLate := day != "2026-11-23"; r.Late != wantLate {
			t.Errorf("%s: late %v, want %v", day, r.Late, wantLate)
		}
	}
	last, _ := g.store.Meta(metaLastReport)
	if string(last) != "2026-11-23" {
		t.Fatalf("last report day %q", last)
	}
	// Nothing more is due: a second pass stores nothing new.
	before, _ := g.store.OutboxLen()
	if err := g.catchUpReports(context.Background(), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if after, _ := g.store.OutboxLen(); after != before {
		t.Fatalf("second pass queued %d more events", after-before)
	}
}

// Before the report time, today's report is not sent yet; a new box owes
// nothing for the days before it existed; a 1970 clock sends nothing.
func TestReportTiming(t *testing.T) {
	g := reportGate(t)
	morning := time.Date(2026, 11, 23, 9, 0, 0, 0, g.loc)
	if err := g.catchUpReports(context.Background(), morning); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := g.store.Daily("2026-11-23"); ok {
		t.Fatal("today's report sent before 18:00")
	}
	if err := g.catchUpReports(context.Background(), time.Unix(3600, 0)); err != nil {
		t.Fatal(err)
	}
	if p, _ := g.store.OutboxLen(); p != 0 {
		t.Fatalf("a box whose clock reads 1970 sent %d reports", p)
	}
	if next := g.nextReport(morning); !next.Equal(time.Date(2026, 11, 23, 18, 0, 0, 0, g.loc)) {
		t.Fatalf("next report %v", next)
	}
}
