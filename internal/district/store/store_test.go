package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/testkit/pgtest"
)

// opener opens a new, empty database of one backend.
type opener func(t *testing.T) (s *Store, dsn string)

// backends runs f once per backend: the same suite for SQLite and for
// PostgreSQL (a real server, started once for all of f's subtests).
func backends(t *testing.T, f func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, func(t *testing.T) (*Store, string) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "district.db")
			return mustOpen(t, dsn), dsn
		})
	})
	t.Run("postgres", func(t *testing.T) {
		srv := pgtest.Start(t, pgtest.Opts{})
		f(t, func(t *testing.T) (*Store, string) {
			dsn := srv.NewDatabase(t)
			return mustOpen(t, dsn), dsn
		})
	})
}

func mustOpen(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	east  = Site{"hd", "hd17", "east"}
	west  = Site{"hd", "hd17", "west"}
	north = Site{"hd", "hd17", "north"}
	t0    = time.Date(2026, 11, 23, 7, 12, 5, 0, time.UTC)
)

func event(box string, seq int64, body string) Event {
	return Event{
		ID: fmt.Sprintf("%s:%d", box, seq), Seq: seq, Kind: "reading",
		CapturedAt: "2026-11-23T07:12:05.250Z", ClockSynced: true,
		Body: []byte(fmt.Sprintf(`{"id":"%s:%d","seq":%d,%s}`, box, seq, seq, body)),
	}
}

func readings(site Site, box string, events ...Event) Message {
	return Message{Topic: "gatescreen/v1/" + site.String() + "/readings", Site: site, Box: box, ReceivedAt: t0, Events: events, Payload: []byte(`{"v":1}`)}
}

func write(t *testing.T, s *Store, b *Batch) Outcome {
	t.Helper()
	out, err := s.Write(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(t *testing.T, s *Store, box string) string {
	t.Helper()
	evs, err := s.Events(context.Background(), box)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return strings.Join(out, " ")
}

func TestStore(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		for name, f := range map[string]func(*testing.T, opener){
			"EventsInSeqOrder":       testEventsInSeqOrder,
			"Duplicates":             testDuplicates,
			"Conflict":               testConflict,
			"Status":                 testStatus,
			"DailyHighestSeqWins":    testDaily,
			"Quarantine":             testQuarantine,
			"BoxBinding":             testBoxBinding,
			"ConcurrentWriters":      testConcurrentWriters,
			"ReopenKeepsEverything":  testReopen,
			"NewerSchemaIsRefused":   testNewerSchema,
			"FailedBatchLeavesNoRow": testFailedBatch,
			"CaseAlerts":             testCaseAlerts,
			"AlertDeliveryState":     testAlertDelivery,
			"ReadingCounts":          testReadingCounts,
			"Activity":               testActivity,
			"ReportsBetweenHealth":   testReportsBetweenAndHealth,
			"RecentAlerts":           testRecentAlerts,
			"Users":                  testUsers,
			"ClockAYearOff":          testClockAYearOff,
			"DailyAYearOff":          testDailyAYearOff,
			"MigrationCountedAt":     testMigrationCountedAt,
		} {
			t.Run(name, func(t *testing.T) { f(t, open) })
		}
	})
}

func testEventsInSeqOrder(t *testing.T, open opener) {
	s, _ := open(t)
	out := write(t, s, &Batch{Messages: []Message{
		readings(east, "hd17-east", event("hd17-east", 7, `"v":"a"`), event("hd17-east", 9, `"v":"b"`)),
		readings(east, "hd17-east", event("hd17-east", 3, `"v":"c"`)),
	}})
	if out.Inserted != 3 {
		t.Errorf("inserted %d, want 3", out.Inserted)
	}
	if got := ids(t, s, "hd17-east"); got != "hd17-east:3 hd17-east:7 hd17-east:9" {
		t.Errorf("events %s, want seq order", got)
	}
	boxes, err := s.Boxes(context.Background())
	if err != nil || len(boxes) != 1 {
		t.Fatalf("boxes %v, %v", boxes, err)
	}
	if b := boxes[0]; b.LastSeq != 9 || b.Site != east || b.LastReceivedAt != "2026-11-23T07:12:05.000Z" {
		t.Errorf("box %+v: want last_seq 9 at %s", b, east)
	}
	if n, err := s.LastSeq(context.Background(), "hd17-east"); n != 9 || err != nil {
		t.Errorf("LastSeq %d, %v; want 9", n, err)
	}
	if n, err := s.LastSeq(context.Background(), "hd99-none"); n != 0 || err != nil {
		t.Errorf("LastSeq of an unknown box %d, %v; want 0", n, err)
	}
	evs, _ := s.Events(context.Background(), "")
	if e := evs[0]; !bytes.Equal(e.Body, []byte(`{"id":"hd17-east:3","seq":3,"v":"c"}`)) || e.Site != east || !e.ClockSynced {
		t.Errorf("stored %+v", e)
	}
}

func testDuplicates(t *testing.T, open opener) {
	s, _ := open(t)
	b := &Batch{Messages: []Message{readings(east, "hd17-east",
		event("hd17-east", 1, `"v":"a"`), event("hd17-east", 2, `"v":"b"`), event("hd17-east", 1, `"v":"a"`))}}
	if out := write(t, s, b); out.Inserted != 2 || out.Duplicates != 1 {
		t.Errorf("first write %+v, want 2 inserted and the repeat within the batch a duplicate", out)
	}
	if out := write(t, s, b); out.Inserted != 0 || out.Duplicates != 3 || out.Conflicts != 0 {
		t.Errorf("the same batch again %+v, want 3 duplicates", out)
	}
	if n, _ := s.CountEvents(context.Background()); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

func testConflict(t *testing.T, open opener) {
	s, _ := open(t)
	write(t, s, &Batch{Messages: []Message{readings(east, "hd17-east", event("hd17-east", 1, `"v":"a"`))}})
	other := &Batch{Messages: []Message{readings(east, "hd17-east", event("hd17-east", 1, `"v":"forged"`))}}
	if out := write(t, s, other); out.Conflicts != 1 || out.Inserted != 0 {
		t.Errorf("%+v, want one conflict", out)
	}
	write(t, s, other) // redelivered: no second alert
	alerts, err := s.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("alerts %+v, want one", alerts)
	}
	a := alerts[0]
	if a.Kind != AlertConflict || a.School != "hd17" || a.Box != "hd17-east" || !strings.Contains(a.Detail, "hd17-east:1") || a.At == "" {
		t.Errorf("alert %+v", a)
	}
	evs, _ := s.Events(context.Background(), "hd17-east")
	if len(evs) != 1 || !strings.Contains(string(evs[0].Body), `"a"`) {
		t.Errorf("the first body must stay: %+v", evs)
	}
}

func testStatus(t *testing.T, open opener) {
	s, _ := open(t)
	status := func(st Status, at time.Time) Message {
		return Message{Topic: "gatescreen/v1/hd/hd17/east/status", Site: east, Box: "hd17-east", ReceivedAt: at, Status: &st}
	}
	write(t, s, &Batch{Messages: []Message{status(Status{State: "online", Since: "2026-11-23T06:00:01.000Z", BootID: "b1", Version: "0.1.0"}, t0)}})
	will := Status{State: "offline", Reason: "connection_lost", BootID: "b1", Version: "0.1.0"}
	write(t, s, &Batch{Messages: []Message{status(will, t0.Add(time.Minute))}})
	// The retained will again, at the next subscribe: it went offline then.
	write(t, s, &Batch{Messages: []Message{status(will, t0.Add(time.Hour))}})
	boxes, err := s.Boxes(context.Background())
	if err != nil || len(boxes) != 1 {
		t.Fatalf("boxes %+v, %v", boxes, err)
	}
	b := boxes[0]
	if b.Status.State != "offline" || b.Status.Reason != "connection_lost" || b.Status.Since != "" || b.StatusReceivedAt != "2026-11-23T07:13:05.000Z" {
		t.Errorf("status %+v at %s, want the last will", b.Status, b.StatusReceivedAt)
	}
}

func testDaily(t *testing.T, open opener) {
	s, _ := open(t)
	daily := func(seq, total int64) Message {
		d := &Daily{Day: "2026-11-23", ID: fmt.Sprintf("hd17-east:%d", seq), Seq: seq, Totals: Counts{Total: total, Pass: total}, Body: []byte(`{}`)}
		return Message{Topic: "gatescreen/v1/hd/hd17/east/daily", Site: east, Box: "hd17-east", ReceivedAt: t0, Daily: d}
	}
	for _, m := range []Message{daily(10, 100), daily(8, 80)} { // the older report arrives last
		write(t, s, &Batch{Messages: []Message{m}})
	}
	got, err := s.DailyReports(context.Background(), "2026-11-23")
	if err != nil || len(got) != 1 || got[0].Seq != 10 || got[0].Totals.Total != 100 || got[0].School != "hd17" {
		t.Fatalf("daily %+v, %v: want seq 10's", got, err)
	}
	write(t, s, &Batch{Messages: []Message{daily(12, 120)}})
	got, _ = s.DailyReports(context.Background(), "2026-11-23")
	if len(got) != 1 || got[0].Seq != 12 || got[0].Totals.Total != 120 {
		t.Errorf("daily %+v: want seq 12's", got)
	}
}

func testQuarantine(t *testing.T, open opener) {
	s, _ := open(t)
	big := bytes.Repeat([]byte{0xff}, MaxQuarantinedPayload+10) // not even UTF-8
	out := write(t, s, &Batch{Quarantine: []Quarantined{
		{Topic: "gatescreen/v1/hd/hd17/east/readings", Reason: ReasonMalformed, Detail: "unexpected end", Payload: []byte(`{"v":1,`), Size: 7, ReceivedAt: t0},
		{Topic: "gatescreen/v1/hd/hd17/east/readings", Reason: ReasonTooLarge, Detail: "over 1 MiB", Payload: big, Size: len(big), ReceivedAt: t0},
	}})
	if out.Quarantined != 2 {
		t.Errorf("%+v, want 2 quarantined", out)
	}
	q, err := s.Quarantine(context.Background())
	if err != nil || len(q) != 2 {
		t.Fatalf("quarantine %+v, %v", q, err)
	}
	if q[0].Reason != ReasonMalformed || string(q[0].Payload) != `{"v":1,` || q[0].Detail != "unexpected end" {
		t.Errorf("first %+v", q[0])
	}
	if q[1].Reason != ReasonTooLarge || len(q[1].Payload) != MaxQuarantinedPayload || q[1].Size != int64(len(big)) {
		t.Errorf("second: reason %s, %d bytes kept of %d", q[1].Reason, len(q[1].Payload), q[1].Size)
	}
}

func testBoxBinding(t *testing.T, open opener) {
	s, dsn := open(t)
	write(t, s, &Batch{Messages: []Message{readings(east, "hd17-east", event("hd17-east", 1, `"v":"a"`))}})
	out := write(t, s, &Batch{Messages: []Message{
		readings(east, "intruder", event("intruder", 1, `"v":"x"`)),   // another box under east's prefix
		readings(west, "hd17-east", event("hd17-east", 2, `"v":"x"`)), // east under another prefix
		readings(west, "hd17-west", event("hd17-west", 1, `"v":"w"`)), // a new box, fine
		readings(west, "hd17-west", event("hd17-west", 2, `"v":"w"`)),
	}})
	if out.Quarantined != 2 || out.Inserted != 2 {
		t.Errorf("%+v, want 2 quarantined and west's 2 events", out)
	}
	q, _ := s.Quarantine(context.Background())
	for _, r := range q {
		if r.Reason != ReasonBoxPrefix || string(r.Payload) != `{"v":1}` {
			t.Errorf("quarantined %+v", r)
		}
	}
	if got := ids(t, s, ""); got != "hd17-east:1 hd17-west:1 hd17-west:2" {
		t.Errorf("events %s", got)
	}
	// The same holds for a store that learns the bindings from the database.
	s2 := mustOpen(t, dsn)
	if out := write(t, s2, &Batch{Messages: []Message{readings(east, "intruder", event("intruder", 2, `"v":"x"`))}}); out.Quarantined != 1 {
		t.Errorf("a second store: %+v, want the intruder quarantined", out)
	}
}

func testConcurrentWriters(t *testing.T, open opener) {
	s, dsn := open(t)
	s2 := mustOpen(t, dsn)
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, st := range []*Store{s, s2} {
		wg.Add(1)
		go func(st *Store) {
			defer wg.Done()
			for i := int64(1); i <= n; i += 10 {
				var evs []Event
				for j := i; j < i+10; j++ {
					evs = append(evs, event("hd17-east", j, `"v":"same"`))
				}
				if _, err := st.Write(context.Background(), &Batch{Messages: []Message{readings(east, "hd17-east", evs...)}}); err != nil {
					errs <- err
					return
				}
			}
		}(st)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if c, _ := s.CountEvents(context.Background()); c != n {
		t.Errorf("%d events, want %d", c, n)
	}
	if alerts, _ := s.Alerts(context.Background()); len(alerts) != 0 {
		t.Errorf("alerts %+v, want none", alerts)
	}
}

func testReopen(t *testing.T, open opener) {
	s, dsn := open(t)
	write(t, s, &Batch{Messages: []Message{readings(east, "hd17-east", event("hd17-east", 1, `"v":"a"`))}})
	s.Close()
	s2 := mustOpen(t, dsn)
	if got := ids(t, s2, ""); got != "hd17-east:1" {
		t.Errorf("after reopening: %q", got)
	}
}

func testNewerSchema(t *testing.T, open opener) {
	s, dsn := open(t)
	if _, err := s.b.pool().exec(context.Background(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '')`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dsn, Opts{})
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

func testFailedBatch(t *testing.T, open opener) {
	s, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Write(ctx, &Batch{Messages: []Message{readings(east, "hd17-east", event("hd17-east", 1, `"v":"a"`))}}); err == nil {
		t.Fatal("a write with a cancelled context succeeded")
	}
	if got := ids(t, s, ""); got != "" {
		t.Errorf("events %q after a failed write", got)
	}
	// The binding of the failed batch was never committed: it must not be
	// believed either.
	out := write(t, s, &Batch{Messages: []Message{readings(east, "hd17-east", event("hd17-east", 1, `"v":"a"`))}})
	if out.Inserted != 1 {
		t.Errorf("%+v after the failure", out)
	}
}

func TestMigrationsAreNumberedWithoutHoles(t *testing.T) {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("%v, %v", ms, err)
	}
}

func TestOpenRefusesAnUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"district.db", "mysql://x", "sqlite:"} {
		if _, err := Open(context.Background(), dsn, Opts{}); err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
	if got := redact("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redact kept the password: %s", got)
	}
}
