package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/pgtest"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
)

const east = "gatescreen/v1/hd/hd17/east/"

// Every golden payload lands, every bad one is quarantined with its
// reason, and every message is acknowledged once committed.
func TestIngestThroughMosquitto(t *testing.T) {
	broker := mosquittotest.StartPlain(t)
	s := sqliteStore(t)
	in := start(t, Opts{Broker: broker.URL("tcp"), Store: s, MaxPayload: 64 << 10})
	pub := publisher(t, broker.URL("tcp"))

	publish(t, pub, east+"status", true, goldenPayload(t, "status-online.json"))
	for file, topic := range map[string]string{"readings.json": "readings", "cases.json": "cases", "health.json": "health",
		"health-calibration.json": "health", "daily.json": "daily"} {
		publish(t, pub, east+topic, topic == "daily", goldenPayload(t, file))
	}
	publish(t, pub, east+"readings", false, goldenPayload(t, "readings.json")) // a resend: duplicates
	bad := map[string]string{
		store.ReasonMalformed: `{"v":1,"box":`,
		store.ReasonSchema:    `{"v":1,"box":"hd17-east","events":[]}`,
		store.ReasonTooLarge:  string(readingsPayload("hd17-east", seqs(1000, 1400)...)),
		store.ReasonBadID:     strings.Replace(string(readingsPayload("hd17-east", 500)), `"id":"hd17-east:500"`, `"id":"hd17-west:500"`, 1),
	}
	for _, payload := range bad {
		publish(t, pub, east+"readings", false, []byte(payload))
	}
	publish(t, pub, east+"gossip", false, []byte(`{}`))
	publish(t, pub, "gatescreen/v1/hd/hd17/west/readings", false, readingsPayload("hd17-east", 600)) // east under west's prefix
	const sent = 13
	poll.Until(t, 30*time.Second, "every message acknowledged", func() bool { return in.Stats().Acked >= sent })

	st := in.Stats()
	if st.Received != sent || st.Acked != sent || st.Inserted != 9 || st.Duplicates != 5 || st.Quarantined != 6 {
		t.Errorf("stats %+v", st)
	}
	by := in.QuarantinedBy()
	for _, reason := range []string{store.ReasonMalformed, store.ReasonSchema, store.ReasonTooLarge, store.ReasonBadID, store.ReasonTopic, store.ReasonBoxPrefix} {
		if by[reason] != 1 {
			t.Errorf("quarantined by %s: %d, want 1 (%v)", reason, by[reason], by)
		}
	}
	q, err := s.Quarantine(context.Background())
	if err != nil || len(q) != 6 {
		t.Fatalf("quarantine %d rows, %v", len(q), err)
	}
	ids := eventIDs(t, s)
	for seq := 101; seq <= 109; seq++ {
		if !ids[fmt.Sprintf("hd17-east:%d", seq)] {
			t.Errorf("hd17-east:%d missing", seq)
		}
	}
	if len(ids) != 9 {
		t.Errorf("%d events, want the golden 9", len(ids))
	}
	boxes, _ := s.Boxes(context.Background())
	if len(boxes) != 1 || boxes[0].Status.State != "online" || boxes[0].LastSeq != 109 {
		t.Errorf("boxes %+v", boxes)
	}
	if d, _ := s.DailyReports(context.Background(), "2026-11-23"); len(d) != 1 || d[0].Totals.Total != 1710 {
		t.Errorf("daily %+v", d)
	}
}

func seqs(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// flaky fails every write while down.
type flaky struct {
	Writer
	down   atomic.Bool
	failed atomic.Int64
}

func (f *flaky) Write(ctx context.Context, b *store.Batch) (store.Outcome, error) {
	if f.down.Load() {
		f.failed.Add(1)
		return store.Outcome{}, errors.New("disk I/O error (the test's)")
	}
	return f.Writer.Write(ctx, b)
}

// While writes fail nothing is acknowledged; an ingester that dies then
// loses nothing, and one that sees the database come back resumes.
func TestDatabaseAwayNothingAcknowledged(t *testing.T) {
	broker := mosquittotest.StartPlain(t)
	s := sqliteStore(t)
	db := &flaky{Writer: s}
	db.down.Store(true)
	in := start(t, Opts{Broker: broker.URL("tcp"), Store: db, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	pub := publisher(t, broker.URL("tcp"))
	for i := int64(0); i < 50; i++ {
		publish(t, pub, east+"readings", false, readingsPayload("hd17-east", 2*i+1, 2*i+2))
	}
	poll.Until(t, 30*time.Second, "failed writes", func() bool { return in.Stats().WriteErrors >= 5 })
	if a := in.Stats().Acked; a != 0 {
		t.Fatalf("%d messages acknowledged while the database was away", a)
	}
	in.stop() // dies with nothing committed

	in = start(t, Opts{Broker: broker.URL("tcp"), Store: db, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	time.Sleep(100 * time.Millisecond)
	db.down.Store(false)
	poll.Until(t, 30*time.Second, "all 100 events", func() bool { n, _ := s.CountEvents(context.Background()); return n == 100 })
	if ids := eventIDs(t, s); len(ids) != 100 {
		t.Errorf("%d events", len(ids))
	}
	if !strings.Contains(in.log.String(), "database back") {
		t.Errorf("no notice of the database's return:\n%s", in.log)
	}
}

// PostgreSQL stopped for three seconds while boxes publish: ingest stops
// acknowledging, retries, resumes, and every event is there once.
func TestPostgresAwayAndBack(t *testing.T) {
	broker := mosquittotest.StartPlain(t)
	srv := pgtest.Start(t, pgtest.Opts{})
	s, err := store.Open(context.Background(), srv.NewDatabase(t), store.Opts{ClockSkew: goldenSkew})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	in := start(t, Opts{Broker: broker.URL("tcp"), Store: s, RetryMin: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	pub := publisher(t, broker.URL("tcp"))
	const messages, per = 300, 5
	for i := int64(0); i < messages; i++ {
		if i == messages/3 {
			srv.Stop()
			go func() { time.Sleep(3 * time.Second); srv.Restart() }()
		}
		var ss []int64
		for j := int64(1); j <= per; j++ {
			ss = append(ss, i*per+j)
		}
		publish(t, pub, east+"readings", false, readingsPayload("hd17-east", ss...))
		time.Sleep(5 * time.Millisecond)
	}
	poll.Until(t, 60*time.Second, "every event in PostgreSQL", func() bool {
		n, _ := s.CountEvents(context.Background())
		return n == messages*per
	})
	if ids := eventIDs(t, s); len(ids) != messages*per {
		t.Errorf("%d events, want %d", len(ids), messages*per)
	}
	if st := in.Stats(); st.WriteErrors == 0 {
		t.Errorf("no write failed while the server was stopped: %+v", st)
	}
	poll.Until(t, 30*time.Second, "every message acknowledged", func() bool { return in.Stats().Acked >= messages })
}

func TestNewRefusesBadOpts(t *testing.T) {
	ok := Opts{Broker: "tcp://127.0.0.1:1", District: "hd", Group: "g", ClientID: "c", Store: &flaky{}}
	for name, change := range map[string]func(*Opts){
		"no broker":       func(o *Opts) { o.Broker = "" },
		"no district":     func(o *Opts) { o.District = "" },
		"a / in district": func(o *Opts) { o.District = "hd/x" },
		"a + in group":    func(o *Opts) { o.Group = "g+" },
		"no client id":    func(o *Opts) { o.ClientID = "" },
		"no store":        func(o *Opts) { o.Store = nil },
	} {
		o := ok
		change(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	in, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Filter(); got != "$share/g/gatescreen/v1/hd/#" {
		t.Errorf("filter %s", got)
	}
}

// Two ingesters of one group share the district's messages: each gets some,
// and every event is stored once.
func TestSharedSubscriptionSplitsTheLoad(t *testing.T) {
	broker := mosquittotest.StartPlain(t)
	s := sqliteStore(t)
	a := start(t, Opts{Broker: broker.URL("tcp"), Store: s, ClientID: "ingest-a"})
	b := start(t, Opts{Broker: broker.URL("tcp"), Store: s, ClientID: "ingest-b"})
	pub := publisher(t, broker.URL("tcp"))
	const messages = 100
	for i := int64(1); i <= messages; i++ {
		publish(t, pub, east+"readings", false, readingsPayload("hd17-east", i))
	}
	poll.Until(t, 30*time.Second, "every message acknowledged", func() bool {
		return a.Stats().Acked+b.Stats().Acked >= messages
	})
	if a.Stats().Received == 0 || b.Stats().Received == 0 {
		t.Errorf("one ingester got everything: %+v, %+v", a.Stats(), b.Stats())
	}
	if got := a.Stats().Received + b.Stats().Received; got != messages {
		t.Errorf("%d messages received between them, want each of %d once", got, messages)
	}
	if ids := eventIDs(t, s); len(ids) != messages {
		t.Errorf("%d events", len(ids))
	}
}

// A broker that does not answer is retried until the ingester is stopped,
// which then returns at once.
func TestStopsWhileTheBrokerIsAway(t *testing.T) {
	in, err := New(Opts{Broker: fmt.Sprintf("tcp://127.0.0.1:%d", mosquittotest.FreePort(t)), District: "hd", Group: "g", ClientID: "c", Store: sqliteStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

// A daily report of a day a year before its arrival (a box's clock a year
// behind) is quarantined as clock, counted under that reason, and raises
// box_clock.
func TestYearOffDailyQuarantinedAsClock(t *testing.T) {
	broker := mosquittotest.StartPlain(t)
	s := sqliteStoreSkew(t, store.DefaultClockSkew)
	in := start(t, Opts{Broker: broker.URL("tcp"), Store: s})
	pub := publisher(t, broker.URL("tcp"))
	yearAgo := time.Now().AddDate(-1, 0, 0).UTC().Format("2006-01-02")
	publish(t, pub, east+"daily", false, []byte(strings.Replace(string(goldenPayload(t, "daily.json")), `"day": "2026-11-23"`, `"day": "`+yearAgo+`"`, 1)))
	poll.Until(t, 30*time.Second, "the daily report acknowledged", func() bool { return in.Stats().Acked >= 1 })
	if by := in.QuarantinedBy(); by[store.ReasonClock] != 1 || by[store.ReasonBoxPrefix] != 0 {
		t.Errorf("quarantined by %v: want one clock", by)
	}
	if d, _ := s.DailyReports(context.Background(), yearAgo); len(d) != 0 {
		t.Errorf("the year-off report was kept: %+v", d)
	}
	alerts, _ := s.Alerts(context.Background())
	if len(alerts) != 1 || alerts[0].Kind != store.AlertClock {
		t.Errorf("alerts %+v: want box_clock", alerts)
	}
}
