package screen

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// serveOn serves the fixture's screen on addr until stop is called or the
// test ends; a failing Serve fails the test.
func (f *fixture) serveOn(t *testing.T, addr string) (url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- f.s.Serve(ctx, ln) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

var labelledLanes = []pipeline.Lane{
	{Name: "lane-1", Label: "1号通道", Role: event.RoleStudent, Device: 0},
	{Name: "lane-2", Label: "2号通道", Role: event.RoleStudent, Device: 1},
	{Name: "lane-3", Label: "3号通道", Role: event.RoleStudent, Device: 2},
	{Name: "staff", Label: "教职工通道", Role: event.RoleStaff, Device: 3},
}

// asciiWord finds English words on a page that must be all Chinese; the
// device names (configuration ids, shown as written) are taken out first.
var asciiWord = regexp.MustCompile(`[A-Za-z]{3,}`)

func TestBrowserFailsSafeAndSpeaksChinese(t *testing.T) {
	bin := findChromium(t)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *Opts) {
		o.Lanes, o.Devices, o.IdleAfter, o.Location = labelledLanes, testDevices("gun-a", "gate-b", "gun-c", "mlx-staff"), time.Hour, shanghai
	})
	f.s.now = time.Now // the page compares times with its own clock
	url, stop := f.serveOn(t, "127.0.0.1:0")
	addr := strings.TrimPrefix(url, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	for lane := range uint8(4) {
		m := pipeline.Measurement{Lane: lane, Device: uint16(lane), Verdict: pipeline.VerdictPass, BodyC: 36.5, Wall: time.Now().UnixNano()}
		f.s.Consume(&m)
	}
	for _, d := range []string{"gun-a", "gun-c", "mlx-staff"} {
		f.s.Health(event.Health{Component: "device", Device: d, State: event.HealthUp, Reason: "opened"})
	}
	f.s.Health(event.Health{Component: "device", Device: "gate-b", State: event.HealthDegraded, Reason: "PEC errors"})
	f.s.Health(event.Health{Component: "storage", State: event.HealthUp})
	f.s.Health(event.Health{Component: "calibration", Device: "gun-c", State: event.HealthWarning, Reason: "overdue: calibrated 2026-10-01, 63 days ago"})
	f.s.SetBanner(Banner{ID: "unknown_cards", Level: "info", Text: "banner_unknown_cards", Arg: "20"})
	f.s.SetUplink("connected")
	// A case waiting 20 minutes: overdue.
	f.desk.flag("lane-3", 38.0, time.Now().Add(-20*time.Minute))

	page := dialCDP(t, startChromium(t, ctx, bin))
	page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1024, "height": 600, "deviceScaleFactor": 1, "mobile": false}, nil)
	// The tablet runs on UTC; the school is in Shanghai.
	page.call("Emulation.setTimezoneOverride", map[string]any{"timezoneId": "UTC"}, nil)
	page.call("Page.navigate", map[string]any{"url": url + "/"}, nil)
	page.waitFor("page rendered", `document.querySelectorAll("#lanes .lane").length === 4 && document.getElementById("uplink").textContent.includes("已连接")`, 20*time.Second)
	tile := func(lane string) string { return `document.querySelector('[data-lane="` + lane + `"]')` }

	// Labels, not ids; a lane on a degraded device shows no green.
	if got := page.evalString(tile("lane-1") + `.querySelector(".lane-name").textContent + "/" + ` + tile("staff") + `.querySelector(".lane-name").textContent`); got != "1号通道/教职工通道" {
		t.Errorf("lane names %q, want the labels", got)
	}
	if got := page.evalString(tile("lane-2") + `.dataset.state + "/" + ` + tile("lane-2") + `.innerText`); !strings.HasPrefix(got, "device/") || !strings.Contains(got, "设备故障 — 请人工测温") || !strings.Contains(got, "gate-b: 异常") {
		t.Errorf("lane on a degraded device shows %q, want the device fault", got)
	}
	if got := page.evalString(`getComputedStyle(` + tile("lane-2") + `).backgroundColor`); got == "rgb(31, 122, 61)" {
		t.Error("lane on a degraded device is green")
	}
	// School time, not the tablet's.
	want := time.Now().In(shanghai).Format("15:04")
	page.waitFor("clock in school time "+want, `document.getElementById("clock").textContent.slice(0, 5) === "`+want+`" ||
		document.getElementById("clock").textContent.slice(0, 5) === "`+time.Now().Add(time.Minute).In(shanghai).Format("15:04")+`"`, 5*time.Second)
	// The overdue mark is the page's own drawing, not an emoji.
	if got := page.eval(`document.querySelector("#cases .overdue-mark svg") !== null && !document.body.innerText.includes("⏰")`); got != "true" {
		t.Error("overdue mark is not the inline SVG clock")
	}
	// Every visible string is Chinese, but for the device names.
	text := page.evalString(`document.body.innerText`)
	if !strings.Contains(text, "未登记的卡 — 20") || !strings.Contains(text, "校准已过期 — gun-c") {
		t.Errorf("banners missing from %q", text)
	}
	visible := text
	for _, id := range []string{"gun-a", "gate-b", "gun-c", "mlx-staff", "English"} {
		visible = strings.ReplaceAll(visible, id, "")
	}
	if words := asciiWord.FindAllString(visible, -1); len(words) > 0 {
		t.Errorf("English on the Chinese screen: %q in %q", words, text)
	}
	resp, err := http.Get(url + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("/favicon.ico: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// A flagged person on lane 1; the next person's pass keeps it red
	// while the case waits for the desk.
	flag := pipeline.Measurement{Lane: 0, Verdict: pipeline.VerdictFlag, Reason: pipeline.ReasonThreshold, BodyC: 38.3, Wall: time.Now().UnixNano()}
	f.s.Consume(&flag)
	ticket := f.desk.flag("lane-1", 38.3, time.Now()).Ticket
	next := pipeline.Measurement{Lane: 0, Verdict: pipeline.VerdictPass, BodyC: 36.4, Wall: time.Now().UnixNano()}
	f.s.Consume(&next)
	page.waitFor("lane 1 red after the next person", `(function(){ var l = `+tile("lane-1")+`;
		return l.dataset.state === "flag" && l.querySelector(".ticket").textContent === "`+ticket+`" &&
			l.querySelector(".temp").textContent === "38.3 °C" && l.querySelector(".recent li").textContent.includes("36.4"); })()`, 5*time.Second)
	page.screenshot("screen-zh-CN-device-fault-1024x600.png")

	// The desk refuses an action with its own English words: the Chinese
	// page says the action failed, without them.
	page.eval(`document.getElementById("pin").value = "` + testPIN + `"; document.getElementById("login-form").requestSubmit(); true`)
	page.waitFor("logged in", `document.querySelector('#cases tr[data-ticket="R-001"] button.select') !== null`, 10*time.Second)
	page.eval(`document.querySelector('#cases tr[data-ticket="R-001"] button.select').click(); true`)
	page.waitFor("re-check form", `!document.getElementById("recheck-form").hidden`, 10*time.Second)
	f.desk.mu.Lock()
	c := f.desk.cases["R-001"]
	c.State = event.CaseConfirmed // behind the screen's back: the desk will refuse
	f.desk.cases["R-001"] = c
	f.desk.mu.Unlock()
	page.eval(`document.getElementById("recheck-temp").value = "36.8"; document.getElementById("recheck-form").requestSubmit(); true`)
	page.waitFor("refusal in Chinese", `document.getElementById("doctor-msg").textContent === "操作失败: 409"`, 10*time.Second)

	// The daemon stops: within 3 s every tile says screening stopped,
	// upload and devices unknown.
	page.eval(`window.notReloaded = true`)
	stop()
	took := page.waitFor("every tile stopped", `(function(){
		var tiles = document.querySelectorAll("#lanes .lane");
		for (var i = 0; i < tiles.length; i++) if (tiles[i].dataset.state !== "stopped" || !tiles[i].innerText.includes("停止测温 — 请人工测温")) return false;
		var chips = document.querySelectorAll("#devices .chip");
		for (var j = 0; j < chips.length; j++) if (chips[j].dataset.state !== "unknown") return false;
		return tiles.length === 4 && document.getElementById("uplink").textContent === "上报: 未知";
	})()`, 3*time.Second)
	t.Logf("every tile stopped %v after the server stopped", took)
	page.screenshot("screen-zh-CN-stopped-1024x600.png")

	// It comes back on the same address: the page recovers by itself.
	f.serveOn(t, addr)
	took = page.waitFor("page recovered without a reload", `window.notReloaded === true &&
		`+tile("lane-1")+`.dataset.state === "flag" && `+tile("lane-3")+`.dataset.state === "pass" &&
		document.getElementById("uplink").textContent === "上报: 已连接" && document.getElementById("conn").hidden`, 15*time.Second)
	t.Logf("recovered %v after the server restarted", took)

	// In English, every visible string is English but the lane labels the
	// school wrote and the toggle back.
	page.call("Page.navigate", map[string]any{"url": url + "/?lang=en"}, nil)
	page.waitFor("English page", `document.documentElement.lang === "en" && document.querySelectorAll("#lanes .lane").length === 4 &&
		document.getElementById("uplink").textContent === "Uplink: connected"`, 20*time.Second)
	text = page.evalString(`document.body.innerText`)
	visible = text
	for _, l := range labelledLanes {
		visible = strings.ReplaceAll(visible, l.Label, "")
	}
	visible = strings.ReplaceAll(visible, "中文", "")
	if han := regexp.MustCompile(`\p{Han}+`).FindAllString(visible, -1); len(han) > 0 {
		t.Errorf("Chinese on the English screen: %q in %q", han, text)
	}
	if !strings.Contains(text, "Cards not in the roster — 20") || !strings.Contains(text, "gate-b: degraded (PEC errors)") {
		t.Errorf("English screen lacks the banner or the device reason: %q", text)
	}
}

// freezer is a TCP proxy that can stop passing bytes while keeping every
// connection open: a box that lost power, or Wi-Fi gone half-open, sends
// no error to the page, only silence.
type freezer struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezer{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.pass(c, up)
			go p.pass(up, c)
		}
	}()
	return p
}

func (p *freezer) pass(from, to net.Conn) {
	defer from.Close()
	defer to.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		for p.frozen.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestBrowserStopsOnASilentStream(t *testing.T) {
	bin := findChromium(t)
	f := newFixture(t, func(o *Opts) { o.IdleAfter = time.Hour })
	f.s.now = time.Now
	url := f.serve(t)
	proxy := newFreezer(t, strings.TrimPrefix(url, "http://"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for lane := range uint8(4) {
		m := pipeline.Measurement{Lane: lane, Verdict: pipeline.VerdictPass, BodyC: 36.5, Wall: time.Now().UnixNano()}
		f.s.Consume(&m)
	}
	f.s.SetUplink("connected")

	page := dialCDP(t, startChromium(t, ctx, bin))
	page.call("Page.navigate", map[string]any{"url": "http://" + proxy.ln.Addr().String() + "/"}, nil)
	page.waitFor("page rendered", `document.querySelectorAll('#lanes .lane[data-state="pass"]').length === 4`, 20*time.Second)
	page.eval(`window.notReloaded = true`)
	proxy.frozen.Store(true)
	took := page.waitFor("every tile stopped on silence", `(function(){
		var tiles = document.querySelectorAll("#lanes .lane");
		for (var i = 0; i < tiles.length; i++) if (tiles[i].dataset.state !== "stopped") return false;
		return tiles.length === 4 && document.getElementById("uplink").textContent === "上报: 未知";
	})()`, 3500*time.Millisecond)
	t.Logf("every tile stopped %v after the stream went silent", took)
	if took > 3*time.Second {
		t.Errorf("stopped only %v after the silence, want within 3 s", took)
	}
	proxy.frozen.Store(false)
	page.waitFor("recovered after the silence", `window.notReloaded === true &&
		document.querySelectorAll('#lanes .lane[data-state="pass"]').length === 4`, 15*time.Second)
}
