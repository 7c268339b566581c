package screen

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
	"github.com/gatescreen/gatescreen/lamps"
	"github.com/gatescreen/gatescreen/pipeline"
)

const testPIN = "2468"

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testLanes watch no thermometer (Device -1): the tests that need one say so.
var testLanes = []pipeline.Lane{
	{Name: "A", Role: event.RoleStudent, Device: -1}, {Name: "B", Role: event.RoleStudent, Device: -1},
	{Name: "C", Role: event.RoleStudent, Device: -1}, {Name: "staff", Role: event.RoleStaff, Device: -1},
}

// testDevices are the devices of the fixture, by name.
func testDevices(names ...string) []pipeline.DeviceInfo {
	devs := make([]pipeline.DeviceInfo, len(names))
	for i, n := range names {
		devs[i].Name = n
	}
	return devs
}

type fixture struct {
	s     *Screen
	desk  *fakeDesk
	clock *testClock
	h     http.Handler
}

func newFixture(t *testing.T, mutate func(*Opts)) *fixture {
	t.Helper()
	desk := newFakeDesk()
	o := Opts{
		Lanes:     testLanes,
		Devices:   testDevices("gun-a", "gate-b"),
		Desk:      desk,
		DoctorPIN: []byte(testPIN + "\n"),
		Logger:    zerolog.Nop(),
		Location:  time.UTC,
	}
	if mutate != nil {
		mutate(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Date(2026, 11, 23, 7, 10, 0, 0, time.UTC)}
	s.now = clock.now
	desk.onChange = s.CaseChanged
	return &fixture{s: s, desk: desk, clock: clock, h: s.Handler()}
}

// measurement returns a classified measurement on lane at the fixture's time.
func (f *fixture) measurement(lane uint8, v pipeline.Verdict, bodyC float64) *pipeline.Measurement {
	return &pipeline.Measurement{Lane: lane, Verdict: v, BodyC: bodyC, RawC: bodyC, AmbientC: 22,
		Wall: f.clock.now().UnixNano(), ThresholdC: 37.3}
}

type response struct {
	code int
	hdr  http.Header
	body string
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// do sends a request; cookies and csrf are optional.
func (f *fixture) do(t *testing.T, method, path, body string, cookie *http.Cookie, csrf string) response {
	t.Helper()
	req := newRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if csrf != "" {
		req.Header.Set(csrfHeader, csrf)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return response{code: rec.Code, hdr: rec.Result().Header, body: rec.Body.String()}
}

// login logs the doctor in and returns the session cookie and CSRF token.
func (f *fixture) login(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	return f.loginWith(t, testPIN)
}

// loginWith logs in with pin and returns the session cookie and CSRF token.
func (f *fixture) loginWith(t *testing.T, pin string) (*http.Cookie, string) {
	t.Helper()
	r := f.do(t, "POST", "/api/login", `{"pin":"`+pin+`"}`, nil, "")
	if r.code != http.StatusOK {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	var info sessionInfo
	r.json(t, &info)
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: r.hdr}).Cookies() {
		if c.Name == sessionCookie {
			ck = c
		}
	}
	if ck == nil || ck.Value == "" || info.CSRF == "" {
		t.Fatalf("login gave cookie %v csrf %q", ck, info.CSRF)
	}
	return ck, info.CSRF
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		method, path string
		noStore      bool
	}{
		{"GET", "/", true},
		{"GET", "/assets/app.js", false},
		{"GET", "/assets/style.css", false},
		{"GET", "/api/state", true},
		{"GET", "/api/session", true},
		{"GET", "/api/cases", true},
		{"POST", "/api/login", true},
		{"POST", "/api/cases/R-001/recheck", true},
		{"POST", "/api/drill", true},
		{"POST", "/api/visitors", true},
		{"GET", "/api/visitors", true},
		{"GET", "/api/absentees", true},
		{"GET", "/healthz", true},
		{"GET", "/metrics", true},
		{"GET", "/no-such-page", true},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			h := f.do(t, tc.method, tc.path, "", nil, "").hdr
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "no-referrer",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := h.Get("Cache-Control"); tc.noStore != (got == "no-store") {
				t.Errorf("Cache-Control = %q (no-store wanted: %v)", got, tc.noStore)
			}
		})
	}
}

func TestPageHasNoInlineScript(t *testing.T) {
	f := newFixture(t, nil)
	body := f.do(t, "GET", "/", "", nil, "").body
	if strings.Count(body, "<script") != 1 || !strings.Contains(body, `<script src="/assets/app.js" defer></script>`) {
		t.Fatalf("page must load only /assets/app.js:\n%s", body)
	}
	if strings.Contains(body, " style=") || strings.Contains(body, "<style") || strings.Contains(body, " on") && strings.Contains(body, "onclick") {
		t.Fatal("page has inline style or handlers the CSP would block")
	}
}

func TestLoginSetsStrictHttpOnlyCookie(t *testing.T) {
	f := newFixture(t, nil)
	r := f.do(t, "POST", "/api/login", `{"pin":"2468"}`, nil, "")
	if r.code != http.StatusOK {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	cookies := (&http.Response{Header: r.hdr}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	ck := cookies[0]
	if ck.Name != sessionCookie || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || len(ck.Value) < 40 {
		t.Fatalf("session cookie = %+v", ck)
	}
	var info sessionInfo
	r.json(t, &info)
	if !info.LoggedIn || len(info.CSRF) < 40 || info.CSRF == ck.Value {
		t.Fatalf("login answer = %+v", info)
	}
	// A reloaded page finds its session and token again.
	var again sessionInfo
	f.do(t, "GET", "/api/session", "", ck, "").json(t, &again)
	if !again.LoggedIn || again.CSRF != info.CSRF {
		t.Fatalf("session = %+v, want logged in with the same token", again)
	}
	var anon sessionInfo
	f.do(t, "GET", "/api/session", "", nil, "").json(t, &anon)
	if anon.LoggedIn || anon.CSRF != "" || !anon.Enabled {
		t.Fatalf("anonymous session = %+v", anon)
	}
}

func TestWrongPINRefused(t *testing.T) {
	f := newFixture(t, nil)
	for _, body := range []string{`{"pin":"1234"}`, `{"pin":""}`, `{"pin":"2468 "}`, `{"pin":"24680"}`} {
		r := f.do(t, "POST", "/api/login", body, nil, "")
		if r.code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", body, r.code, r.body)
		}
		if len((&http.Response{Header: r.hdr}).Cookies()) != 0 {
			t.Errorf("%s: a refused login set a cookie", body)
		}
	}
	if r := f.do(t, "POST", "/api/login", "pin=2468", nil, ""); r.code != http.StatusBadRequest {
		t.Errorf("login without a JSON body: %d, want 400", r.code)
	}
}

func TestLockoutAfterMaxAttempts(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.MaxAttempts = 3; o.Lockout = 2 * time.Minute })
	for i := 1; i <= 2; i++ {
		if r := f.do(t, "POST", "/api/login", `{"pin":"0000"}`, nil, ""); r.code != http.StatusUnauthorized {
			t.Fatalf("wrong PIN %d: %d", i, r.code)
		}
	}
	r := f.do(t, "POST", "/api/login", `{"pin":"0000"}`, nil, "")
	if r.code != http.StatusTooManyRequests || r.hdr.Get("Retry-After") != "120" {
		t.Fatalf("third wrong PIN: %d Retry-After %q, want 429 120", r.code, r.hdr.Get("Retry-After"))
	}
	// Locked: even the right PIN is refused.
	f.clock.advance(time.Minute)
	r = f.do(t, "POST", "/api/login", `{"pin":"2468"}`, nil, "")
	if r.code != http.StatusTooManyRequests || r.hdr.Get("Retry-After") != "60" {
		t.Fatalf("right PIN while locked: %d Retry-After %q", r.code, r.hdr.Get("Retry-After"))
	}
	f.clock.advance(time.Minute + time.Second)
	f.login(t)
	// The count starts again after a success.
	for i := 1; i <= 2; i++ {
		if r := f.do(t, "POST", "/api/login", `{"pin":"0000"}`, nil, ""); r.code != http.StatusUnauthorized {
			t.Fatalf("wrong PIN %d after unlock: %d", i, r.code)
		}
	}
}

func TestDefaultLockoutIsFiveAttempts(t *testing.T) {
	f := newFixture(t, nil)
	codes := make([]int, 0, 6)
	for range 6 {
		codes = append(codes, f.do(t, "POST", "/api/login", `{"pin":"1"}`, nil, "").code)
	}
	want := []int{401, 401, 401, 401, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes = %v, want %v", codes, want)
		}
	}
	f.clock.advance(5*time.Minute + time.Second)
	f.login(t)
}

func TestActionWithoutSessionRefused(t *testing.T) {
	f := newFixture(t, nil)
	c := f.desk.flag("A", 38.2, f.clock.now())
	for _, path := range []string{"/api/cases/" + c.Ticket + "/recheck", "/api/cases/" + c.Ticket + "/refer",
		"/api/cases/" + c.Ticket + "/close", "/api/logout"} {
		r := f.do(t, "POST", path, `{"temp_c":36.5}`, nil, "")
		if r.code != http.StatusUnauthorized {
			t.Errorf("%s without session: %d %s, want 401", path, r.code, r.body)
		}
		// A forged cookie is no session either.
		r = f.do(t, "POST", path, `{"temp_c":36.5}`, &http.Cookie{Name: sessionCookie, Value: "forged"}, "x")
		if r.code != http.StatusUnauthorized {
			t.Errorf("%s with forged cookie: %d, want 401", path, r.code)
		}
	}
	if got, _ := f.desk.Get(c.Ticket); got.State != event.CaseAwaitingRecheck {
		t.Fatalf("case changed to %s without a session", got.State)
	}
}

func TestActionWithoutOrWithForgedCSRFRefused(t *testing.T) {
	f := newFixture(t, nil)
	c := f.desk.flag("A", 38.2, f.clock.now())
	ck, csrf := f.login(t)
	path := "/api/cases/" + c.Ticket + "/recheck"
	other := newFixture(t, nil)
	_, otherCSRF := other.login(t) // a valid token of another session
	for name, tok := range map[string]string{"missing": "", "forged": "not-the-token", "other session": otherCSRF,
		"prefix": csrf[:len(csrf)-1]} {
		if r := f.do(t, "POST", path, `{"temp_c":36.5}`, ck, tok); r.code != http.StatusForbidden {
			t.Errorf("%s CSRF token: %d %s, want 403", name, r.code, r.body)
		}
	}
	if got, _ := f.desk.Get(c.Ticket); got.State != event.CaseAwaitingRecheck {
		t.Fatalf("case changed to %s with a bad CSRF token", got.State)
	}
	if r := f.do(t, "POST", path, `{"temp_c":36.5}`, ck, csrf); r.code != http.StatusOK {
		t.Fatalf("with the token: %d %s", r.code, r.body)
	}
}

func TestDoctorFlowThroughTheDesk(t *testing.T) {
	f := newFixture(t, nil)
	c := f.desk.flag("B", 38.4, f.clock.now())
	ck, csrf := f.login(t)
	base := "/api/cases/" + c.Ticket

	steps := []struct {
		action, body string
		wantCode     int
		wantState    string
		wantDisp     string
	}{
		{"close", `{"outcome":"too early"}`, http.StatusConflict, "", ""}, // desk refuses: not referred yet
		{"recheck", `{"temp_c":55}`, http.StatusBadRequest, "", ""},
		{"recheck", `{}`, http.StatusBadRequest, "", ""},
		{"recheck", `{"temp_c":38.12}`, http.StatusOK, event.CaseConfirmed, ""},
		{"refer", `{}`, http.StatusBadRequest, "", ""},
		{"refer", `{"contact_history":true}`, http.StatusOK, event.CaseReferred, event.DispositionCDCTransfer},
		{"close", `{"outcome":""}`, http.StatusBadRequest, "", ""},
		{"close", `{"outcome":"定点医院留观，结果已回报班主任"}`, http.StatusOK, event.CaseClosed, event.DispositionCDCTransfer},
	}
	for _, st := range steps {
		r := f.do(t, "POST", base+"/"+st.action, st.body, ck, csrf)
		if r.code != st.wantCode {
			t.Fatalf("%s %s: %d %s, want %d", st.action, st.body, r.code, r.body, st.wantCode)
		}
		if st.wantCode != http.StatusOK {
			continue
		}
		var got caseView
		r.json(t, &got)
		if got.State != st.wantState || got.Disposition != st.wantDisp || got.Actor != "doctor" {
			t.Fatalf("%s: case = %+v", st.action, got.Case)
		}
	}
	if got, _ := f.desk.Get(c.Ticket); *got.RecheckC != 38.1 {
		t.Errorf("recheck stored %v, want 38.1 (rounded to a tenth)", *got.RecheckC)
	}
	for _, a := range f.desk.actorLog() {
		if a != "doctor" {
			t.Errorf("desk got actor %q, want doctor", a)
		}
	}
	var open []caseView
	f.do(t, "GET", "/api/cases", "", nil, "").json(t, &open)
	if len(open) != 0 {
		t.Fatalf("closed case still in the queue: %+v", open)
	}
	if r := f.do(t, "POST", "/api/cases/R-999/recheck", `{"temp_c":36.5}`, ck, csrf); r.code != http.StatusNotFound {
		t.Fatalf("unknown ticket: %d", r.code)
	}
	if r := f.do(t, "POST", "/api/cases/..%2f/recheck", `{"temp_c":36.5}`, ck, csrf); r.code != http.StatusBadRequest && r.code != http.StatusNotFound {
		t.Fatalf("bad ticket: %d", r.code)
	}
	// Logging out ends the session.
	if r := f.do(t, "POST", "/api/logout", "", ck, csrf); r.code != http.StatusOK {
		t.Fatalf("logout: %d", r.code)
	}
	c2 := f.desk.flag("B", 38.0, f.clock.now())
	if r := f.do(t, "POST", "/api/cases/"+c2.Ticket+"/recheck", `{"temp_c":36.5}`, ck, csrf); r.code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d, want 401", r.code)
	}
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.SessionIdle = 10 * time.Minute })
	c := f.desk.flag("A", 38.0, f.clock.now())
	ck, csrf := f.login(t)
	f.clock.advance(9 * time.Minute)
	if r := f.do(t, "GET", "/api/session", "", ck, ""); !strings.Contains(r.body, `"logged_in":true`) {
		t.Fatalf("session ended early: %s", r.body)
	}
	f.clock.advance(10*time.Minute + time.Second)
	if r := f.do(t, "POST", "/api/cases/"+c.Ticket+"/recheck", `{"temp_c":36.5}`, ck, csrf); r.code != http.StatusUnauthorized {
		t.Fatalf("expired session: %d, want 401", r.code)
	}
}

func TestDoctorFormDisabledWithoutPIN(t *testing.T) {
	for name, mutate := range map[string]func(*Opts){
		"no PIN":       func(o *Opts) { o.DoctorPIN = nil },
		"blank PIN":    func(o *Opts) { o.DoctorPIN = []byte(" \n") },
		"no case desk": func(o *Opts) { o.Desk = nil },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, mutate)
			if f.s.DoctorEnabled() {
				t.Fatal("doctor form enabled")
			}
			for _, pin := range []string{"", testPIN, " "} {
				if r := f.do(t, "POST", "/api/login", `{"pin":"`+pin+`"}`, nil, ""); r.code != http.StatusForbidden {
					t.Fatalf("login with %q: %d, want 403", pin, r.code)
				}
			}
			if r := f.do(t, "POST", "/api/cases/R-001/recheck", `{"temp_c":36}`, nil, ""); r.code != http.StatusForbidden {
				t.Fatalf("action: %d, want 403", r.code)
			}
			page := f.do(t, "GET", "/", "", nil, "").body
			if !strings.Contains(page, messages[langZH]["doctor_disabled"]) || strings.Contains(page, `id="pin"`) {
				t.Fatal("page does not show the form as disabled")
			}
		})
	}
}

func TestI18n(t *testing.T) {
	zh := newFixture(t, nil)
	page := zh.do(t, "GET", "/", "", nil, "").body
	for _, want := range []string{`<html lang="zh-CN">`, "校门体温筛查", "复检区排队", "校医复检", "值班教师", "带班校长", `href="/?lang=en"`} {
		if !strings.Contains(page, want) {
			t.Errorf("zh-CN page lacks %q", want)
		}
	}
	en := zh.do(t, "GET", "/?lang=en", "", nil, "").body
	for _, want := range []string{`<html lang="en">`, "Re-check queue", "School doctor", `href="/?lang=zh-CN"`} {
		if !strings.Contains(en, want) {
			t.Errorf("?lang=en page lacks %q", want)
		}
	}
	enDefault := newFixture(t, func(o *Opts) { o.Lang = "en" })
	if page := enDefault.do(t, "GET", "/", "", nil, "").body; !strings.Contains(page, `<html lang="en">`) || !strings.Contains(page, "Gate temperature screening") {
		t.Error("Opts.Lang en does not serve English")
	}
	var m map[string]string
	zh.do(t, "GET", "/api/i18n", "", nil, "").json(t, &m)
	want := map[string]string{"state_pass": "通过", "state_flag": "复检", "state_retake": "重测", "state_invalid": "无效",
		"state_ready": "空闲", "drill": "演练", "disp_cdc_transfer": "联系疾控转运", "disp_parent_fever_clinic": "家长陪同发热门诊"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("zh-CN %s = %q, want %q", k, m[k], v)
		}
	}
	zh.do(t, "GET", "/api/i18n?lang=en", "", nil, "").json(t, &m)
	for k, v := range map[string]string{"state_pass": "PASS", "state_flag": "RE-CHECK", "state_retake": "RETAKE", "state_invalid": "INVALID", "state_ready": "READY", "drill": "DRILL"} {
		if m[k] != v {
			t.Errorf("en %s = %q, want %q", k, m[k], v)
		}
	}
	if !strings.Contains(messages[langZH]["banner_ambient_low"], "请移至室内/静候15分钟") && !strings.Contains(messages[langZH]["banner_ambient_low"], "请移至室内 / 静候15分钟") {
		t.Error("ambient banner wording")
	}
	if _, err := New(Opts{Lang: "fr"}); err == nil {
		t.Error("New accepted lang fr")
	}
}

func TestEveryKeyTranslated(t *testing.T) {
	for k := range messages[langZH] {
		if messages[langEN][k] == "" {
			t.Errorf("key %q has no English", k)
		}
	}
	for k := range messages[langEN] {
		if messages[langZH][k] == "" {
			t.Errorf("key %q has no Chinese", k)
		}
	}
}

func laneState(t *testing.T, f *fixture, name string) laneView {
	t.Helper()
	var st stateView
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	for _, l := range st.Lanes {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("lane %s not in state", name)
	return laneView{}
}

func TestLaneColourRule(t *testing.T) {
	type step func(f *fixture)
	consume := func(lane uint8, v pipeline.Verdict, c float64) step {
		return func(f *fixture) { f.s.Consume(f.measurement(lane, v, c)) }
	}
	flagCase := func(lane string) step {
		return func(f *fixture) { f.desk.flag(lane, 38.1, f.clock.now()) }
	}
	recheck := func(c float64) step {
		return func(f *fixture) {
			if _, err := f.desk.Recheck("R-001", c, "doctor"); err != nil {
				panic(err)
			}
		}
	}
	refer := func(f *fixture) {
		if _, err := f.desk.Refer("R-001", false, "doctor"); err != nil {
			panic(err)
		}
	}
	for _, tc := range []struct {
		name       string
		steps      []step
		wantState  string
		wantTicket string
	}{
		{"idle lane", nil, stateReady, ""},
		{"pass", []step{consume(0, pipeline.VerdictPass, 36.5)}, statePass, ""},
		{"flag then its case", []step{consume(0, pipeline.VerdictFlag, 38.1), flagCase("A")}, stateFlag, "R-001"},
		{"case reaches the screen first", []step{flagCase("A"), consume(0, pipeline.VerdictFlag, 38.1)}, stateFlag, "R-001"},
		{"a confirmed re-check is at the desk: lane free", []step{consume(0, pipeline.VerdictFlag, 38.1), flagCase("A"), recheck(38.0)}, stateReady, ""},
		{"cleared case returns the lane", []step{consume(0, pipeline.VerdictFlag, 38.1), flagCase("A"), recheck(36.8)}, stateReady, ""},
		{"referred case returns the lane", []step{consume(0, pipeline.VerdictFlag, 38.1), flagCase("A"), recheck(38.0), refer}, stateReady, ""},
		{"the next person keeps the flag red", []step{consume(0, pipeline.VerdictFlag, 38.1), flagCase("A"), consume(0, pipeline.VerdictPass, 36.4)}, stateFlag, "R-001"},
		{"a flag without a case is replaced", []step{consume(0, pipeline.VerdictFlag, 38.1), consume(0, pipeline.VerdictPass, 36.4)}, statePass, ""},
		{"after the desk, the next person shows", []step{consume(0, pipeline.VerdictFlag, 38.1), flagCase("A"), recheck(36.8), consume(0, pipeline.VerdictPass, 36.4)}, statePass, ""},
		{"another lane's pass keeps the flag", []step{consume(0, pipeline.VerdictFlag, 38.1), flagCase("A"), consume(1, pipeline.VerdictPass, 36.4)}, stateFlag, "R-001"},
		{"retake is not green", []step{consume(0, pipeline.VerdictRetake, 34.1)}, stateRetake, ""},
		{"invalid", []step{consume(0, pipeline.VerdictInvalid, math.NaN())}, stateInvalid, ""},
		{"unclassified is never green", []step{consume(0, pipeline.VerdictNone, 36.5)}, stateInvalid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			for _, st := range tc.steps {
				st(f)
			}
			l := laneState(t, f, "A")
			if l.State != tc.wantState || l.Ticket != tc.wantTicket {
				t.Fatalf("lane A = %s ticket %q, want %s ticket %q", l.State, l.Ticket, tc.wantState, tc.wantTicket)
			}
		})
	}
}

func TestFlagHeldUntilTheDesk(t *testing.T) {
	f := newFixture(t, nil)
	f.s.Consume(f.measurement(0, pipeline.VerdictFlag, 38.1))
	c := f.desk.flag("A", 38.1, f.clock.now())
	f.clock.advance(time.Hour)
	f.s.Consume(f.measurement(0, pipeline.VerdictPass, 36.4))
	l := laneState(t, f, "A")
	if l.State != stateFlag || l.Ticket != c.Ticket || l.Flagged == nil || *l.Flagged.BodyC != 38.1 || *l.Last.BodyC != 36.4 {
		t.Fatalf("an hour and a person later: %+v, want the flag held with its reading", l)
	}
	ck, csrf := f.login(t)
	if r := f.do(t, "POST", "/api/cases/"+c.Ticket+"/select", "", ck, csrf); r.code != http.StatusOK {
		t.Fatalf("select: %d %s", r.code, r.body)
	}
	if l := laneState(t, f, "A"); l.State != stateReady || l.Ticket != "" || l.Flagged != nil {
		t.Fatalf("after the doctor selected the ticket: %+v, want the lane free", l)
	}
}

func TestFlagHeldForTheSetTime(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.FlagHold = 2 * time.Minute })
	f.s.Consume(f.measurement(0, pipeline.VerdictFlag, 38.1))
	c := f.desk.flag("A", 38.1, f.clock.now())
	ck, csrf := f.login(t)
	f.do(t, "POST", "/api/cases/"+c.Ticket+"/select", "", ck, csrf)
	f.clock.advance(time.Minute)
	f.s.Consume(f.measurement(0, pipeline.VerdictPass, 36.4))
	if l := laneState(t, f, "A"); l.State != stateFlag || l.FlagHoldMs != 120000 {
		t.Fatalf("a minute later, selected at the desk: %+v, want still red (held 2 min)", l)
	}
	f.clock.advance(time.Minute)
	f.s.Consume(f.measurement(0, pipeline.VerdictPass, 36.5))
	if l := laneState(t, f, "A"); l.State != statePass {
		t.Fatalf("past the hold: %s, want the next person's pass", l.State)
	}
}

func TestRecentReadingsBoundedAndMarked(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.Recent = 3 })
	for i, c := range []float64{36.1, 36.2, 36.3, 36.4, 36.5} {
		m := f.measurement(2, pipeline.VerdictPass, c)
		m.Device = 1
		if i == 4 {
			m.Drill = true
			m.SetPersonID("S-2024-017")
		}
		f.s.Consume(m)
		f.clock.advance(time.Second)
	}
	l := laneState(t, f, "C")
	if len(l.Recent) != 3 || *l.Recent[0].BodyC != 36.5 || *l.Recent[2].BodyC != 36.3 {
		t.Fatalf("recent = %+v, want the 3 newest first", l.Recent)
	}
	last := l.Recent[0]
	if !last.Drill || last.Device != "gate-b" || last.At != f.clock.now().Add(-time.Second).UnixMilli() {
		t.Fatalf("last reading = %+v", last)
	}
	if l.Tally.Pass != 4 || l.Tally.Drill != 1 {
		t.Fatalf("tally = %+v, want 4 passes and 1 drill counted apart", l.Tally)
	}
	var nan pipeline.Measurement = *f.measurement(2, pipeline.VerdictInvalid, math.NaN())
	f.s.Consume(&nan)
	if l := laneState(t, f, "C"); l.Recent[0].BodyC != nil || l.Tally.Invalid != 1 {
		t.Fatalf("invalid reading shown as %+v", l.Recent[0])
	}
}

func TestTalliesResetAtLocalMidnight(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	f := newFixture(t, func(o *Opts) { o.Location = shanghai })
	f.clock.t = time.Date(2026, 11, 23, 23, 59, 0, 0, shanghai)
	f.s.Consume(f.measurement(0, pipeline.VerdictFlag, 38))
	f.s.Consume(f.measurement(0, pipeline.VerdictPass, 36))
	f.clock.advance(2 * time.Minute)
	f.s.Consume(f.measurement(0, pipeline.VerdictRetake, 34))
	if l := laneState(t, f, "A"); l.Tally != (tally{Retake: 1}) {
		t.Fatalf("tally after midnight = %+v", l.Tally)
	}
}

func TestQueueAndOverdue(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.RecheckOverdue = 10 * time.Minute })
	f.desk.flag("A", 38.1, f.clock.now())
	f.clock.advance(5 * time.Minute)
	f.desk.flag("staff", 37.5, f.clock.now())
	f.clock.advance(6 * time.Minute)
	var st stateView
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	if len(st.Cases) != 2 || st.OverdueMs != 600000 {
		t.Fatalf("state = %+v", st)
	}
	if c := st.Cases[0]; c.Ticket != "R-001" || !c.Overdue || *c.FlagC != 38.1 || c.Lane != "A" {
		t.Errorf("oldest case = %+v, want R-001 overdue", c)
	}
	if c := st.Cases[1]; c.Ticket != "R-002" || c.Overdue {
		t.Errorf("second case = %+v, want R-002 not overdue", c)
	}
	var one caseView
	f.do(t, "GET", "/api/cases/R-002", "", nil, "").json(t, &one)
	if one.Ticket != "R-002" || one.OpenedMs != f.clock.now().Add(-6*time.Minute).UnixMilli() {
		t.Errorf("GET case = %+v", one)
	}
	if r := f.do(t, "GET", "/api/cases/R-404", "", nil, ""); r.code != http.StatusNotFound {
		t.Errorf("unknown case: %d", r.code)
	}
}

func TestOpenCasesReadAtStart(t *testing.T) {
	desk := newFakeDesk()
	desk.flag("A", 38.0, time.Now())
	s, err := New(Opts{Lanes: testLanes, Desk: desk, DoctorPIN: []byte("1"), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.casesView(); len(cs) != 1 || cs[0].Ticket != "R-001" {
		t.Fatalf("cases at start = %+v", cs)
	}
}

func TestHealthBannersAndHealthz(t *testing.T) {
	f := newFixture(t, nil)
	hz := func() (int, healthz) {
		r := f.do(t, "GET", "/healthz", "", nil, "")
		var h healthz
		r.json(t, &h)
		return r.code, h
	}
	if code, h := hz(); code != http.StatusOK || !h.OK || len(h.Degraded) != 0 {
		t.Fatalf("fresh: %d %+v", code, h)
	}
	f.s.Health(event.Health{Component: "device", Device: "gun-a", State: event.HealthDown, Reason: "no frames 30s"})
	f.s.Health(event.Health{Component: "uplink", State: event.HealthDown})
	if code, h := hz(); code != http.StatusOK || !h.OK || strings.Join(h.Degraded, ",") != "uplink,device:gun-a" {
		t.Fatalf("device and uplink down: %d %+v", code, h)
	}
	f.s.Health(event.Health{Component: "storage", State: event.HealthDown, Reason: "disk full"})
	if code, h := hz(); code != http.StatusServiceUnavailable || h.OK || strings.Join(h.Down, ",") != "storage" {
		t.Fatalf("storage down: %d %+v", code, h)
	}
	f.s.Health(event.Health{Component: "storage", State: event.HealthUp})
	if code, _ := hz(); code != http.StatusOK {
		t.Fatalf("storage back: %d", code)
	}

	m := f.measurement(1, pipeline.VerdictPass, 36.5)
	m.Warnings = pipeline.WarnAmbientLow
	f.s.Consume(m)
	f.s.Health(event.Health{Component: "calibration", Device: "gate-b", State: event.HealthWarning, Reason: "14 days"})
	f.s.SetBanner(Banner{ID: "drill", Level: "info", Text: "banner_drill"})
	f.s.SetUplink("offline")
	var st stateView
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	var texts []string
	for _, b := range st.Health.Banners {
		texts = append(texts, b.Text+"@"+b.Arg)
	}
	if got := strings.Join(texts, "|"); got != "banner_ambient_low@B|banner_drill@|banner_calibration@gate-b" {
		t.Fatalf("banners = %s", got)
	}
	if st.Health.Uplink != "offline" || st.Health.Devices[1].Name != "gun-a" || st.Health.Devices[1].Reason != "no frames 30s" {
		t.Fatalf("health = %+v", st.Health)
	}
	f.s.Consume(f.measurement(1, pipeline.VerdictPass, 36.5))
	f.s.ClearBanner("drill")
	f.s.Health(event.Health{Component: "calibration", Device: "gate-b", State: event.HealthOK})
	f.do(t, "GET", "/api/state", "", nil, "").json(t, &st)
	if len(st.Health.Banners) != 0 {
		t.Fatalf("banners after recovery = %+v", st.Health.Banners)
	}
}

// Who reaches the screen on the LAN does not read the box's figures: they
// are on metrics.listen (internal/metrics).
func TestNoMetricsOnTheScreen(t *testing.T) {
	f := newFixture(t, nil)
	if r := f.do(t, "GET", "/metrics", "", nil, ""); r.code != http.StatusNotFound {
		t.Fatalf("/metrics on the screen: %d, want 404", r.code)
	}
}

// sseReader reads events from a live /events stream.
type sseReader struct {
	t  *testing.T
	sc *bufio.Scanner
}

// next returns the next event but a heartbeat.
func (r *sseReader) next() (string, string) {
	r.t.Helper()
	var name, data string
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "" && name == "hb":
			name, data = "", ""
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
	r.t.Fatalf("SSE stream ended: %v", r.sc.Err())
	return "", ""
}

func openEvents(t *testing.T, ctx context.Context, url string) *sseReader {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("/events Cache-Control %q", cc)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &sseReader{t: t, sc: sc}
}

func TestSSEDeliversLaneUpdateAfterConsume(t *testing.T) {
	f := newFixture(t, nil)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := openEvents(t, ctx, srv.URL)
	if name, data := ev.next(); name != "state" || !strings.Contains(data, `"name":"staff"`) {
		t.Fatalf("first event %s %s, want the state", name, data)
	}
	f.s.Consume(f.measurement(3, pipeline.VerdictFlag, 37.9))
	name, data := ev.next()
	var l laneView
	if err := json.Unmarshal([]byte(data), &l); err != nil || name != "lane" {
		t.Fatalf("event %s %s: %v", name, data, err)
	}
	if l.Name != "staff" || l.State != stateFlag || *l.Last.BodyC != 37.9 || l.Tally.Flag != 1 {
		t.Fatalf("lane update = %+v", l)
	}
	f.desk.flag("staff", 37.9, f.clock.now())
	name, data = ev.next()
	if name != "lane" || !strings.Contains(data, `"ticket":"R-001"`) {
		t.Fatalf("after the case opened: %s %s", name, data)
	}
	if name, data = ev.next(); name != "cases" || !strings.Contains(data, `"ticket":"R-001"`) {
		t.Fatalf("queue update: %s %s", name, data)
	}
}

// The page's fail-safe and its clock live on the heartbeat: at least one
// "hb" event a second, with the server's time and the school's offset.
func TestHeartbeatCarriesTheSchoolClock(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	f := newFixture(t, func(o *Opts) { o.Location = shanghai })
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	start := time.Now()
	for sc.Scan() {
		if sc.Text() != "event: hb" {
			continue
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("first heartbeat after %v, want within 1 s", took)
		}
		sc.Scan()
		var c clockView
		if err := json.Unmarshal([]byte(strings.TrimPrefix(sc.Text(), "data: ")), &c); err != nil {
			t.Fatal(err)
		}
		if c.Now != f.clock.now().UnixMilli() || c.TZOffsetMs != 8*3600*1000 {
			t.Fatalf("heartbeat %+v, want now %d and offset 8 h", c, f.clock.now().UnixMilli())
		}
		return
	}
	t.Fatalf("no heartbeat: %v", sc.Err())
}

func TestSlowClientNeverBlocksConsume(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.ClientBuffer = 4 })
	stuck, err := f.s.subscribe("10.0.0.1") // a client that never reads
	if err != nil {
		t.Fatal("subscribe refused")
	}
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			f.s.Consume(f.measurement(uint8(i%4), pipeline.VerdictPass, 36.5))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Consume blocked on a client that does not read")
	}
	if d := f.s.Dropped(); d != 1000-3 { // the snapshot took one of the 4 slots
		t.Fatalf("dropped = %d, want 997", d)
	}
	if !stuck.resync.Load() {
		t.Fatal("a client that lost messages is not marked for a resync")
	}
}

// syncWriter is a ResponseWriter whose output can be read while the stream
// writes.
type syncWriter struct {
	mu     sync.Mutex
	hdr    http.Header
	buf    strings.Builder
	writes chan struct{}
}

func (w *syncWriter) Header() http.Header { return w.hdr }
func (w *syncWriter) WriteHeader(int)     {}
func (w *syncWriter) Flush()              {}
func (w *syncWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	select {
	case w.writes <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestSSEClientResyncsAfterDrops(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.ClientBuffer = 3 })
	c, _ := f.s.subscribe("10.0.0.1")
	drain(c.ch) // the test checks what the stream sends after overflows
	for _, v := range []float64{36.1, 36.2, 36.3, 36.4, 36.5} {
		f.s.Consume(f.measurement(0, pipeline.VerdictPass, v))
	}
	if f.s.Dropped() != 2 || !c.resync.Load() {
		t.Fatalf("dropped %d, resync %v; want 2, true", f.s.Dropped(), c.resync.Load())
	}
	w := &syncWriter{hdr: http.Header{}, writes: make(chan struct{}, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.s.stream(ctx, w, c); close(done) }()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(w.String(), "event: state") {
		select {
		case <-w.writes:
		case <-deadline:
			t.Fatalf("no snapshot after drops; stream sent %q", w.String())
		}
	}
	cancel()
	<-done
	out := w.String()
	if strings.Contains(out, "event: lane") || !strings.Contains(out, `"body_c":36.5`) || len(c.ch) != 0 {
		t.Fatalf("stream after drops = %q; want the stale queue replaced by one fresh state", out)
	}
}

func TestTooManyClients(t *testing.T) {
	f := newFixture(t, func(o *Opts) { o.MaxClients = 1 })
	if _, err := f.s.subscribe("10.0.0.1"); err != nil {
		t.Fatal("first client refused")
	}
	r := f.do(t, "GET", "/events", "", nil, "")
	if r.code != http.StatusServiceUnavailable || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("second client: %d", r.code)
	}
}

func TestServeShutsDownWithOpenStreams(t *testing.T) {
	f := newFixture(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.s.Serve(ctx, ln) }()
	reqCtx, reqCancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer reqCancel()
	ev := openEvents(t, reqCtx, "http://"+ln.Addr().String())
	if name, _ := ev.next(); name != "state" {
		t.Fatal("no state")
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after ctx was done")
	}
	for ev.sc.Scan() {
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("still listening after shutdown")
	}
}

func TestLoadPIN(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/pin"
	if _, err := LoadPIN(path); err == nil || !strings.Contains(err.Error(), "pin") {
		t.Fatalf("missing file: %v", err)
	}
	writeFile(t, path, "\n")
	if _, err := LoadPIN(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("empty file: %v", err)
	}
	writeFile(t, path, "  2468\n")
	if pin, err := LoadPIN(path); err != nil || string(pin) != "2468" {
		t.Fatalf("LoadPIN = %q, %v", pin, err)
	}
}

// selectingDesk records which case the doctor selected.
type selectingDesk struct {
	*fakeDesk
	selected string
}

func (d *selectingDesk) Select(ticket string) error {
	d.selected = ticket
	return nil
}

func TestSelectReachesADeskThatSupportsIt(t *testing.T) {
	desk := &selectingDesk{fakeDesk: newFakeDesk()}
	f := newFixture(t, func(o *Opts) { o.Desk = desk })
	c := desk.flag("A", 38.0, f.clock.now())
	ck, csrf := f.login(t)
	if r := f.do(t, "POST", "/api/cases/"+c.Ticket+"/select", "{}", ck, ""); r.code != http.StatusForbidden {
		t.Fatalf("select without CSRF token: %d", r.code)
	}
	if r := f.do(t, "POST", "/api/cases/"+c.Ticket+"/select", "{}", ck, csrf); r.code != http.StatusOK || desk.selected != c.Ticket {
		t.Fatalf("select: %d, desk selected %q", r.code, desk.selected)
	}
}

func TestTicketFromTheMeasurement(t *testing.T) {
	f := newFixture(t, nil)
	m := f.measurement(1, pipeline.VerdictFlag, 38.6)
	m.Ticket = 7
	f.s.Consume(m)
	if l := laneState(t, f, "B"); l.Ticket != "R-007" || l.Recent[0].Ticket != "R-007" {
		t.Fatalf("lane B = %+v", l)
	}
	f.s.CaseChanged(event.Case{Ticket: "R-007", Lane: "B", State: event.CaseAwaitingRecheck})
	f.s.CaseChanged(event.Case{Ticket: "R-007", Lane: "B", State: event.CaseCleared})
	if l := laneState(t, f, "B"); l.State != stateReady {
		t.Fatalf("lane B after clear = %s", l.State)
	}
}

// pipeline.Cases is the Desk the daemon wires in.
var (
	_ Desk     = (*pipeline.Cases)(nil)
	_ Selector = (*pipeline.Cases)(nil)
)

func TestCrossOriginPostsRefused(t *testing.T) {
	f := newFixture(t, nil)
	for name, hdr := range map[string][2]string{
		"fetch metadata": {"Sec-Fetch-Site", "cross-site"},
		"origin":         {"Origin", "http://evil.example"},
	} {
		req := newRequest("POST", "/api/login", strings.NewReader(`{"pin":"`+testPIN+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(hdr[0], hdr[1])
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: cross-site login %d, want 403 without a session", name, rec.Code)
		}
	}
	req := newRequest("POST", "/api/login", strings.NewReader(`{"pin":"`+testPIN+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("same-origin login: %d", rec.Code)
	}
}

// The server's read timeout must not end a long-lived event stream.
func TestEventStreamOutlivesReadTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits past the server's read timeout")
	}
	f := newFixture(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.s.Serve(ctx, ln)
	reqCtx, reqCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer reqCancel()
	ev := openEvents(t, reqCtx, "http://"+ln.Addr().String())
	ev.next() // state
	time.Sleep(readTimeout + time.Second)
	f.s.Consume(f.measurement(0, pipeline.VerdictPass, 36.6))
	if name, data := ev.next(); name != "lane" || !strings.Contains(data, `"state":"pass"`) {
		t.Fatalf("after the read timeout got %s %s", name, data)
	}
}

func TestDoctorActionsLogged(t *testing.T) {
	var logs syncbuf.Buffer
	f := newFixture(t, func(o *Opts) { o.Logger = zerolog.New(&logs); o.Actor = "dr-wang" })
	c := f.desk.flag("A", 38.0, f.clock.now())
	f.do(t, "POST", "/api/login", `{"pin":"9999"}`, nil, "")
	ck, csrf := f.login(t)
	f.do(t, "POST", "/api/cases/"+c.Ticket+"/recheck", `{"temp_c":36.9}`, ck, csrf)
	f.do(t, "POST", "/api/cases/"+c.Ticket+"/recheck", `{"temp_c":36.9}`, ck, "forged")
	out := logs.String()
	for _, want := range []string{
		`"level":"warn","component":"screen","actor":"dr-wang","remote":"192.0.2.1:1234","message":"doctor login refused: wrong PIN"`,
		`"message":"doctor logged in"`,
		`"actor":"dr-wang","action":"recheck","ticket":"R-001","state":"cleared"`,
		`"message":"doctor action refused: bad CSRF token"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if strings.Contains(out, "9999") || strings.Contains(out, testPIN) || strings.Contains(out, csrf) {
		t.Error("a PIN or token was logged")
	}
	if got, _ := f.desk.Get(c.Ticket); got.Actor != "dr-wang" {
		t.Errorf("desk actor %q", got.Actor)
	}
}

func TestQueueKeepsTheMedicalRecordPrivate(t *testing.T) {
	f := newFixture(t, nil)
	c := f.desk.flag("A", 38.4, f.clock.now())
	ck, csrf := f.login(t)
	f.do(t, "POST", "/api/cases/"+c.Ticket+"/recheck", `{"temp_c":38.2}`, ck, csrf)
	r := f.do(t, "POST", "/api/cases/"+c.Ticket+"/refer", `{"contact_history":true}`, ck, csrf)
	if !strings.Contains(r.body, `"contact_history":true`) || !strings.Contains(r.body, `"recheck_c":38.2`) {
		t.Fatalf("the doctor's answer lacks the record: %s", r.body)
	}
	private := []string{"contact_history", "disposition", "recheck_c", "outcome", "person_id"}
	for _, path := range []string{"/api/state", "/api/cases", "/api/cases/" + c.Ticket} {
		body := f.do(t, "GET", path, "", nil, "").body
		if !strings.Contains(body, `"ticket":"R-001"`) || !strings.Contains(body, `"state":"referred"`) {
			t.Errorf("%s lacks the queue entry: %s", path, body)
		}
		for _, k := range private {
			if strings.Contains(body, `"`+k+`"`) {
				t.Errorf("%s shows %s to anyone: %s", path, k, body)
			}
		}
	}
	if body := f.do(t, "GET", "/api/cases/"+c.Ticket, "", ck, "").body; !strings.Contains(body, `"disposition":"cdc_transfer"`) {
		t.Errorf("the doctor's GET lacks the disposition: %s", body)
	}
}

// A verdict is shown only while fresh: as long as the lane's lamp holds it.
func TestVerdictShownAsLongAsTheLampHoldsIt(t *testing.T) {
	f := newFixture(t, nil)
	f.s.Consume(f.measurement(0, pipeline.VerdictPass, 36.5))
	if l := laneState(t, f, "A"); l.IdleMs != lamps.DefaultOpts.Hold.Milliseconds() {
		t.Fatalf("a pass is shown for %d ms, the lamp holds it %v", l.IdleMs, lamps.DefaultOpts.Hold)
	}
}
