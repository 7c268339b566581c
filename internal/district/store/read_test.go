package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// reading is a reading event of box's with its verdict, captured at at.
func reading(box string, seq int64, verdict, at string, synced, drill bool) Event {
	return Event{ID: fmt.Sprintf("%s:%d", box, seq), Seq: seq, Kind: "reading", CapturedAt: at, ClockSynced: synced, Drill: drill,
		Body: []byte(fmt.Sprintf(`{"id":"%s:%d","seq":%d,"kind":"reading","verdict":%q}`, box, seq, seq, verdict))}
}

func testReadingCounts(t *testing.T, open opener) {
	s, _ := open(t)
	other := Site{"hd", "hd20", "gate"}
	day := "2026-11-23T07:00:00.000Z"
	m := readings(other, "hd20-gate", reading("hd20-gate", 1, "pass", day, true, false))
	write(t, s, &Batch{Messages: []Message{
		readings(east, "hd17-east",
			reading("hd17-east", 1, "pass", day, true, false),
			reading("hd17-east", 2, "pass", day, true, false),
			reading("hd17-east", 3, "flag", day, true, false),
			reading("hd17-east", 4, "retake", day, true, false),
			reading("hd17-east", 5, "invalid", day, true, false),
			reading("hd17-east", 6, "flag", day, true, true),                         // a drill: not counted
			reading("hd17-east", 7, "pass", "2026-11-22T07:00:00.000Z", true, false), // the day before
		),
		readings(west, "hd17-west", reading("hd17-west", 1, "flag", day, true, false)),
		m,
	}})
	got, err := s.ReadingCounts(context.Background(), "2026-11-22T16:00:00.000Z", "2026-11-23T16:00:00.000Z")
	if err != nil {
		t.Fatal(err)
	}
	want := []SchoolCounts{
		{"hd17", Counts{Total: 6, Pass: 2, Flag: 2, Retake: 1, Invalid: 1}},
		{"hd20", Counts{Total: 1, Pass: 1}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts %+v, want %+v", got, want)
	}
}

func testActivity(t *testing.T, open opener) {
	s, _ := open(t)
	write(t, s, &Batch{Messages: []Message{
		readings(east, "hd17-east",
			reading("hd17-east", 1, "pass", "2025-11-23T07:00:00.000Z", false, false), // a clock a year off
			reading("hd17-east", 2, "pass", "2026-11-23T07:00:00.000Z", true, false),
		),
		casesMessage(caseEvent("hd17-east", 9, "R-1", "awaiting_recheck", "", false)),
	}})
	// A box bound by its status alone has sent no event.
	st := Status{State: "online", Since: "2026-11-23T06:00:01.000Z", BootID: "b", Version: "0.1.0"}
	write(t, s, &Batch{Messages: []Message{{Topic: "gatescreen/v1/hd/hd17/west/status", Site: west, Box: "hd17-west", ReceivedAt: t0, Status: &st}}})
	got, err := s.Activity(context.Background(), "2026-11-23T00:00:00.000Z")
	if err != nil {
		t.Fatal(err)
	}
	want := []BoxActivity{
		{Box: "hd17-east", Kind: "case", CapturedAt: "2026-11-23T07:30:00.000Z", ReceivedAt: "2026-11-23T07:12:05.000Z", CountedAt: "2026-11-23T07:30:00.000Z", ClockSynced: true, Unsynced: 1},
		{Box: "hd17-west", ClockSynced: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("activity %+v, want %+v", got, want)
	}
	if got, _ := s.Activity(context.Background(), "2026-11-24T00:00:00.000Z"); len(got) != 2 || got[0].Unsynced != 0 {
		t.Errorf("activity since the next day %+v: want no unsynced event", got)
	}
}

func testReportsBetweenAndHealth(t *testing.T, open opener) {
	s, _ := open(t)
	var msgs []Message
	for i, day := range []string{"2026-11-20", "2026-11-21", "2026-11-23"} {
		seq := int64(10 + i)
		d := &Daily{Day: day, ID: fmt.Sprintf("hd17-east:%d", seq), Seq: seq, Totals: Counts{Total: 100, Pass: 99, Flag: 1}, Body: []byte(`{}`)}
		msgs = append(msgs, Message{Topic: "gatescreen/v1/hd/hd17/east/daily", Site: east, Box: "hd17-east", ReceivedAt: t0, Daily: d})
	}
	health := readings(east, "hd17-east",
		Event{ID: "hd17-east:20", Seq: 20, Kind: "health", CapturedAt: "2026-11-23T07:00:00.000Z", ClockSynced: true, Body: []byte(`{"kind":"health"}`)},
		Event{ID: "hd17-east:21", Seq: 21, Kind: "calibration", CapturedAt: "2026-11-23T07:01:00.000Z", ClockSynced: true, Body: []byte(`{"kind":"calibration"}`)},
		Event{ID: "hd17-east:22", Seq: 22, Kind: "health", CapturedAt: "2026-11-20T07:00:00.000Z", ClockSynced: true, Body: []byte(`{"kind":"health"}`)},
	)
	health.Topic = "gatescreen/v1/hd/hd17/east/health"
	write(t, s, &Batch{Messages: append(msgs, health)})
	got, err := s.DailyReportsBetween(context.Background(), "2026-11-21", "2026-11-23")
	if err != nil || len(got) != 2 || got[0].Day != "2026-11-21" || got[1].Day != "2026-11-23" || got[1].Totals.Flag != 1 {
		t.Errorf("reports between %+v, %v: want the 21st's and the 23rd's", got, err)
	}
	evs, err := s.HealthEvents(context.Background(), "2026-11-23T00:00:00.000Z")
	if err != nil || len(evs) != 2 || evs[0].Kind != "health" || evs[1].Kind != "calibration" {
		t.Errorf("health events %+v, %v: want seq 20 and 21", evs, err)
	}
}

func testRecentAlerts(t *testing.T, open opener) {
	s, _ := open(t)
	for i, at := range []time.Time{t0.Add(-48 * time.Hour), t0, t0.Add(time.Minute)} {
		if _, err := s.RaiseAlert(context.Background(), NewAlert{Kind: AlertDailyMissing, School: "hd17", Box: "hd17-east", At: at, Key: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecentAlerts(context.Background(), t0.Add(-time.Hour).Format(TimeFormat), nil, 10)
	if err != nil || len(got) != 2 || got[0].Key != AlertDailyMissing+":2" || got[1].Key != AlertDailyMissing+":1" {
		t.Errorf("recent alerts %+v, %v: want the last two, newest first", got, err)
	}
	if got, _ := s.RecentAlerts(context.Background(), "", nil, 1); len(got) != 1 || got[0].Key != AlertDailyMissing+":2" {
		t.Errorf("recent alerts limit 1: %+v", got)
	}
	// The kinds are chosen before the limit.
	if _, err := s.RaiseAlert(context.Background(), NewAlert{Kind: AlertBoxOffline, School: "hd17", Box: "hd17-east", At: t0.Add(2 * time.Minute), Key: "x"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RecentAlerts(context.Background(), "", []string{AlertDailyMissing, AlertCaseConfirmed}, 1); err != nil || len(got) != 1 || got[0].Key != AlertDailyMissing+":2" {
		t.Errorf("recent daily_missing or case_confirmed alerts, limit 1: %+v, %v", got, err)
	}
}

func testUsers(t *testing.T, open opener) {
	s, _ := open(t)
	ctx := context.Background()
	u := User{Name: "wang", Role: RoleBureau, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA"}
	if err := s.AddUser(ctx, u, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(ctx, User{Name: "wang", Role: RoleCDC, PasswordHash: "x"}, t0); !errors.Is(err, ErrUserExists) {
		t.Errorf("second wang: %v, want ErrUserExists", err)
	}
	if err := s.AddUser(ctx, User{Name: "li", Role: "admin", PasswordHash: "x"}, t0); err == nil {
		t.Error("role admin accepted")
	}
	got, ok, err := s.UserByName(ctx, "wang")
	u.CreatedAt = "2026-11-23T07:12:05.000Z"
	if err != nil || !ok || got != u {
		t.Errorf("wang: %+v %v %v, want %+v", got, ok, err, u)
	}
	if _, ok, err := s.UserByName(ctx, "li"); ok || err != nil {
		t.Errorf("li: %v %v, want none", ok, err)
	}

	if err := s.AddUser(ctx, User{Name: "chen", Role: RoleCDC, PasswordHash: "h-chen"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "wang", "h-new"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.UserByName(ctx, "wang"); got.PasswordHash != "h-new" || got.Role != RoleBureau {
		t.Errorf("wang after SetPassword: %+v", got)
	}
	if err := s.SetPassword(ctx, "li", "x"); !errors.Is(err, ErrNoUser) {
		t.Errorf("SetPassword of li: %v, want ErrNoUser", err)
	}
	list, err := s.Users(ctx)
	want := []User{{Name: "chen", Role: RoleCDC, CreatedAt: "2026-11-23T08:12:05.000Z"}, {Name: "wang", Role: RoleBureau, CreatedAt: "2026-11-23T07:12:05.000Z"}}
	if err != nil || !slices.Equal(list, want) {
		t.Errorf("Users: %+v, %v; want %+v", list, err, want)
	}
	if err := s.RemoveUser(ctx, "wang"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.UserByName(ctx, "wang"); ok {
		t.Error("wang still there after RemoveUser")
	}
	if err := s.RemoveUser(ctx, "wang"); !errors.Is(err, ErrNoUser) {
		t.Errorf("RemoveUser of wang again: %v, want ErrNoUser", err)
	}
}
