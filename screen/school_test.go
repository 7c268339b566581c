package screen

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/storage"
)

// The store is the visitor book the daemon wires in.
var _ VisitorBook = (*storage.Store)(nil)

type drillCall struct {
	lane  string
	tempC float64
}

// fakeDriller records drills; err makes them fail.
type fakeDriller struct {
	mu    sync.Mutex
	calls []drillCall
	err   error
}

func (d *fakeDriller) Drill(lane string, tempC float64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.calls = append(d.calls, drillCall{lane, tempC})
	return nil
}

func (d *fakeDriller) drills() []drillCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]drillCall(nil), d.calls...)
}

// Lanes of the school tests: the usual four, a re-check lane and a
// visitor lane.
var schoolLanes = append(append([]pipeline.Lane(nil), testLanes...),
	pipeline.Lane{Name: "R", Role: event.RoleRecheck, Device: -1}, pipeline.Lane{Name: "V", Role: event.RoleVisitor, Device: -1})

const laneR, laneV = 4, 5

func openVisitorBook(t *testing.T) *storage.Store {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "gate.db"), storage.Opts{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st
}

func TestDrillNeedsLoginAndCSRF(t *testing.T) {
	d := &fakeDriller{}
	f := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes; o.Driller = d })
	if r := f.do(t, "POST", "/api/drill", `{"lane":"A"}`, nil, ""); r.code != http.StatusUnauthorized {
		t.Errorf("drill without a session: %d %s, want 401", r.code, r.body)
	}
	ck, csrf := f.login(t)
	// The forged token differs from the real one in its first character
	// whatever that character is (a fixed "x" equals it one time in 64).
	forged := string(csrf[0]^1) + csrf[1:]
	for name, tok := range map[string]string{"missing": "", "forged": forged} {
		if r := f.do(t, "POST", "/api/drill", `{"lane":"A"}`, ck, tok); r.code != http.StatusForbidden {
			t.Errorf("drill with %s CSRF token: %d %s, want 403", name, r.code, r.body)
		}
	}
	if got := d.drills(); len(got) != 0 {
		t.Fatalf("drills started without login or token: %v", got)
	}
	r := f.do(t, "POST", "/api/drill", `{"lane":"A"}`, ck, csrf)
	if r.code != http.StatusOK || !strings.Contains(r.body, `"lane":"A"`) || !strings.Contains(r.body, `"temp_c":38.2`) {
		t.Fatalf("drill: %d %s", r.code, r.body)
	}
	r = f.do(t, "POST", "/api/drill", `{"lane":"staff","temp_c":37.86}`, ck, csrf)
	if r.code != http.StatusOK {
		t.Fatalf("drill on staff: %d %s", r.code, r.body)
	}
	if got := d.drills(); len(got) != 2 || got[0] != (drillCall{"A", 38.2}) || got[1] != (drillCall{"staff", 37.9}) {
		t.Fatalf("drills = %v, want A at the default 38.2 and staff at 37.9", got)
	}
}

func TestDrillValidation(t *testing.T) {
	d := &fakeDriller{}
	f := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes; o.Driller = d })
	ck, csrf := f.login(t)
	for _, tc := range []struct{ body, want string }{
		{`{"lane":"Z"}`, `lane \"Z\": no such lane`},
		{`{"lane":""}`, `lane \"\": no such lane`},
		{`{"lane":"R"}`, `lane \"R\" is a re-check lane`},
		{`{"lane":"A","temp_c":50}`, "temp_c must be 30.0–45.0"},
		{`{"lane":"A","temp_c":"hot"}`, "bad input"},
		{`{"lane":"A","person":"x"}`, `unknown field \"person\"`},
	} {
		r := f.do(t, "POST", "/api/drill", tc.body, ck, csrf)
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.body, r.code, r.body, tc.want)
		}
	}
	if got := d.drills(); len(got) != 0 {
		t.Fatalf("invalid drills were started: %v", got)
	}
	d.err = errors.New("pipeline: inject queue full")
	r := f.do(t, "POST", "/api/drill", `{"lane":"A"}`, ck, csrf)
	if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "inject queue full") {
		t.Fatalf("failing drill: %d %s, want 503 with the cause", r.code, r.body)
	}
}

func TestDrillButtonOnlyWithADriller(t *testing.T) {
	without := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes })
	if page := without.do(t, "GET", "/", "", nil, "").body; strings.Contains(page, "drill-form") {
		t.Error("drill form shown without a Driller")
	}
	ck, csrf := without.login(t)
	if r := without.do(t, "POST", "/api/drill", `{"lane":"A"}`, ck, csrf); r.code != http.StatusForbidden || !strings.Contains(r.body, "drill_disabled") {
		t.Errorf("drill without a Driller: %d %s", r.code, r.body)
	}
	with := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes; o.Driller = &fakeDriller{} })
	page := with.do(t, "GET", "/", "", nil, "").body
	for _, want := range []string{`id="drill-form"`, "应急演练", `<option value="A">A</option>`, `<option value="V">V</option>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, `<option value="R">`) {
		t.Error("the re-check lane is offered for a drill")
	}
}

func TestDrillLogged(t *testing.T) {
	var logs syncbuf.Buffer
	f := newFixture(t, func(o *Opts) {
		o.Lanes, o.Driller, o.Logger, o.Actor = schoolLanes, &fakeDriller{}, zerolog.New(&logs), "dr-wang"
	})
	ck, csrf := f.login(t)
	f.do(t, "POST", "/api/drill", `{"lane":"B"}`, ck, csrf)
	if out := logs.String(); !strings.Contains(out, `"actor":"dr-wang","action":"drill","lane":"B","temp_c":38.2,"message":"drill started from the screen"`) {
		t.Errorf("log lacks the drill: %s", out)
	}
}

// A drill's flag opens a case like any flag; the screen marks the lane, the
// ticket and the queue entry as a drill, whichever of measurement and case
// arrives first, also when the measurement does not name its ticket.
func TestDrillMarkedOnLaneAndQueue(t *testing.T) {
	for _, tc := range []struct {
		caseFirst bool
		ticket    uint16
	}{{false, 1}, {true, 1}, {false, 0}} {
		caseFirst := tc.caseFirst
		f := newFixture(t, nil)
		m := f.measurement(0, pipeline.VerdictFlag, 38.2)
		m.Drill, m.Ticket, m.Reason = true, tc.ticket, pipeline.ReasonThreshold
		if caseFirst {
			f.desk.flag("A", 38.2, f.clock.now())
			f.s.Consume(m)
		} else {
			f.s.Consume(m)
			f.desk.flag("A", 38.2, f.clock.now())
		}
		real := f.measurement(1, pipeline.VerdictFlag, 38.9)
		real.Ticket = 2
		f.s.Consume(real)
		f.desk.flag("B", 38.9, f.clock.now())

		var st stateView
		f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
		a := st.Lanes[0]
		if a.State != stateFlag || a.Ticket != "R-001" || a.Last == nil || !a.Last.Drill {
			t.Fatalf("caseFirst=%v: lane A = %+v", caseFirst, a)
		}
		if len(st.Cases) != 2 || st.Cases[0].Ticket != "R-001" || !st.Cases[0].Drill || st.Cases[1].Drill {
			t.Fatalf("caseFirst=%v: queue = %+v, want R-001 marked drill and R-002 not", caseFirst, st.Cases)
		}
		if a.Tally.Drill != 1 || a.Tally.Flag != 0 {
			t.Fatalf("caseFirst=%v: drill counted as a flag: %+v", caseFirst, a.Tally)
		}
		// The doctor's case view says so too, and the mark goes with the case.
		ck, csrf := f.login(t)
		r := f.do(t, "POST", "/api/cases/R-001/recheck", `{"temp_c":36.6}`, ck, csrf)
		if r.code != http.StatusOK || !strings.Contains(r.body, `"drill":true`) {
			t.Fatalf("recheck of the drill case: %d %s", r.code, r.body)
		}
		f.s.mu.Lock()
		left := len(f.s.drillTickets)
		f.s.mu.Unlock()
		if left != 0 {
			t.Fatalf("%d drill tickets kept after the case was cleared", left)
		}
	}
}

func TestVisitorRegistration(t *testing.T) {
	book := openVisitorBook(t)
	f := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes; o.Visitors = book })
	ck, csrf := f.login(t)
	const form = `{"name":"张三","phone":"138 0013 8000","purpose":"送教材","host":"王老师"}`
	register := func() response { return f.do(t, "POST", "/api/visitors", form, ck, csrf) }
	refused := func(why string, r response) visitorRefusal {
		t.Helper()
		var ref visitorRefusal
		r.json(t, &ref)
		if r.code != http.StatusConflict || ref.Error != why {
			t.Fatalf("want 409 %s, got %d %s", why, r.code, r.body)
		}
		return ref
	}

	refused(refuseNoReading, register())
	// A pass on a student lane does not admit a visitor.
	f.s.Consume(f.measurement(0, pipeline.VerdictPass, 36.5))
	refused(refuseNoReading, register())

	f.s.Consume(f.measurement(laneV, pipeline.VerdictPass, 36.44))
	r := register()
	if r.code != http.StatusCreated {
		t.Fatalf("register: %d %s", r.code, r.body)
	}
	var got storage.Visitor
	r.json(t, &got)
	if got.ID == 0 || got.Name != "张三" || got.Lane != "V" || got.BodyC != 36.4 || got.Verdict != "pass" || got.Day != "2026-11-23" {
		t.Fatalf("registered %+v", got)
	}
	stored, err := book.Visitors("2026-11-23")
	if err != nil || len(stored) != 1 || stored[0].Phone != "138 0013 8000" || stored[0].Purpose != "送教材" || stored[0].Host != "王老师" {
		t.Fatalf("book = %+v, %v", stored, err)
	}
	// One pass admits one visitor.
	refused(refuseReadingUsed, register())

	// Too old.
	f.s.Consume(f.measurement(laneV, pipeline.VerdictPass, 36.6))
	f.clock.advance(2*time.Minute + time.Second)
	refused(refuseNoReading, register())

	// Flagged and retake: the re-check, not the book.
	f.s.Consume(f.measurement(laneV, pipeline.VerdictFlag, 38.1))
	ref := refused(refuseNotPass, register())
	if ref.Verdict != "flag" || ref.Lane != "V" || ref.BodyC == nil || *ref.BodyC != 38.1 {
		t.Fatalf("refusal %+v, want the flagged reading", ref)
	}
	f.s.Consume(f.measurement(laneV, pipeline.VerdictRetake, 34.0))
	refused(refuseNotPass, register())
	invalid := f.measurement(laneV, pipeline.VerdictInvalid, 0)
	invalid.BodyC = math.NaN()
	f.s.Consume(invalid)
	refused(refuseNotPass, register())
	drill := f.measurement(laneV, pipeline.VerdictPass, 36.5)
	drill.Drill = true
	f.s.Consume(drill)
	refused(refuseDrillReading, register())

	// A pass after a flag, within the window: registered.
	f.s.Consume(f.measurement(laneV, pipeline.VerdictPass, 36.7))
	f.clock.advance(90 * time.Second)
	if r := register(); r.code != http.StatusCreated {
		t.Fatalf("second register: %d %s", r.code, r.body)
	}
	if stored, _ := book.Visitors("2026-11-23"); len(stored) != 2 {
		t.Fatalf("book holds %d visitors, want 2", len(stored))
	}
	// Nothing of the visitor went to the outbox.
	for _, q := range []storage.Queue{storage.Priority, storage.Bulk} {
		if evs, _ := book.Pending(q, 0, 10); len(evs) != 0 {
			t.Fatalf("%s outbox has %d events", q, len(evs))
		}
	}
}

func TestVisitorNeedsLoginAndCSRF(t *testing.T) {
	book := openVisitorBook(t)
	f := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes; o.Visitors = book })
	f.s.Consume(f.measurement(laneV, pipeline.VerdictPass, 36.5))
	const form = `{"name":"张三","phone":"13800138000","purpose":"送教材","host":"王老师"}`
	if r := f.do(t, "POST", "/api/visitors", form, nil, ""); r.code != http.StatusUnauthorized {
		t.Errorf("register without a session: %d %s", r.code, r.body)
	}
	if r := f.do(t, "GET", "/api/visitors", "", nil, ""); r.code != http.StatusUnauthorized || strings.Contains(r.body, "张三") {
		t.Errorf("list without a session: %d %s", r.code, r.body)
	}
	ck, csrf := f.login(t)
	if r := f.do(t, "POST", "/api/visitors", form, ck, ""); r.code != http.StatusForbidden {
		t.Errorf("register without the CSRF token: %d %s", r.code, r.body)
	}
	if vs, _ := book.Visitors("2026-11-23"); len(vs) != 0 {
		t.Fatalf("registered without login or token: %+v", vs)
	}
	if r := f.do(t, "POST", "/api/visitors", form, ck, csrf); r.code != http.StatusCreated {
		t.Fatalf("register: %d %s", r.code, r.body)
	}
	var list []storage.Visitor
	r := f.do(t, "GET", "/api/visitors", "", ck, "")
	r.json(t, &list)
	if r.code != http.StatusOK || len(list) != 1 || list[0].Name != "张三" || list[0].Phone != "13800138000" {
		t.Fatalf("session's list: %d %s", r.code, r.body)
	}
}

func TestVisitorValidation(t *testing.T) {
	book := openVisitorBook(t)
	f := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes; o.Visitors = book })
	f.s.Consume(f.measurement(laneV, pipeline.VerdictPass, 36.5))
	ck, csrf := f.login(t)
	long := strings.Repeat("长", 33)
	for _, tc := range []struct{ body, want string }{
		{`{"phone":"13800138000","purpose":"p","host":"h"}`, "name must be 1–32 characters"},
		{`{"name":"  ","phone":"13800138000","purpose":"p","host":"h"}`, "name must be 1–32 characters"},
		{`{"name":"` + long + `","phone":"13800138000","purpose":"p","host":"h"}`, "name must be 1–32 characters"},
		{`{"name":"a\u0007b","phone":"13800138000","purpose":"p","host":"h"}`, "name has a control character"},
		{`{"name":"n","phone":"call me","purpose":"p","host":"h"}`, "phone must be 5–20 digits"},
		{`{"name":"n","phone":"123","purpose":"p","host":"h"}`, "phone must be 5–20 digits"},
		{`{"name":"n","phone":"13800138000","purpose":"","host":"h"}`, "purpose must be 1–100 characters"},
		{`{"name":"n","phone":"13800138000","purpose":"p"}`, "host must be 1–32 characters"},
		{`{"name":"n","phone":"13800138000","purpose":"p","host":"h","id_card":"x"}`, `unknown field \"id_card\"`},
	} {
		r := f.do(t, "POST", "/api/visitors", tc.body, ck, csrf)
		if r.code != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.body, r.code, r.body, tc.want)
		}
	}
	if vs, _ := book.Visitors("2026-11-23"); len(vs) != 0 {
		t.Fatalf("invalid visitors stored: %+v", vs)
	}
	// The reading was not used up by the refusals.
	if r := f.do(t, "POST", "/api/visitors", `{"name":"n","phone":"+86 138-0013-8000","purpose":"p","host":"h"}`, ck, csrf); r.code != http.StatusCreated {
		t.Fatalf("valid after refusals: %d %s", r.code, r.body)
	}
}

func TestVisitorWithoutAVisitorLaneOrBook(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.Visitors = openVisitorBook(t) })
	ck, csrf := f.login(t)
	const form = `{"name":"n","phone":"13800138000","purpose":"p","host":"h"}`
	if r := f.do(t, "POST", "/api/visitors", form, ck, csrf); r.code != http.StatusConflict || !strings.Contains(r.body, refuseNoVisitorLane) {
		t.Errorf("no visitor lane: %d %s", r.code, r.body)
	}
	none := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes })
	if page := none.do(t, "GET", "/", "", nil, "").body; strings.Contains(page, "visitor-form") {
		t.Error("visitor form shown without a visitor book")
	}
	ck, csrf = none.login(t)
	if r := none.do(t, "POST", "/api/visitors", form, ck, csrf); r.code != http.StatusForbidden || !strings.Contains(r.body, "visitors_disabled") {
		t.Errorf("no book: %d %s", r.code, r.body)
	}
}

// failingBook is a visitor book on a broken SD card.
type failingBook struct{}

func (failingBook) PutVisitor(storage.Visitor) (uint64, error) {
	return 0, errors.New("storage: gate.db: put visitor: input/output error")
}
func (failingBook) Visitors(string) ([]storage.Visitor, error) { return nil, nil }

func TestVisitorNotStoredKeepsTheReading(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes; o.Visitors = failingBook{} })
	f.s.Consume(f.measurement(laneV, pipeline.VerdictPass, 36.5))
	ck, csrf := f.login(t)
	const form = `{"name":"n","phone":"13800138000","purpose":"p","host":"h"}`
	for range 2 { // the second attempt is not refused as "reading used"
		if r := f.do(t, "POST", "/api/visitors", form, ck, csrf); r.code != http.StatusInternalServerError || !strings.Contains(r.body, "visitor_not_stored") {
			t.Fatalf("register on a failing book: %d %s", r.code, r.body)
		}
	}
	var st stateView
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	if st.School.Visitors != 0 {
		t.Fatalf("visitor count %d after failed registrations", st.School.Visitors)
	}
}

func TestVisitorCountPublicNamesNot(t *testing.T) {
	book := openVisitorBook(t)
	// Registered before this start: counted from the book, on the
	// school's day by the screen's clock (here a second before midnight in
	// Shanghai), whatever the real time.
	shanghai := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 23, 23, 59, 59, 9e8, shanghai)
	if _, err := book.PutVisitor(storage.Visitor{Time: now.Add(-time.Hour), Day: "2026-11-23", Name: "李四",
		Phone: "13900139000", Purpose: "家长会", Host: "班主任", Lane: "V", BodyC: 36.5, Verdict: "pass"}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Opts{Lanes: schoolLanes, Visitors: book, Location: shanghai, Now: func() time.Time { return now },
		Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	body := httptestGet(t, s.Handler(), "/api/state")
	var st stateView
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.School.Visitors != 1 {
		t.Fatalf("public visitor count = %d, want 1", st.School.Visitors)
	}
	for _, private := range []string{"李四", "13900139000", "家长会", "班主任"} {
		if strings.Contains(body, private) {
			t.Errorf("public state shows %s: %s", private, body)
		}
	}

	// A registration is counted at once and pushed without the name.
	f := newFixture(t, func(o *Opts) { o.Lanes = schoolLanes; o.Visitors = openVisitorBook(t) })
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := openEvents(t, ctx, srv.URL)
	ev.next() // the state
	f.s.Consume(f.measurement(laneV, pipeline.VerdictPass, 36.5))
	ev.next() // the lane
	ck, csrf := f.login(t)
	f.do(t, "POST", "/api/visitors", `{"name":"王五","phone":"13700137000","purpose":"维修","host":"总务处"}`, ck, csrf)
	name, data := ev.next()
	if name != "school" || !strings.Contains(data, `"visitors":1`) || strings.Contains(data, "王五") || strings.Contains(data, "13700137000") {
		t.Fatalf("pushed %s %s, want the count without the name", name, data)
	}
}

func httptestGet(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newRequest("GET", path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestAbsenteesCountsPublicNamesToTheSession(t *testing.T) {
	f := newFixture(t, nil)
	f.s.SetAbsentees(Absentees{Day: "2026-11-23", Classes: []AbsentClass{
		{Grade: "2", Class: "2-3", Names: []string{"赵六", "钱七"}},
		{Grade: "1", Class: "1-1", Names: []string{"孙八"}},
		{Grade: "1", Class: "1-2"}, // nobody missing
	}})
	body := f.do(t, "GET", "/api/state", "", nil, "").body
	var st stateView
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	want := []absentClassCount{{Grade: "1", Class: "1-1", Count: 1}, {Grade: "2", Class: "2-3", Count: 2}}
	a := st.School.Absentees
	if a.Day != "2026-11-23" || a.Total != 3 || len(a.Classes) != 2 || a.Classes[0] != want[0] || a.Classes[1] != want[1] {
		t.Fatalf("public absentees = %+v, want %+v", a, want)
	}
	for _, name := range []string{"赵六", "钱七", "孙八"} {
		if strings.Contains(body, name) {
			t.Errorf("public state names %s", name)
		}
	}
	if r := f.do(t, "GET", "/api/absentees", "", nil, ""); r.code != http.StatusUnauthorized || strings.Contains(r.body, "赵六") {
		t.Fatalf("absentees without a session: %d %s", r.code, r.body)
	}
	if r := f.do(t, "GET", "/api/absentees", "", &http.Cookie{Name: sessionCookie, Value: "forged"}, ""); r.code != http.StatusUnauthorized {
		t.Fatalf("absentees with a forged cookie: %d", r.code)
	}
	ck, _ := f.login(t)
	var full Absentees
	f.do(t, "GET", "/api/absentees", "", ck, "").json(t, &full)
	if len(full.Classes) != 2 || full.Classes[0].Class != "1-1" || full.Classes[1].Names[1] != "钱七" {
		t.Fatalf("session's absentees = %+v", full)
	}
}

func TestDailyReportShown(t *testing.T) {
	f := newFixture(t, nil)
	var st stateView
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	if st.School.Daily != nil {
		t.Fatalf("a report before any was set: %+v", st.School.Daily)
	}
	f.s.SetDaily(event.Daily{Day: "2026-11-22", Zero: true, Totals: event.Counts{Total: 1480, Pass: 1470, Retake: 10},
		Drills: event.Counts{Total: 1, Flag: 1}, Absentees: 3, Visitors: 2,
		Cases: map[string]int{}, Disposition: map[string]int{}})
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	d := st.School.Daily
	if d == nil || d.Day != "2026-11-22" || !d.Zero || d.Totals.Total != 1480 || d.Drills.Flag != 1 || d.Totals.Flag != 0 || d.Absentees != 3 {
		t.Fatalf("daily = %+v", d)
	}
	f.s.SetDaily(event.Daily{Day: "2026-11-23", Totals: event.Counts{Total: 900, Pass: 898, Flag: 2},
		Cases: map[string]int{event.CaseReferred: 1, event.CaseCleared: 1}, Disposition: map[string]int{event.DispositionParentFeverClinic: 1}})
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	if d := st.School.Daily; d.Zero || d.Cases[event.CaseReferred] != 1 || d.Disposition[event.DispositionParentFeverClinic] != 1 {
		t.Fatalf("second daily = %+v", d)
	}
	if page := f.do(t, "GET", "/", "", nil, "").body; !strings.Contains(page, "零报告") || !strings.Contains(page, "因病缺勤追踪") {
		t.Error("page lacks the daily report and absentee panels")
	}
}

func TestCalibrationBannerKeys(t *testing.T) {
	f := newFixture(t, nil)
	for dev, reason := range map[string]string{
		"gun-a":  "overdue: last calibrated 2026-10-01",
		"gate-b": "spread 0.62 °C wider than 0.30 °C: hold the device steady and repeat",
		"gun-c":  "no calibration record",
	} {
		f.s.Health(event.Health{Component: "calibration", Device: dev, State: event.HealthWarning, Reason: reason})
	}
	var st stateView
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	got := map[string]string{}
	for _, b := range st.Health.Banners {
		got[b.ID] = b.Text
	}
	want := map[string]string{"calibration:gun-a": "banner_calibration_overdue",
		"calibration:gate-b": "banner_calibration_spread", "calibration:gun-c": "banner_calibration"}
	for id, text := range want {
		if got[id] != text {
			t.Errorf("banner %s = %q, want %q", id, got[id], text)
		}
	}
	for key, zh := range map[string]string{"banner_calibration_overdue": "校准已过期", "banner_calibration_spread": "校准离散度过大"} {
		if messages[langZH][key] != zh || messages[langEN][key] == "" {
			t.Errorf("i18n %s: zh %q en %q", key, messages[langZH][key], messages[langEN][key])
		}
	}
}

// Every refusal the page may show has its translation.
func TestRefusalsTranslated(t *testing.T) {
	for _, key := range []string{refuseNoVisitorLane, refuseNoReading, refuseNotPass, refuseDrillReading, refuseReadingUsed,
		"visitor_not_stored", "visitors_disabled", "drill_disabled", "login_required"} {
		for _, lang := range []string{langZH, langEN} {
			if messages[lang][key] == "" {
				t.Errorf("%s: no %s text", key, lang)
			}
		}
	}
}

// The journal gets who acted and on which reading, never the visitor.
func TestVisitorNotLogged(t *testing.T) {
	var logs syncbuf.Buffer
	f := newFixture(t, func(o *Opts) {
		o.Lanes, o.Visitors, o.Logger, o.Actor = schoolLanes, openVisitorBook(t), zerolog.New(&logs), "dr-wang"
	})
	ck, csrf := f.login(t)
	const form = `{"name":"张三","phone":"13800138000","purpose":"送教材","host":"王老师"}`
	f.s.Consume(f.measurement(laneV, pipeline.VerdictFlag, 38.0))
	f.do(t, "POST", "/api/visitors", form, ck, csrf)
	f.s.Consume(f.measurement(laneV, pipeline.VerdictPass, 36.5))
	f.do(t, "POST", "/api/visitors", form, ck, csrf)
	out := logs.String()
	for _, want := range []string{
		`"actor":"dr-wang","action":"visitor","reason":"visitor_not_pass","lane":"V","verdict":"flag","message":"visitor registration refused"`,
		`"actor":"dr-wang","action":"visitor","visitor":1,"lane":"V","body_c":36.5,"message":"visitor registered"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	for _, private := range []string{"张三", "13800138000", "送教材", "王老师"} {
		if strings.Contains(out, private) {
			t.Errorf("log holds %s", private)
		}
	}
}

// A drill flag whose case never reached the screen leaves no mark on the
// next day's ticket of the same number.
func TestDrillMarkDoesNotOutliveItsDay(t *testing.T) {
	f := newFixture(t, nil)
	m := f.measurement(0, pipeline.VerdictFlag, 38.2)
	m.Drill, m.Ticket = true, 1
	f.s.Consume(m)
	f.clock.advance(24 * time.Hour)
	next := f.measurement(1, pipeline.VerdictFlag, 38.5)
	next.Ticket = 1
	f.s.Consume(next)
	f.s.CaseChanged(event.Case{Ticket: "R-001", Lane: "B", State: event.CaseAwaitingRecheck})
	var st stateView
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	if len(st.Cases) != 1 || st.Cases[0].Drill {
		t.Fatalf("next day's real R-001 = %+v, want no drill mark", st.Cases)
	}
}
