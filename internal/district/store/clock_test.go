package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A box whose clock is a year behind (synchronised or not) uploads today:
// its readings count today, at their arrival, not on a day a year ago
// nobody looks at; one box_clock alert says why.
func testClockAYearOff(t *testing.T, open opener) {
	s, _ := open(t)
	ago := "2025-11-23T07:00:00.000Z"
	write(t, s, &Batch{Messages: []Message{
		readings(east, "hd17-east",
			reading("hd17-east", 1, "pass", ago, true, false),
			reading("hd17-east", 2, "flag", ago, false, false),
			reading("hd17-east", 3, "pass", "2026-11-23T07:00:00.000Z", true, false), // its clock right again
		),
		// A backlog, even two months late, counts on its own day.
		readings(west, "hd17-west", reading("hd17-west", 1, "pass", "2026-09-20T07:00:00.000Z", true, false)),
		// A clock two hours ahead is off.
		readings(north, "hd17-north", reading("hd17-north", 1, "pass", "2026-11-23T09:15:00.000Z", true, false)),
	}})
	ctx := context.Background()
	today, err := s.ReadingCounts(ctx, "2026-11-22T16:00:00.000Z", "2026-11-23T16:00:00.000Z")
	if want := "[{hd17 {4 3 1 0 0}}]"; err != nil || fmt.Sprint(today) != want {
		t.Errorf("today's counts %v, %v: want %s (the year-off readings counted on the day they arrived)", today, err, want)
	}
	if back, _ := s.ReadingCounts(ctx, "2025-11-22T16:00:00.000Z", "2025-11-23T16:00:00.000Z"); len(back) != 0 {
		t.Errorf("a year ago's counts %v: want none", back)
	}
	if past, _ := s.ReadingCounts(ctx, "2026-09-19T16:00:00.000Z", "2026-09-20T16:00:00.000Z"); fmt.Sprint(past) != "[{hd17 {1 1 0 0 0}}]" {
		t.Errorf("the backlog's day %v: want west's one reading", past)
	}
	evs, _ := s.Events(ctx, "hd17-east")
	if len(evs) != 3 || evs[0].CountedAt != t0.Format(TimeFormat) || evs[0].CapturedAt != ago || evs[2].CountedAt != evs[2].CapturedAt {
		t.Errorf("events %+v: want the year-off ones counted at their arrival, their capture kept", evs)
	}
	alerts, _ := s.Alerts(ctx)
	if len(alerts) != 2 || alerts[0].Kind != AlertClock || alerts[0].Box != "hd17-east" || !strings.Contains(alerts[0].Detail, "365 days behind") ||
		alerts[1].Box != "hd17-north" || !strings.Contains(alerts[1].Detail, "2.0 h ahead") {
		t.Errorf("alerts %+v: want box_clock of hd17-east, 365 days behind, and of hd17-north, 2 h ahead", alerts)
	}
	// The same day again raises nothing more.
	write(t, s, &Batch{Messages: []Message{readings(east, "hd17-east", reading("hd17-east", 4, "pass", ago, true, false))}})
	if alerts, _ := s.Alerts(ctx); len(alerts) != 2 {
		t.Errorf("%d alerts after more year-off readings the same day: want 2", len(alerts))
	}
}

// A year-behind box's daily report of "2025-11-23" must not replace the
// real report of that day, though its seq is higher: it is quarantined
// and raises box_clock, as does one of tomorrow sent today (a box a day
// ahead). A report weeks late is kept.
func testDailyAYearOff(t *testing.T, open opener) {
	s, _ := open(t)
	daily := func(day string, seq int64, at time.Time) Message {
		d := &Daily{Day: day, ID: fmt.Sprintf("hd17-east:%d", seq), Seq: seq, Totals: Counts{Total: seq, Pass: seq}, Body: []byte(`{}`)}
		return Message{Topic: "gatescreen/v1/hd/hd17/east/daily", Site: east, Box: "hd17-east", ReceivedAt: at, Daily: d, Payload: []byte(`{"v":1}`)}
	}
	write(t, s, &Batch{Messages: []Message{daily("2025-11-23", 5, time.Date(2025, 11, 23, 12, 0, 0, 0, time.UTC))}})
	out := write(t, s, &Batch{Messages: []Message{
		daily("2025-11-23", 900, t0),                    // its clock a year behind
		daily("2026-11-20", 899, t0),                    // Friday's, three days late: kept
		daily("2026-10-02", 898, t0),                    // seven weeks late, a backlog: kept
		daily("2027-11-23", 901, t0.Add(-time.Minute)),  // a year ahead
		daily("2026-11-24", 902, t0.Add(-15*time.Hour)), // tomorrow's, sent today: a day ahead
	}})
	if out.Quarantined != 3 || out.ClockQuarantined != 3 {
		t.Errorf("quarantined %d (%d for their day), want 3", out.Quarantined, out.ClockQuarantined)
	}
	ctx := context.Background()
	if got, _ := s.DailyReports(ctx, "2025-11-23"); len(got) != 1 || got[0].Seq != 5 {
		t.Errorf("2025-11-23's report %+v: want the real one, seq 5", got)
	}
	if got, _ := s.DailyReports(ctx, "2027-11-23"); len(got) != 0 {
		t.Errorf("2027-11-23's report %+v: want none", got)
	}
	if got, _ := s.DailyReports(ctx, "2026-11-24"); len(got) != 0 {
		t.Errorf("2026-11-24's report %+v: want none (sent a day early)", got)
	}
	for _, day := range []string{"2026-11-20", "2026-10-02"} {
		if got, _ := s.DailyReports(ctx, day); len(got) != 1 {
			t.Errorf("%s's report %+v: want it kept", day, got)
		}
	}
	q, _ := s.Quarantine(ctx)
	if len(q) != 3 || q[0].Reason != ReasonClock || string(q[0].Payload) != `{"v":1}` {
		t.Errorf("quarantine %+v: want two of reason clock", q)
	}
	alerts, _ := s.Alerts(ctx)
	if len(alerts) != 3 || alerts[0].Kind != AlertClock || alerts[0].Key != AlertClock+":daily:hd17-east:2025-11-23" {
		t.Errorf("alerts %+v: want box_clock for each", alerts)
	}
}

// A database of before migration 0004 gets counted_at from captured_at:
// its events count where they did.
func testMigrationCountedAt(t *testing.T, open opener) {
	s, dsn := open(t)
	ctx := context.Background()
	for _, q := range []string{
		`DROP INDEX events_school_kind_counted`,
		`ALTER TABLE events DROP COLUMN counted_at`,
		`CREATE INDEX events_school_kind_captured ON events (school, kind, captured_at)`,
		`DELETE FROM schema_migrations WHERE version = 4`,
		`INSERT INTO events (id, box, seq, kind, district, school, gate, captured_at, clock_synced, drill, hash, body, received_at)
			VALUES ('hd17-east:1', 'hd17-east', 1, 'reading', 'hd', 'hd17', 'east', '2026-11-23T07:00:00.000Z', TRUE, FALSE, 'h',
			'{"verdict":"pass"}', '2026-11-23T07:01:00.000Z')`,
	} {
		if _, err := s.b.pool().exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	s2 := mustOpen(t, dsn)
	evs, err := s2.Events(ctx, "")
	if err != nil || len(evs) != 1 || evs[0].CountedAt != "2026-11-23T07:00:00.000Z" {
		t.Fatalf("events after migrating %+v, %v: want counted at its capture", evs, err)
	}
	if got, _ := s2.ReadingCounts(ctx, "2026-11-22T16:00:00.000Z", "2026-11-23T16:00:00.000Z"); fmt.Sprint(got) != "[{hd17 {1 1 0 0 0}}]" {
		t.Errorf("counts after migrating %v", got)
	}
}
