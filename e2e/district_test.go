//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/district/alert"
	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/pgtest"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
	"github.com/gatescreen/gatescreen/internal/testkit/testbinary"
)

// districtBin is the district's binary, built on first use.
var districtBin = &testbinary.Binary{Package: "../cmd/gatescreen-district"}

// The district's side end to end, issue #23's "must show": 20 boxes, 4 of
// them the real gatescreen daemon screening simulated gates and 16 publishing
// the contract's payloads, into one Mosquitto; from it two ingesters (two
// shared-subscription groups, so each takes every message) write SQLite and
// PostgreSQL, and a serve beside each raises the alerts. Every event id in
// the real boxes' stores and every synthetic one is in each database
// exactly once; a case confirmed on re-check reaches the webhook within 2 s
// while the readings flow; at the report deadline only the school that sent
// no daily report is alerted.
func TestTwentyBoxesIntoTheDistrict(t *testing.T) {
	const realBoxes, fakeBoxes, batches, perBatch = 4, 16, 10, 50
	loc, err := time.LoadLocation("Asia/Shanghai") // the rigs' and the district's zone
	if err != nil {
		t.Fatal(err)
	}
	// What takes long to start comes first, so that the deadline below
	// falls after the boxes are first seen, however loaded the machine.
	districtBin.Path(t)
	mq := mosquittotest.StartPlain(t)
	hooks := newHookLog()
	hook := httptest.NewServer(hooks)
	t.Cleanup(hook.Close)
	backends := map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "district.db"),
		"postgres": pgtest.Start(t, pgtest.Opts{}).NewDatabase(t),
	}
	// The deadline falls inside the test: the boxes are first seen before it
	// (a box first seen after a deadline owes nothing), and it passes while
	// they drain. Close to midnight the day would change under the test.
	now := time.Now().In(loc)
	if now.Hour() == 23 && now.Minute() >= 56 {
		time.Sleep(time.Until(time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 30, 0, loc)))
		now = time.Now().In(loc)
	}
	deadline := time.Date(now.Year(), now.Month(), now.Day(), now.Hour(), now.Minute()+2, 0, 0, loc)
	today := now.Format("2006-01-02")
	// Today is a school day whatever the weekday the test runs on.
	calendar := filepath.Join(t.TempDir(), "calendar.txt")
	if err := os.WriteFile(calendar, []byte(today+" school the e2e run\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for name, dsn := range backends {
		startDistrict(t, "subscribed", "ingest", "-broker", mq.URL("tcp"), "-district", district, "-group", name,
			"-client-id", "district-"+name, "-db", dsn, "-batch", "200")
		startDistrict(t, "serving alerts", "serve", "-db", dsn, "-webhook", hook.URL+"/"+name,
			"-report-deadline", deadline.Format("15:04"), "-timezone", loc.String(), "-calendar", calendar,
			"-check-every", "1s", "-offline-after", "1h", "-listen", "127.0.0.1:0")
	}

	// The real boxes: the daemon, its daily report sent at once (due at
	// 00:00, so owed on start), a busy gate for 20 s.
	var rigs []*rig
	for i := 1; i <= realBoxes; i++ {
		sc := scenario(t, strings.Replace(busyGate, "duration: 0s", "duration: 20s", 1))
		r := newRig(t, sc, func(c *config.Config) {
			c.Site.School, c.Site.BoxID = fmt.Sprintf("school-%d", i), fmt.Sprintf("school-%d-%s", i, gateName)
			c.Uplink.Broker = mq.URL("tcp")
			c.Reports.DailyAt = "00:00"
		})
		r.start(true)
		rigs = append(rigs, r)
	}
	// The synthetic boxes; the last sends no daily report.
	want := map[string]bool{}
	var fakes []*fakeBox
	for i := realBoxes + 1; i <= realBoxes+fakeBoxes; i++ {
		fb := newFakeBox(t, mq.URL("tcp"), fmt.Sprintf("school-%d", i))
		fakes = append(fakes, fb)
	}
	var wg sync.WaitGroup
	for _, fb := range fakes {
		wg.Go(func() {
			for range batches {
				fb.readings(t, perBatch)
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	// A confirmed case while the readings flow.
	time.Sleep(300 * time.Millisecond)
	caseBox := fakes[0]
	published := time.Now()
	caseBox.confirmedCase(t, today)
	wg.Wait()
	for _, fb := range fakes[:len(fakes)-1] {
		fb.daily(t, today)
	}
	late := fakes[len(fakes)-1]
	for _, fb := range fakes {
		for id := range fb.ids {
			want[id] = true
		}
	}
	for name := range backends {
		a := hooks.wait(t, name, store.AlertCaseConfirmed, 10*time.Second)
		if took := a.received.Sub(published); took > 2*time.Second {
			t.Errorf("%s: the confirmed case's alert took %s, want within 2 s", name, took)
		} else {
			t.Logf("%s: published → webhook %s", name, took)
		}
		if a.Box != caseBox.box {
			t.Errorf("%s: case alert %+v, want box %s", name, a.Payload, caseBox.box)
		}
	}

	for _, r := range rigs {
		<-r.gate().Done()
		r.waitDrained()
		r.stop()
		for id := range r.storedIDs() {
			want[id] = true
		}
	}
	for name, dsn := range backends {
		db, err := store.Open(context.Background(), dsn, store.Opts{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var seen map[string]int
		stored := func() map[string]int {
			ids := map[string]int{}
			evs, err := db.Events(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				ids[e.ID]++ // daily reports too, which are also in daily_reports
			}
			return ids
		}
		poll.Until(t, long, name+": every event in the database", func() bool {
			seen = stored()
			for id := range want {
				if seen[id] == 0 {
					return false
				}
			}
			return true
		})
		time.Sleep(500 * time.Millisecond) // a repeat would be in by now
		seen = stored()
		var twice, unknown []string
		for id, n := range seen {
			if n != 1 {
				twice = append(twice, id)
			}
			if !want[id] {
				unknown = append(unknown, id)
			}
		}
		if len(twice)+len(unknown) > 0 {
			t.Errorf("%s: stored more than once %v; stored but never produced %v", name, twice[:min(10, len(twice))], unknown[:min(10, len(unknown))])
		}
		if q, err := db.Quarantine(context.Background()); err != nil || len(q) > 0 {
			t.Errorf("%s: quarantined %d payloads (%v), e.g. %+v", name, len(q), err, q[:min(1, len(q))])
		}
		dailies, err := db.DailyReports(context.Background(), today)
		if err != nil {
			t.Fatal(err)
		}
		var reported []string
		for _, d := range dailies {
			reported = append(reported, d.Box)
		}
		if len(reported) != realBoxes+fakeBoxes-1 || slices.Contains(reported, late.box) {
			t.Errorf("%s: daily reports of %s from %d boxes %v, want every box's but %s", name, today, len(reported), reported, late.box)
		}
		t.Logf("%s: %d ids, each once", name, len(want))
	}

	// The deadline passes; one alert per gate without a report, for the
	// late school only.
	time.Sleep(time.Until(deadline) + 3*time.Second)
	for name := range backends {
		a := hooks.wait(t, name, store.AlertDailyMissing, 30*time.Second)
		time.Sleep(2 * time.Second) // a wrong second alert would come within a check or two
		if got := hooks.boxes(name, store.AlertDailyMissing); !slices.Equal(got, []string{late.box}) || a.School != late.school {
			t.Errorf("%s: daily_missing alerts for %v (first %+v), want only %s", name, got, a.Payload, late.box)
		}
	}
	if t.Failed() {
		return
	}
	figures(t, "%d boxes (%d real daemons) → Mosquitto → ingest into SQLite and PostgreSQL: %d event ids, each once in both; a confirmed case alerted within 2 s; 漏报 alert for %s only",
		realBoxes+fakeBoxes, realBoxes, len(want), late.school)
}

// startDistrict starts a gatescreen-district command and waits for its log
// line ready; it is killed at the end of the test.
func startDistrict(t *testing.T, ready, command string, args ...string) {
	t.Helper()
	out := &syncbuf.Buffer{}
	cmd := exec.Command(districtBin.Path(t), append([]string{command, "-log-format", "json"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("gatescreen-district %s on SIGTERM: %v\n%s", command, err, lastLines(out.String(), 20))
		}
	})
	poll.Until(t, long, "gatescreen-district "+command+" to be ready", func() bool {
		return strings.Contains(out.String(), `"message":"`+ready+`"`)
	})
}

// hookLog is a webhook receiver keeping every alert by the path it came to.
type hookLog struct {
	mu   sync.Mutex
	got  map[string][]receivedAlert
	cond *sync.Cond
}

type receivedAlert struct {
	alert.Payload
	received time.Time
}

func newHookLog() *hookLog {
	h := &hookLog{got: map[string][]receivedAlert{}}
	h.cond = sync.NewCond(&h.mu)
	return h
}

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	var p alert.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	path := strings.TrimPrefix(r.URL.Path, "/")
	h.got[path] = append(h.got[path], receivedAlert{p, at})
	h.mu.Unlock()
	h.cond.Broadcast()
}

// wait returns the first alert of kind to path, failing t after within.
func (h *hookLog) wait(t *testing.T, path, kind string, within time.Duration) receivedAlert {
	t.Helper()
	var found *receivedAlert
	poll.Until(t, within, path+" webhook: a "+kind+" alert", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, a := range h.got[path] {
			if a.Kind == kind {
				found = &a
				return true
			}
		}
		return false
	})
	return *found
}

// boxes lists the boxes of the alerts of kind to path, sorted.
func (h *hookLog) boxes(path, kind string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.got[path] {
		if a.Kind == kind {
			out = append(out, a.Box)
		}
	}
	slices.Sort(out)
	return out
}

// wireTime is the contract's one time format.
const wireTime = "2006-01-02T15:04:05.000Z"

// fakeBox publishes the contract's payloads (the golden examples of
// testdata/mqtt with this box's ids) as a box would: status online retained
// with the offline one as its last will, QoS 1, seq in order.
type fakeBox struct {
	school, box string
	c           paho.Client
	seq         int
	ids         map[string]bool
}

func newFakeBox(t *testing.T, broker, school string) *fakeBox {
	t.Helper()
	fb := &fakeBox{school: school, box: school + "-" + gateName, ids: map[string]bool{}}
	status := func(golden string) []byte {
		return fb.golden(t, golden, func(m map[string]any) { m["since"] = time.Now().UTC().Format(wireTime) })
	}
	topic := fb.topic("status")
	offline := fb.golden(t, "status-offline.json", nil)
	fb.c = paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(fb.box).SetCleanSession(false).
		SetBinaryWill(topic, offline, 1, true).SetConnectTimeout(5 * time.Second))
	if tok := fb.c.Connect(); !tok.WaitTimeout(long) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", fb.box, tok.Error())
	}
	t.Cleanup(func() { fb.c.Disconnect(100) })
	fb.publish(t, topic, status("status-online.json"), true)
	return fb
}

func (fb *fakeBox) topic(kind string) string {
	return fmt.Sprintf("gatescreen/v1/%s/%s/%s/%s", district, fb.school, gateName, kind)
}

// golden reads a payload of testdata/mqtt made this box's, edited by edit.
func (fb *fakeBox) golden(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "mqtt", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["box"] = fb.box
	if edit != nil {
		edit(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stamp makes an event of the golden examples the box's next one.
func (fb *fakeBox) stamp(e map[string]any) {
	fb.seq++
	id := fmt.Sprintf("%s:%d", fb.box, fb.seq)
	e["id"], e["seq"], e["captured_at"] = id, fb.seq, time.Now().UTC().Format(wireTime)
	delete(e, "clock_corrected")
	fb.ids[id] = true
}

func (fb *fakeBox) readings(t *testing.T, n int) {
	t.Helper()
	payload := fb.golden(t, "readings.json", func(m map[string]any) {
		examples := m["events"].([]any)
		var evs []any
		for i := range n {
			e := map[string]any{}
			for k, v := range examples[i%len(examples)].(map[string]any) {
				e[k] = v
			}
			delete(e, "ticket") // a flag's ticket would point at a case never opened
			if e["verdict"] == "flag" {
				e["verdict"], e["body_c"], e["raw_c"] = "pass", 36.6, 36.6
				delete(e, "reason")
			}
			fb.stamp(e)
			evs = append(evs, e)
		}
		m["events"] = evs
	})
	fb.publish(t, fb.topic("readings"), payload, false)
}

func (fb *fakeBox) confirmedCase(t *testing.T, day string) {
	t.Helper()
	payload := fb.golden(t, "cases.json", func(m map[string]any) {
		fb.stamp(m)
		m["from"], m["state"], m["day"] = "awaiting_recheck", "confirmed", day
		delete(m, "disposition")
		delete(m, "reading_seq")
	})
	fb.publish(t, fb.topic("cases"), payload, false)
}

func (fb *fakeBox) daily(t *testing.T, day string) {
	t.Helper()
	payload := fb.golden(t, "daily.json", func(m map[string]any) {
		fb.stamp(m)
		m["day"] = day
	})
	fb.publish(t, fb.topic("daily"), payload, false)
}

func (fb *fakeBox) publish(t *testing.T, topic string, payload []byte, retained bool) {
	t.Helper()
	if tok := fb.c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(long) || tok.Error() != nil {
		t.Fatalf("%s: publish %s: %v", fb.box, topic, tok.Error())
	}
}
