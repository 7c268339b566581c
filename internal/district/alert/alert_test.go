package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/district/schedule"
	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

var (
	shanghai, _ = time.LoadLocation("Asia/Shanghai")
	// monday is a school day; its times are the district's.
	monday = func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, shanghai) }
)

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "district.db")
	s, err := store.Open(context.Background(), dsn, store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dsn
}

func newService(t *testing.T, s Store, clk *clock, webhook string) *Service {
	t.Helper()
	sched, err := schedule.New(schedule.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Opts{Store: s, Schedule: sched, Webhook: webhook, Now: clk.Now, Log: zerolog.New(&syncbuf.Buffer{}),
		DeliverEvery: 20 * time.Millisecond, CheckEvery: 20 * time.Millisecond, RetryMin: time.Second, RetryMax: 8 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func site(school, gate string) store.Site {
	return store.Site{District: "hd", School: school, Gate: gate}
}

// write commits one message of box's at site.
func write(t *testing.T, s *store.Store, m store.Message) {
	t.Helper()
	m.Topic = "gatescreen/v1/" + m.Site.String() + "/x"
	if _, err := s.Write(context.Background(), &store.Batch{Messages: []store.Message{m}}); err != nil {
		t.Fatal(err)
	}
}

func status(box string, at store.Site, st store.Status, received time.Time) store.Message {
	return store.Message{Site: at, Box: box, ReceivedAt: received, Status: &st}
}

func daily(box string, at store.Site, day string, zero bool, received time.Time) store.Message {
	return store.Message{Site: at, Box: box, ReceivedAt: received,
		Daily: &store.Daily{Day: day, ID: box + ":9", Seq: 9, Zero: zero, Body: []byte(`{}`)}}
}

func caseMessage(box string, at store.Site, seq int64, state, disposition string, received time.Time) store.Message {
	body := fmt.Sprintf(`{"id":"%s:%d","seq":%d,"kind":"case","ticket":"R-003","day":"2026-11-23","lane":"lane-2","state":%q,"disposition":%q}`,
		box, seq, seq, state, disposition)
	return store.Message{Site: at, Box: box, ReceivedAt: received, Events: []store.Event{{ID: fmt.Sprintf("%s:%d", box, seq),
		Seq: seq, Kind: "case", CapturedAt: received.UTC().Format(store.TimeFormat), Body: []byte(body)}}}
}

func alertKeys(t *testing.T, s *store.Store) string {
	t.Helper()
	alerts, err := s.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range alerts {
		keys = append(keys, a.Key)
	}
	return strings.Join(keys, " ")
}

func TestMissingDailyReportAtTheDeadline(t *testing.T) {
	s, _ := openStore(t)
	clk := &clock{t: monday(7, 0)}
	svc := newService(t, s, clk, "")
	write(t, s, daily("a-gate", site("a", "gate"), "2026-11-23", true, monday(19, 0))) // a zero report counts
	write(t, s, status("b-east", site("b", "east"), store.Status{State: "online", Since: "2026-11-22T22:00:00.000Z"}, monday(6, 0)))
	write(t, s, daily("b-west", site("b", "west"), "2026-11-23", false, monday(19, 30)))
	write(t, s, status("c-gate", site("c", "gate"), store.Status{State: "online"}, monday(20, 30))) // first seen after the deadline

	clk.Set(monday(19, 59))
	if n, err := svc.Check(context.Background(), clk.Now()); err != nil || strings.Contains(alertKeys(t, s), "2026-11-23") {
		t.Fatalf("before the deadline: %d raised, %v: %s", n, err, alertKeys(t, s))
	}
	for _, at := range []time.Time{monday(20, 0), monday(21, 0), monday(20, 45)} {
		clk.Set(at)
		if _, err := svc.Check(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}
	// The Sunday before is no school day: monday 19:59 raised nothing for it.
	if got := alertKeys(t, s); got != "daily_missing:b-east:2026-11-23" {
		t.Fatalf("alerts %q, want one for b's east gate", got)
	}
	alerts, _ := s.Alerts(context.Background())
	var data map[string]string
	if err := json.Unmarshal([]byte(alerts[0].Data), &data); err != nil || data["gate"] != "east" || data["deadline"] != "2026-11-23T12:00:00.000Z" {
		t.Errorf("data %s, %v", alerts[0].Data, err)
	}
	if !strings.Contains(alerts[0].Detail, "漏报") || !strings.Contains(alerts[0].Detail, "20:00 CST") {
		t.Errorf("detail %q", alerts[0].Detail)
	}
}

func TestBoxOfflineInsideSchoolHours(t *testing.T) {
	s, _ := openStore(t)
	clk := &clock{}
	svc := newService(t, s, clk, "")
	will := store.Status{State: "offline", Reason: "connection_lost", BootID: "b1"}
	write(t, s, status("a-gate", site("a", "gate"), will, monday(7, 0)))
	write(t, s, status("b-gate", site("b", "gate"), store.Status{State: "offline", Reason: "shutdown",
		Since: monday(5, 0).UTC().Format(store.TimeFormat)}, monday(5, 0)))
	write(t, s, status("c-gate", site("c", "gate"), store.Status{State: "online", Since: "2026-11-22T22:00:00.000Z"}, monday(6, 0)))
	check := func(at time.Time) string {
		t.Helper()
		if _, err := svc.Check(context.Background(), at); err != nil {
			t.Fatal(err)
		}
		return alertKeys(t, s)
	}
	if got := check(monday(6, 29)); got != "" {
		t.Errorf("before school hours: %q", got)
	}
	// b has been offline since 05:00: at the start of school hours it is due.
	if got := check(monday(6, 30)); got != "box_offline:b-gate:2026-11-22T21:00:00.000Z" {
		t.Errorf("at 06:30: %q", got)
	}
	if got := check(monday(7, 10)); strings.Contains(got, "a-gate") {
		t.Errorf("a offline for 10 min exactly: %q", got)
	}
	check(monday(7, 11))
	if got := check(monday(7, 30)); got != "box_offline:b-gate:2026-11-22T21:00:00.000Z box_offline:a-gate:2026-11-22T23:00:00.000Z" {
		t.Errorf("after 11 min: %q", got)
	}
	// a comes back and goes again at 17:55: 18:10 is after school hours.
	write(t, s, status("a-gate", site("a", "gate"), store.Status{State: "online", Since: monday(8, 0).UTC().Format(store.TimeFormat), BootID: "b2"}, monday(8, 0)))
	write(t, s, status("a-gate", site("a", "gate"), store.Status{State: "offline", Reason: "connection_lost", BootID: "b2"}, monday(17, 55)))
	if got := check(monday(18, 10)); strings.Count(got, "a-gate") != 1 {
		t.Errorf("after school hours: %q", got)
	}
}

// receiver is a webhook that fails its first fail requests with 503.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	fail     int
	got      []Payload
	arrivals chan Payload
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail, arrivals: make(chan Payload, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var p Payload
		if err := json.Unmarshal(body, &p); err != nil || req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Idempotency-Key") != p.Key {
			t.Errorf("webhook body %s, %v, headers %v", body, err, req.Header)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		r.got = append(r.got, p)
		r.arrivals <- p
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) keys() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for _, p := range r.got {
		keys = append(keys, fmt.Sprintf("%s#%d", p.Key, p.Attempt))
	}
	return strings.Join(keys, " ")
}

func TestWebhookRetriesWithBackoffAndSurvivesARestart(t *testing.T) {
	s, _ := openStore(t)
	rcv := newReceiver(t, 3)
	clk := &clock{t: monday(7, 0)}
	svc := newService(t, s, clk, rcv.URL+"/hook?token=secret")
	write(t, s, caseMessage("a-gate", site("a", "gate"), 1, "confirmed", "", monday(7, 0)))
	deliver := func() int {
		t.Helper()
		n, err := svc.Deliver(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Fails at 07:00, then is not due before 07:00:01; fails at :01 (next
	// in 2 s), at :03 (next in 4 s); delivered at :07.
	for _, step := range []struct {
		after time.Duration
		want  int
	}{{0, 0}, {999 * time.Millisecond, 0}, {time.Millisecond, 0}, {2 * time.Second, 0}, {3 * time.Second, 0}, {time.Second, 1}, {time.Hour, 0}} {
		clk.Add(step.after)
		if got := deliver(); got != step.want {
			t.Fatalf("at %s: delivered %d, want %d", clk.Now().Format("15:04:05.000"), got, step.want)
		}
	}
	if got := rcv.keys(); got != "case_confirmed:a-gate:2026-11-23:R-003#4" {
		t.Errorf("received %q", got)
	}
	alerts, _ := s.Alerts(context.Background())
	if a := alerts[0]; a.Attempts != 4 || a.DeliveredAt != "2026-11-22T23:00:07.000Z" || a.LastError != "" {
		t.Errorf("delivery state %+v", a)
	}
	// Another alert fails once; the service restarts (a new one on the same
	// store): the delivered alert is not sent again, the other one is.
	rcv.mu.Lock()
	rcv.fail = 1
	rcv.mu.Unlock()
	write(t, s, caseMessage("a-gate", site("a", "gate"), 2, "referred", "cdc_transfer", clk.Now()))
	deliver()
	alerts, _ = s.Alerts(context.Background())
	if a := alerts[1]; a.Attempts != 1 || !strings.Contains(a.LastError, "503") || strings.Contains(a.LastError, "secret") {
		t.Errorf("failed delivery %+v", a)
	}
	svc = newService(t, s, clk, rcv.URL+"/hook")
	clk.Add(time.Second)
	if got := deliver(); got != 1 {
		t.Errorf("after the restart: delivered %d, want 1", got)
	}
	if got := rcv.keys(); got != "case_confirmed:a-gate:2026-11-23:R-003#4 case_cdc_transfer:a-gate:2026-11-23:R-003#2" {
		t.Errorf("received %q", got)
	}
}

// A confirmed case reaches the webhook well within 2 s of its commit, and
// a receiver that is down delays only its own alerts: the store takes
// writes meanwhile.
func TestCaseAlertIsDeliveredAtOnce(t *testing.T) {
	s, _ := openStore(t)
	rcv := newReceiver(t, 1)
	sched, _ := schedule.New(schedule.Opts{})
	svc, err := New(Opts{Store: s, Schedule: sched, Webhook: rcv.URL, DeliverEvery: 100 * time.Millisecond,
		RetryMin: 100 * time.Millisecond, Log: zerolog.New(&syncbuf.Buffer{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	start := time.Now()
	write(t, s, caseMessage("a-gate", site("a", "gate"), 1, "confirmed", "", start))
	select {
	case p := <-rcv.arrivals:
		took := time.Since(start)
		if p.Kind != store.AlertCaseConfirmed || p.School != "a" || p.Gate != "gate" || p.District != "hd" || p.Attempt != 2 {
			t.Errorf("payload %+v", p)
		}
		var data map[string]any
		if err := json.Unmarshal(p.Data, &data); err != nil || data["state"] != "confirmed" {
			t.Errorf("data %s", p.Data)
		}
		t.Logf("delivered %s after the commit (the first try refused)", took)
		if took > 2*time.Second {
			t.Errorf("took %s, want within 2 s", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook within 5 s")
	}
}

func TestNewRefusesABadWebhook(t *testing.T) {
	s, _ := openStore(t)
	sched, _ := schedule.New(schedule.Opts{})
	for _, u := range []string{"ftp://x/y", "hooks.example", "http://"} {
		if _, err := New(Opts{Store: s, Schedule: sched, Webhook: u}); err == nil {
			t.Errorf("webhook %q accepted", u)
		}
	}
}

// A receiver that hangs holds up only the delivery: the rules go on
// raising, and the store takes the ingester's writes.
func TestAHungReceiverHoldsUpOnlyDelivery(t *testing.T) {
	s, _ := openStore(t)
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer hung.Close()
	defer close(release)
	write(t, s, caseMessage("a-gate", site("a", "gate"), 1, "confirmed", "", monday(7, 0)))
	write(t, s, status("b-gate", site("b", "gate"), store.Status{State: "online"}, monday(7, 0)))
	clk := &clock{t: monday(20, 1)} // past the deadline: b's report is missing
	sched, _ := schedule.New(schedule.Opts{})
	svc, err := New(Opts{Store: s, Schedule: sched, Webhook: hung.URL, Now: clk.Now, Client: &http.Client{Timeout: 5 * time.Second},
		CheckEvery: 20 * time.Millisecond, DeliverEvery: 20 * time.Millisecond, Log: zerolog.New(&syncbuf.Buffer{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(alertKeys(t, s), "daily_missing:b-gate") {
		if time.Now().After(deadline) {
			t.Fatalf("no daily_missing alert while the receiver hangs: %s", alertKeys(t, s))
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	write(t, s, caseMessage("a-gate", site("a", "gate"), 2, "referred", "cdc_transfer", clk.Now()))
	if took := time.Since(start); took > time.Second {
		t.Errorf("a write took %s while the receiver hangs", took)
	}
}

// A school with its own hours and deadline (the calendar file's school
// line) is alerted by them; the others by the district's.
func TestPerSchoolHoursAndDeadline(t *testing.T) {
	s, _ := openStore(t)
	path := filepath.Join(t.TempDir(), "calendar.txt")
	if err := os.WriteFile(path, []byte("school early hours 07:30-12:00 deadline 19:00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sched, err := schedule.New(schedule.Opts{Calendar: path})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: monday(5, 0)}
	svc, err := New(Opts{Store: s, Schedule: sched, Now: clk.Now, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	down := store.Status{State: "offline", Reason: "shutdown", Since: monday(5, 0).UTC().Format(store.TimeFormat)}
	write(t, s, status("early-gate", site("early", "gate"), down, monday(5, 0)))
	write(t, s, status("b-gate", site("b", "gate"), down, monday(5, 0)))
	check := func(at time.Time) string {
		t.Helper()
		if _, err := svc.Check(context.Background(), at); err != nil {
			t.Fatal(err)
		}
		return alertKeys(t, s)
	}
	if got := check(monday(7, 0)); !strings.Contains(got, "box_offline:b-gate") || strings.Contains(got, "early-gate") {
		t.Errorf("at 07:00 %q: want b's gate offline, not early's (its school starts at 07:30)", got)
	}
	if got := check(monday(7, 30)); !strings.Contains(got, "box_offline:early-gate") {
		t.Errorf("at 07:30 %q: want early's gate offline", got)
	}
	if got := check(monday(19, 30)); !strings.Contains(got, "daily_missing:early-gate:2026-11-23") || strings.Contains(got, "daily_missing:b-gate") {
		t.Errorf("at 19:30 %q: want early's report missing (its deadline 19:00), not yet b's", got)
	}
	if got := check(monday(20, 0)); !strings.Contains(got, "daily_missing:b-gate:2026-11-23") {
		t.Errorf("at 20:00 %q: want b's report missing", got)
	}
}
