package schoolday

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
	"github.com/gatescreen/gatescreen/sync/clock"
)

// testOffice is an office over a fresh store, with the default
// configuration's school and time zone, on the system clock.
type testOffice struct {
	*Office
	store *storage.Store
	loc   *time.Location
	cfg   *config.Config
}

func reportOffice(t *testing.T) *testOffice {
	t.Helper()
	cfg := config.Default()
	loc, err := time.LoadLocation(cfg.Site.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := school.NewSchedule(cfg.School.Calendar(), loc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(filepath.Join(t.TempDir(), "events.db"), storage.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := New(Opts{Store: st, Schedule: sched, LaneLabels: cfg.LaneLabels(),
		Retention: cfg.Storage.Retention, MaxCalibrationAge: cfg.Calibration.MaxAge, MaxSpreadC: cfg.Calibration.MaxSpreadC,
		Stamp: func(ev *event.Event) { ev.Wall = time.Now().UnixNano() }, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return &testOffice{Office: f, store: st, loc: loc, cfg: &cfg}
}

// A box that was off for two report times sends the missed days' reports
// when it comes back, each a zero report if nothing happened, marked late.
func TestMissedReportsSentAfterRestart(t *testing.T) {
	g := reportOffice(t)
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
	g := reportOffice(t)
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

// The school's day follows the daemon's clock (Opts.Clock), the one that
// stamps its events, never the system's: at 23:59:59.9 in Shanghai on an
// injected clock the report of that day is due and "today" is that day,
// whatever the real time and zone of the machine.
func TestReportsFollowTheInjectedClock(t *testing.T) {
	g := reportOffice(t)
	at := time.Date(2026, 11, 23, 23, 59, 59, 9e8, g.loc)
	g.o.Clock = clock.New(clock.Opts{
		Now:        func() time.Time { return at },
		SyncedFunc: func() bool { return true },
		Logger:     zerolog.Nop(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.RunReports(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, _ := g.store.Daily("2026-11-23"); ok {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			last, _ := g.store.Meta(metaLastReport)
			t.Fatalf("no report of 2026-11-23 at 23:59:59.9 by the daemon's clock; last report day %q", last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	if rep, err := g.Report(g.Today()); err != nil || rep.Day != "2026-11-23" {
		t.Fatalf("report of today: %+v %v", rep, err)
	}
}

// The report is due at reports.daily_at on the school's wall clock, also on
// the days a zone with daylight saving changes its clocks.
func TestReportTimeOnDaylightSavingDays(t *testing.T) {
	g := reportOffice(t)
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if g.o.Schedule, err = school.NewSchedule(g.cfg.School.Calendar(), loc); err != nil {
		t.Fatal(err)
	}
	for _, date := range []string{"2026-03-08", "2026-11-01"} { // spring forward, fall back
		morning, _ := time.ParseInLocation("2006-01-02 15:04", date+" 09:00", loc)
		want, _ := time.ParseInLocation("2006-01-02 15:04", date+" 18:00", loc)
		if got := g.nextReport(morning); !got.Equal(want) {
			t.Errorf("%s: report due %v, want %v", date, got.In(loc), want)
		}
	}
}

// The daily report names the lanes as people read them (issue #16):
// lanes[].label, or the lane's name when it has none.
func TestDailyReportCarriesLaneLabels(t *testing.T) {
	g := reportOffice(t)
	g.o.LaneLabels = (&config.Config{Lanes: []config.Lane{{Name: "lane-1", Label: "1号通道"}, {Name: "staff"}}}).LaneLabels()
	now := time.Date(2026, 11, 23, 19, 0, 0, 0, g.loc)
	if err := g.catchUpReports(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	r, ok, err := g.store.Daily("2026-11-23")
	if err != nil || !ok {
		t.Fatalf("report stored %v, err %v", ok, err)
	}
	if r.LaneLabels["lane-1"] != "1号通道" || r.LaneLabels["staff"] != "staff" {
		t.Fatalf("lane labels %v", r.LaneLabels)
	}
}
