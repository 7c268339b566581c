package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/district/schedule"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

// The fixture's district on Monday 2026-11-23 at 20:30, half an hour past
// the 20:00 deadline: hd17 (two gates) reported on time, hd20 never did
// (漏报) and its clock is a year behind, hd30 reported at 20:10 (迟报).
var (
	loc, _   = time.LoadLocation("Asia/Shanghai")
	fixedNow = time.Date(2026, 11, 23, 20, 30, 0, 0, loc)
	morning  = time.Date(2026, 11, 23, 7, 0, 0, 0, loc)
)

const (
	bureauName, bureauPassword = "wang", "bureau-secret-1"
	cdcName, cdcPassword       = "li", "cdc-secret-2"
)

type fixture struct {
	st  *store.Store
	srv *Server
	mu  sync.Mutex
	now time.Time
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func ts(t time.Time) string { return t.UTC().Format(store.TimeFormat) }

var seqs = map[string]int64{}

// ev is an event of box's, captured at at, with body's fields.
func ev(box, kind string, at time.Time, drill bool, fields string) store.Event {
	seqs[box]++
	seq := seqs[box]
	id := fmt.Sprintf("%s:%d", box, seq)
	return store.Event{ID: id, Seq: seq, Kind: kind, CapturedAt: ts(at), ClockSynced: true, Drill: drill,
		Body: []byte(fmt.Sprintf(`{"id":%q,"seq":%d,"kind":%q,%s}`, id, seq, kind, fields))}
}

func msg(site store.Site, box, topic string, at time.Time, evs ...store.Event) store.Message {
	return store.Message{Topic: "gatescreen/v1/" + site.String() + "/" + topic, Site: site, Box: box, ReceivedAt: at, Events: evs, Payload: []byte(`{}`)}
}

func daily(site store.Site, box string, at time.Time, total, flag int64) store.Message {
	e := ev(box, "daily", at, false, `"day":"2026-11-23"`)
	m := msg(site, box, "daily", at, e)
	m.Events = nil
	m.Daily = &store.Daily{Day: "2026-11-23", ID: e.ID, Seq: e.Seq, Totals: store.Counts{Total: total, Pass: total - flag, Flag: flag}, Zero: total == 0, Body: e.Body}
	return m
}

func status(site store.Site, box string, at time.Time, st store.Status) store.Message {
	return store.Message{Topic: "gatescreen/v1/" + site.String() + "/status", Site: site, Box: box, ReceivedAt: at, Status: &st, Payload: []byte(`{}`)}
}

func reading(box, verdict string, at time.Time, drill bool) store.Event {
	return ev(box, "reading", at, drill, fmt.Sprintf(`"verdict":%q,"lane":"lane-1"`, verdict))
}

func caseEv(box, ticket, state, disposition string, at time.Time) store.Event {
	f := fmt.Sprintf(`"ticket":%q,"day":"2026-11-23","lane":"lane-2","state":%q,"flag_c":37.8,"recheck_c":37.9`, ticket, state)
	if disposition != "" {
		f += fmt.Sprintf(`,"disposition":%q`, disposition)
	}
	return ev(box, "case", at, false, f)
}

// newFixture is the district above in a new SQLite file, with a bureau
// and a CDC account.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	seqs = map[string]int64{}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "district.db"), store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hd17e, hd17w := store.Site{District: "hd", School: "hd17", Gate: "east"}, store.Site{District: "hd", School: "hd17", Gate: "west"}
	hd20, hd30 := store.Site{District: "hd", School: "hd20", Gate: "main"}, store.Site{District: "hd", School: "hd30", Gate: "main"}
	m := morning
	batch := &store.Batch{Messages: []store.Message{
		status(hd17e, "hd17-east", m, store.Status{State: "online", Since: ts(m.Add(-time.Hour)), BootID: "b1", Version: "0.1.0"}),
		status(hd17w, "hd17-west", m, store.Status{State: "online", Since: ts(m.Add(-time.Hour)), BootID: "b2", Version: "0.1.0"}),
		status(hd20, "hd20-main", m, store.Status{State: "online", Since: ts(m.Add(-time.Hour)), BootID: "b3", Version: "0.1.0"}),
		status(hd30, "hd30-main", m, store.Status{State: "online", Since: ts(m.Add(-time.Hour)), BootID: "b4", Version: "0.1.0"}),
		msg(hd17e, "hd17-east", "readings", m.Add(time.Minute),
			reading("hd17-east", "pass", m, false), reading("hd17-east", "pass", m, false), reading("hd17-east", "pass", m, false),
			reading("hd17-east", "flag", m, false), reading("hd17-east", "retake", m, false), reading("hd17-east", "invalid", m, false),
			reading("hd17-east", "flag", m, true)), // a drill: not counted
		msg(hd17w, "hd17-west", "readings", m.Add(time.Minute), reading("hd17-west", "pass", m, false), reading("hd17-west", "flag", m, false)),
		msg(hd20, "hd20-main", "readings", m.Add(time.Minute), reading("hd20-main", "pass", m, false)),
		// hd20's clock went a year behind (synchronised, as far as it
		// knows): a clock warning, not a 525,600-minute backlog.
		msg(hd20, "hd20-main", "readings", m.Add(10*time.Minute), reading("hd20-main", "pass", m.Add(10*time.Minute).AddDate(-1, 0, 0), false)),
		msg(hd17e, "hd17-east", "cases", m.Add(2*time.Minute),
			caseEv("hd17-east", "R-001", "awaiting_recheck", "", m.Add(time.Minute)),
			caseEv("hd17-east", "R-001", "confirmed", "", m.Add(2*time.Minute)),
			caseEv("hd17-east", "R-001", "referred", "cdc_transfer", m.Add(3*time.Minute)),
			caseEv("hd17-east", "R-002", "awaiting_recheck", "", m.Add(4*time.Minute)),
			caseEv("hd17-east", "R-002", "cleared", "", m.Add(5*time.Minute))),
		msg(hd17w, "hd17-west", "health", m.Add(3*time.Minute),
			ev("hd17-west", "health", m.Add(3*time.Minute), false, `"component":"device","device":"ir-3","state":"down","reason":"no frames for 30s"`),
			ev("hd17-west", "calibration", m.Add(3*time.Minute), false, `"device":"ir-2","offset_c":0.7,"spread_c":0.1,"calibration_id":9`),
			// An offset of exactly 0 is left out of the screen's JSON
			// (omitempty): the page must still draw it, and everything after.
			ev("hd17-west", "calibration", m.Add(3*time.Minute), false, `"device":"ir-4","offset_c":0,"spread_c":0.6,"calibration_id":10`)),
		// The west gate's connection dropped at 19:00: the broker's last will.
		status(hd17w, "hd17-west", m.Add(12*time.Hour), store.Status{State: "offline", Reason: "connection_lost", BootID: "b2", Version: "0.1.0"}),
		daily(hd17e, "hd17-east", time.Date(2026, 11, 23, 18, 0, 0, 0, loc), 6, 1),
		daily(hd17w, "hd17-west", time.Date(2026, 11, 23, 18, 0, 0, 0, loc), 2, 1),
		daily(hd30, "hd30-main", time.Date(2026, 11, 23, 20, 10, 0, 0, loc), 0, 0), // a zero report, late
	}}
	if _, err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, a := range []store.NewAlert{
		{Kind: store.AlertDailyMissing, School: "hd20", Box: "hd20-main", At: fixedNow.Add(-25 * time.Minute), Key: "hd20-main:2026-11-23", Data: []byte(`{"gate":"main","day":"2026-11-23"}`)},
		{Kind: store.AlertBoxOffline, School: "hd17", Box: "hd17-west", At: fixedNow.Add(-time.Hour), Key: "hd17-west:x"},
	} {
		if _, err := st.RaiseAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range [][3]string{{bureauName, store.RoleBureau, bureauPassword}, {cdcName, store.RoleCDC, cdcPassword}} {
		h, err := hashPassword(u[2], testMemory)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddUser(ctx, store.User{Name: u[0], Role: u[1], PasswordHash: h}, morning); err != nil {
			t.Fatal(err)
		}
	}
	sched, err := schedule.New(schedule.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, now: fixedNow}
	f.srv, err = New(Opts{Store: st, Schedule: sched, Now: f.clock, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if f.srv.dummy, err = hashPassword("no such user", testMemory); err != nil {
		t.Fatal(err)
	}
	return f
}

// testMemory is the tests' argon2id memory (KiB): cheap under -race.
const testMemory = 1024

// client is a browser-like client of a test server: cookies, no redirects
// followed.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (f *fixture) start(t *testing.T) *client {
	t.Helper()
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: ts.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	c.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	_, page := c.do("GET", path, nil, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no CSRF token on %s:\n%s", path, page)
	}
	return m[1]
}

// login posts the login form; it returns the response's status.
func (c *client) login(name, password string) (int, string) {
	c.t.Helper()
	resp, page := c.do("POST", "/login", url.Values{"csrf": {c.csrf("/login")}, "name": {name}, "password": {password}}, nil)
	return resp.StatusCode, page
}
