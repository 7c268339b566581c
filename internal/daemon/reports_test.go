package daemon

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/clock"
)

func reportGate(t *testing.T) *gate {
	t.Helper()
	cfg := config.Default()
	loc, err := time.LoadLocation(cfg.Site.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := school.NewSchedule(SchoolCalendar(cfg.School), loc)
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

// The school's day follows the daemon's clock (Opts.Clock), the one that
// stamps its events, never the system's: at 23:59:59.9 in Shanghai on an
// injected clock the report of that day is due and "today" is that day,
// whatever the real time and zone of the machine.
func TestReportsFollowTheInjectedClock(t *testing.T) {
	g := reportGate(t)
	at := time.Date(2026, 11, 23, 23, 59, 59, 9e8, g.loc)
	g.clk = clock.New(clock.Opts{
		Now:        func() time.Time { return at },
		SyncedFunc: func() bool { return true },
		Logger:     zerolog.Nop(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.dailyReports(ctx) }()
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

	rec := httptest.NewRecorder()
	g.apiReport(rec, httptest.NewRequest("GET", "/v1/report", nil))
	var rep event.Daily
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || rep.Day != "2026-11-23" {
		t.Fatalf("report of today: %d %s", rec.Code, rec.Body)
	}
}

// The report is due at reports.daily_at on the school's wall clock, also on
// the days a zone with daylight saving changes its clocks.
func TestReportTimeOnDaylightSavingDays(t *testing.T) {
	g := reportGate(t)
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if g.sched, err = school.NewSchedule(SchoolCalendar(g.cfg.School), loc); err != nil {
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
	g := reportGate(t)
	g.cfg.Lanes = []config.Lane{{Name: "lane-1", Label: "1号通道"}, {Name: "staff"}}
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

// While the daemon runs, `gatescreen export` asks it: the local API writes
// the same registers as the offline export, in Chinese by default.
func TestLocalAPIExportsTheLedger(t *testing.T) {
	g := reportGate(t)
	g.cfg.Lanes = []config.Lane{{Name: "lane-1", Label: "1号通道"}}
	body := 37.8
	ev, err := event.New(event.KindReading, event.Reading{Lane: "lane-1", Role: "student", BodyC: &body,
		Verdict: event.VerdictFlag, Round: "morning", Ticket: "R-001"})
	if err != nil {
		t.Fatal(err)
	}
	ev.Wall = time.Date(2026, 11, 23, 7, 10, 0, 0, g.loc).UnixNano()
	if err := g.store.Append(ev); err != nil {
		t.Fatal(err)
	}
	if err := g.store.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ query, want string }{
		{"from=2026-11-23&to=2026-11-23", "晨检,1号通道,学生,,,,37.80,是,体温异常,,送复检区 R-001"},
		{"from=2026-11-23&to=2026-11-23&format=jsonl", `"verdict":"flag"`},
	} {
		rec := httptest.NewRecorder()
		g.apiExport(rec, httptest.NewRequest("GET", "/v1/export?"+tc.query, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %q", tc.query, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	g.apiExport(rec, httptest.NewRequest("GET", "/v1/export?from=2026-11-23&to=2026-11-23&table=all", nil))
	if rec.Code != 400 {
		t.Errorf("table=all: %d %q", rec.Code, rec.Body)
	}
	// The workbook is made by the companion, never in the gate's process.
	rec = httptest.NewRecorder()
	g.apiExport(rec, httptest.NewRequest("GET", "/v1/export?from=2026-11-23&to=2026-11-23&format=xlsx", nil))
	if rec.Code != 400 {
		t.Errorf("format=xlsx: %d %q", rec.Code, rec.Body)
	}
}
