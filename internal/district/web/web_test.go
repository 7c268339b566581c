package web

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

func screenOf(t *testing.T, c *client, query string) (*Screen, string) {
	t.Helper()
	resp, body := c.do("GET", "/api/v1/screen"+query, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("screen: %s %s", resp.Status, body)
	}
	var sc Screen
	if err := json.Unmarshal([]byte(body), &sc); err != nil {
		t.Fatal(err)
	}
	return &sc, body
}

func loggedIn(t *testing.T, f *fixture, name, password string) *client {
	t.Helper()
	c := f.start(t)
	if code, page := c.login(name, password); code != http.StatusSeeOther {
		t.Fatalf("login %s: %d\n%s", name, code, page)
	}
	return c
}

func TestLoginRequired(t *testing.T) {
	c := newFixture(t).start(t)
	if resp, _ := c.do("GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / without a session: %s to %q, want a redirect to /login", resp.Status, resp.Header.Get("Location"))
	}
	if resp, body := c.do("GET", "/api/v1/screen", nil, nil); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "hd17") {
		t.Errorf("screen without a session: %s %q", resp.Status, body)
	}
	// A forged session cookie is no session.
	u, _ := url.Parse(c.base)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "forged"}})
	if resp, _ := c.do("GET", "/api/v1/screen", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("screen with a forged cookie: %s", resp.Status)
	}
	// The assets are public: they hold no data.
	if resp, body := c.do("GET", "/assets/app.js", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "/api/v1/screen") {
		t.Errorf("app.js: %s", resp.Status)
	}
}

func TestLoginSessionCookie(t *testing.T) {
	f := newFixture(t)
	c := f.start(t)
	resp, _ := c.do("POST", "/login", url.Values{"csrf": {c.csrf("/login")}, "name": {bureauName}, "password": {bureauPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || len(sess.Value) < 40 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP, a long token", sess)
	}
	if resp, _ := c.do("GET", "/", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET / logged in: %s", resp.Status)
	}
	// Over TLS the cookie is Secure.
	req := httptest.NewRequest("POST", "/login", nil)
	req.TLS = &tls.ConnectionState{}
	if ck := f.srv.cookie(req, sessionCookie, "x", 1); !ck.Secure {
		t.Error("session cookie over TLS not Secure")
	}
	// The session ends after its TTL.
	f.advance(13 * time.Hour)
	if resp, _ := c.do("GET", "/api/v1/screen", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("screen 13 h after login: %s, want 401", resp.Status)
	}
}

func TestWrongPasswordRefusedAndRateLimited(t *testing.T) {
	f := newFixture(t)
	c := f.start(t)
	for i := 0; i < 5; i++ {
		code, page := c.login(bureauName, "wrong")
		if code != http.StatusUnauthorized || !strings.Contains(page, "用户名或密码错误") {
			t.Fatalf("wrong password %d: %d\n%s", i+1, code, page)
		}
	}
	if code, _ := c.login("nobody", bureauPassword); code != http.StatusUnauthorized {
		t.Errorf("unknown user: %d, want 401", code)
	}
	// The sixth try in the window is refused, right password or not.
	if code, page := c.login(bureauName, bureauPassword); code != http.StatusTooManyRequests || !strings.Contains(page, "失败次数过多") {
		t.Fatalf("right password after 5 failures: %d, want 429\n%s", code, page)
	}
	if resp, _ := c.do("GET", "/api/v1/screen", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a refused login gave a session: %s", resp.Status)
	}
	// Another account from the same address is not locked by wang's failures.
	if code, _ := c.login(cdcName, cdcPassword); code != http.StatusSeeOther {
		t.Errorf("li after wang's failures: %d", code)
	}
	// Once the oldest failure is 15 min old, wang may try again.
	f.advance(15 * time.Minute)
	if code, _ := c.login(bureauName, bureauPassword); code != http.StatusSeeOther {
		t.Errorf("right password 15 min later: %d, want 303", code)
	}
}

func TestRateLimitedByAddress(t *testing.T) {
	f := newFixture(t)
	c := f.start(t)
	for i := 0; i < 20; i++ { // 4× the per-account limit, each name new
		if code, _ := c.login("guess"+string(rune('a'+i)), "x"); code != http.StatusUnauthorized {
			t.Fatalf("try %d: %d", i+1, code)
		}
	}
	if code, _ := c.login(cdcName, cdcPassword); code != http.StatusTooManyRequests {
		t.Errorf("after 20 failures from one address: %d, want 429", code)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	c := f.start(t)
	// A login form posted from elsewhere carries no token of ours.
	if resp, page := c.do("POST", "/login", url.Values{"name": {bureauName}, "password": {bureauPassword}}, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "页面已过期") {
		t.Errorf("login without the form's token: %s", resp.Status)
	}
	c.csrf("/login") // the cookie is set, the field forged
	if resp, _ := c.do("POST", "/login", url.Values{"csrf": {"forged"}, "name": {bureauName}, "password": {bureauPassword}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with a forged token: %s", resp.Status)
	}
	if code, _ := c.login(bureauName, bureauPassword); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	if resp, _ := c.do("POST", "/logout", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without the token: %s, want 403", resp.Status)
	}
	if resp, _ := c.do("GET", "/api/v1/screen", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the refused logout ended the session: %s", resp.Status)
	}
	if resp, _ := c.do("POST", "/logout", url.Values{"csrf": {c.csrf("/")}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout with the token: %s", resp.Status)
	}
	if resp, _ := c.do("GET", "/api/v1/screen", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("screen after logout: %s", resp.Status)
	}
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	bureau := loggedIn(t, f, bureauName, bureauPassword)
	cdc := loggedIn(t, f, cdcName, cdcPassword)

	b, _ := screenOf(t, bureau, "")
	if b.Role != store.RoleBureau || len(b.Gates) != 4 || len(b.Warnings) != 3 || len(b.Alerts) != 5 {
		t.Errorf("bureau sees %d gates, %d warnings, %d alerts; want 4, 3, 5", len(b.Gates), len(b.Warnings), len(b.Alerts))
	}
	c, body := screenOf(t, cdc, "")
	if c.Role != store.RoleCDC || strings.Contains(body, `"gates":[`) || strings.Contains(body, `"warnings"`) || strings.Contains(body, "ir-3") {
		t.Errorf("the CDC liaison sees the devices: %s", body)
	}
	if len(c.Cases) != 1 || c.Cases[0].Ticket != "R-001" || len(c.Schools) != 3 {
		t.Errorf("the CDC liaison sees cases %+v and %d schools; want R-001 and 3", c.Cases, len(c.Schools))
	}
	var kinds []string
	for _, a := range c.Alerts {
		kinds = append(kinds, a.Kind)
	}
	if strings.Join(kinds, " ") != "daily_missing case_cdc_transfer case_confirmed" {
		t.Errorf("the CDC liaison sees alerts %v; want the missing report and the case's, not the offline box", kinds)
	}
	_, page := cdc.do("GET", "/", nil, nil)
	if strings.Contains(page, `id="gates"`) || strings.Contains(page, `id="warnings"`) || !strings.Contains(page, `id="cases"`) || !strings.Contains(page, "疾控联络员") {
		t.Errorf("the CDC liaison's page has the bureau's panels, or lacks the cases:\n%s", page)
	}
	_, page = bureau.do("GET", "/", nil, nil)
	if !strings.Contains(page, `id="gates"`) || !strings.Contains(page, `id="warnings"`) || !strings.Contains(page, "教育局") {
		t.Errorf("the bureau's page lacks the gates or warnings:\n%s", page)
	}
}

// hasHan reports whether s holds a Chinese character.
func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func TestZhCNFirstEnglishOnRequest(t *testing.T) {
	for key := range texts {
		if zh := text(langZH, key); !hasHan(zh) {
			t.Errorf("zh-CN %s = %q: no Chinese", key, zh)
		}
		if en := text(langEN, key); en == "" {
			t.Errorf("en %s is empty", key)
		}
	}
	f := newFixture(t)
	c := f.start(t)
	_, page := c.do("GET", "/login", nil, nil)
	if !strings.Contains(page, `lang="zh-CN"`) || !strings.Contains(page, "登录") {
		t.Errorf("default login page not zh-CN:\n%s", page)
	}
	_, page = c.do("GET", "/login", nil, http.Header{"Accept-Language": {"en-GB,en;q=0.9,zh;q=0.5"}})
	if !strings.Contains(page, `lang="en"`) || !strings.Contains(page, "Log in") {
		t.Errorf("Accept-Language en: not English:\n%s", page)
	}
	if code, _ := c.login(bureauName, bureauPassword); code != http.StatusSeeOther {
		t.Fatal("login")
	}
	_, page = c.do("GET", "/?lang=en", nil, nil)
	if !strings.Contains(page, `lang="en"`) || !strings.Contains(page, "Re-check cases") || hasHan(strings.ReplaceAll(page, "中文", "")) {
		t.Errorf("?lang=en: the page is not English (but for the toggle)")
	}
	// ?lang= is remembered; the chart speaks the page's language.
	sc, _ := screenOf(t, c, "")
	if !strings.Contains(sc.Schools[0].Chart, "fever rate, 14 days") {
		t.Errorf("English chart: %s", sc.Schools[0].Chart)
	}
	_, page = c.do("GET", "/?lang=zh-CN", nil, nil)
	if !strings.Contains(page, `lang="zh-CN"`) || !strings.Contains(page, "复测病例") || !strings.Contains(page, "English") {
		t.Errorf("?lang=zh-CN: not Chinese with its toggle")
	}
	sc, _ = screenOf(t, c, "")
	if !strings.Contains(sc.Schools[0].Chart, "近14天发热率") {
		t.Errorf("Chinese chart: %s", sc.Schools[0].Chart)
	}
}

// The screen's counts are the store's: readings by verdict today (drills
// apart), the reports' 迟报/漏报 as the summary has them, the cases.
func TestCountsMatchTheStore(t *testing.T) {
	f := newFixture(t)
	sc, _ := screenOf(t, loggedIn(t, f, bureauName, bureauPassword), "")
	start, _, _ := f.srv.opts.Schedule.Bounds("2026-11-23")
	want, err := f.st.ReadingCounts(context.Background(), ts(start), ts(start.AddDate(0, 0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]School{}
	for _, s := range sc.Schools {
		got[s.School] = s
	}
	for _, w := range want {
		if got[w.School].Today != w.Counts {
			t.Errorf("%s today %+v, the store has %+v", w.School, got[w.School].Today, w.Counts)
		}
	}
	if h := got["hd17"]; h.Today != (store.Counts{Total: 8, Pass: 4, Flag: 2, Retake: 1, Invalid: 1}) || h.Late || h.Missing || h.DueGates != 2 || h.DueReported != 2 {
		t.Errorf("hd17 %+v: want 8 screened, 2 flags, both gates reported in time", h)
	}
	if h := got["hd20"]; !h.Missing || h.Late || h.DueReported != 0 || h.DueGates != 1 {
		t.Errorf("hd20 %+v: want 漏报", h)
	}
	if h := got["hd30"]; !h.Late || h.Missing || h.DueReported != 1 {
		t.Errorf("hd30 %+v: want 迟报", h)
	}
	// The chart's last day is today's rate so far: 2 flags in 8 readings.
	if r := got["hd17"].Rates; len(r) != chartDays || r[chartDays-1] != 25 || r[0] != -1 || !strings.Contains(got["hd17"].Chart, "<svg") {
		t.Errorf("hd17 rates %v", r)
	}
	if len(sc.Cases) != 1 || sc.Cases[0].State != "referred" || sc.Cases[0].Disposition != "cdc_transfer" || *sc.Cases[0].RecheckC != 37.9 {
		t.Errorf("cases %+v: want R-001 referred to the CDC (R-002 was cleared)", sc.Cases)
	}
	var west *Gate
	for i := range sc.Gates {
		if sc.Gates[i].Box == "hd17-west" {
			west = &sc.Gates[i]
		}
	}
	if west == nil || west.State != "offline" || west.Reason != "connection_lost" || west.Since != "11-23 19:00" {
		t.Errorf("hd17-west %+v: want offline since the will arrived at 19:00", west)
	}
	var kinds []string
	for _, w := range sc.Warnings {
		kinds = append(kinds, w.Kind+":"+w.Device)
	}
	if strings.Join(kinds, " ") != "health:ir-3 calibration:ir-2 calibration:ir-4" {
		t.Errorf("warnings %v: want ir-3 down, ir-2's 0.7 °C offset and ir-4's 0.6 °C spread", kinds)
	}
	if sc.ReportDay != "2026-11-23" || !sc.SchoolDay || sc.Deadline != "20:00" {
		t.Errorf("report day %s (school day %v), deadline %s", sc.ReportDay, sc.SchoolDay, sc.Deadline)
	}
}

// Before the deadline, today's reports are counted but none is 漏报 yet:
// the report day is the day before, when these boxes owed nothing.
func TestBeforeTheDeadlineNothingIsMissing(t *testing.T) {
	f := newFixture(t)
	f.advance(-2 * time.Hour) // 18:30
	sc, _ := screenOf(t, loggedIn(t, f, bureauName, bureauPassword), "")
	for _, s := range sc.Schools {
		if s.Missing || s.Late {
			t.Errorf("%s at 18:30: missing %v, late %v", s.School, s.Missing, s.Late)
		}
	}
	if sc.ReportDay != "2026-11-22" || sc.SchoolDay {
		t.Errorf("report day %s (school day %v): want Sunday the 22nd", sc.ReportDay, sc.SchoolDay)
	}
}

// The CDC liaison's alerts are the newest of the kinds it sees, however
// many alerts of the bureau's kinds were raised since.
func TestCDCAlertsNotCrowdedOutByOfflineBoxes(t *testing.T) {
	f := newFixture(t)
	for i := range 60 {
		if _, err := f.st.RaiseAlert(context.Background(), store.NewAlert{Kind: store.AlertBoxOffline, School: "hd17", Box: "hd17-west",
			At: fixedNow.Add(-time.Minute), Key: fmt.Sprintf("hd17-west:flap-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	sc, _ := screenOf(t, loggedIn(t, f, cdcName, cdcPassword), "")
	var kinds []string
	for _, a := range sc.Alerts {
		kinds = append(kinds, a.Kind)
	}
	if strings.Join(kinds, " ") != "daily_missing case_cdc_transfer case_confirmed" {
		t.Errorf("the CDC liaison sees alerts %v after 60 offline alerts; want the missing report and the case's", kinds)
	}
}

// A box whose clock is a year behind is a clock warning on the screen,
// not a backlog of 525,600 minutes; its reading counts today.
func TestClockAYearOffIsNotABacklog(t *testing.T) {
	f := newFixture(t)
	sc, _ := screenOf(t, loggedIn(t, f, bureauName, bureauPassword), "")
	var g *Gate
	for i := range sc.Gates {
		if sc.Gates[i].Box == "hd20-main" {
			g = &sc.Gates[i]
		}
	}
	if g == nil || g.Clock != "off" || g.BacklogMin != 0 || g.ClockOffMin != -525600 {
		t.Errorf("hd20-main %+v: want the clock off by -525600 min and no backlog", g)
	}
	for _, s := range sc.Schools {
		if s.School == "hd20" && s.Today.Total != 2 {
			t.Errorf("hd20 today %+v: want both readings, the year-off one at its arrival", s.Today)
		}
	}
	var kinds []string
	for _, a := range sc.Alerts {
		kinds = append(kinds, a.Kind)
	}
	if !strings.Contains(strings.Join(kinds, " "), store.AlertClock) {
		t.Errorf("alerts %v: want box_clock", kinds)
	}
}

// Cases sort newest first by when they happened, across a new year too
// ("01-01 00:10" sorts before "12-31 23:50" as text).
func TestCasesSortAcrossANewYear(t *testing.T) {
	f := newFixture(t)
	f.now = time.Date(2027, 1, 1, 8, 0, 0, 0, loc)
	site := store.Site{District: "hd", School: "hd17", Gate: "east"}
	eve, newYear := time.Date(2026, 12, 31, 23, 50, 0, 0, loc), time.Date(2027, 1, 1, 0, 10, 0, 0, loc)
	if _, err := f.st.Write(context.Background(), &store.Batch{Messages: []store.Message{
		msg(site, "hd17-east", "cases", newYear.Add(time.Minute),
			caseEv("hd17-east", "R-010", "awaiting_recheck", "", eve),
			caseEv("hd17-east", "R-011", "awaiting_recheck", "", newYear)),
	}}); err != nil {
		t.Fatal(err)
	}
	sc, _ := screenOf(t, loggedIn(t, f, bureauName, bureauPassword), "")
	var got []string
	for _, c := range sc.Cases {
		got = append(got, c.Ticket+"@"+c.At)
	}
	if strings.Join(got, " ") != "R-011@01-01 00:10 R-010@12-31 23:50" {
		t.Errorf("cases %v: want R-011 (new year's day) first", got)
	}
}
