package screen

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/ci"
	"github.com/gatescreen/gatescreen/pipeline"
)

// The browser test drives headless Chromium over the DevTools protocol.
// Set SCREENSHOT_DIR to also save 1024×600 screenshots of the screen
// (docs/screenshots/ holds the committed ones).

func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	ci.Missing(t, "chromium not installed (apt-get install -y chromium)")
	return ""
}

var devtoolsURL = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startChromium starts headless Chromium and returns the DevTools websocket
// URL of its first page.
func startChromium(t *testing.T, ctx context.Context, bin string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1024,600",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Chromium's helpers are in its process group: end them all, and only them.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsURL.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not print its DevTools address")
	}
	host := strings.TrimPrefix(browserWS, "ws://")
	host = host[:strings.IndexByte(host, '/')]
	var targets []struct {
		Type string `json:"type"`
		WS   string `json:"webSocketDebuggerUrl"`
	}
	resp, err := http.Get("http://" + host + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			return tg.WS
		}
	}
	t.Fatalf("no page target in %+v", targets)
	return ""
}

// cdp is a minimal DevTools protocol client, used from one goroutine.
type cdp struct {
	t    *testing.T
	conn *websocket.Conn
	id   int
}

func dialCDP(t *testing.T, url string) *cdp {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial DevTools: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &cdp{t: t, conn: conn}
}

func (c *cdp) call(method string, params any, result any) {
	c.t.Helper()
	if err := c.callErr(method, params, result); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cdp) callErr(method string, params any, result any) error {
	c.id++
	id := c.id
	if err := c.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := c.conn.ReadJSON(&msg); err != nil {
			return fmt.Errorf("%s: read: %w", method, err)
		}
		if msg.ID != id {
			continue // an event or an older reply
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(msg.Result, result); err != nil {
				return fmt.Errorf("%s: decode: %w", method, err)
			}
		}
		return nil
	}
}

// eval runs JavaScript in the page and returns its value as JSON text.
func (c *cdp) eval(expr string) string {
	c.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if res.Exception != nil {
		c.t.Fatalf("eval %s: %s", expr, res.Exception.Text)
	}
	return string(res.Result.Value)
}

// evalString runs JavaScript that returns a string.
func (c *cdp) evalString(expr string) string {
	c.t.Helper()
	var s string
	if err := json.Unmarshal([]byte(c.eval(expr)), &s); err != nil {
		c.t.Fatalf("eval %s: not a string: %v", expr, err)
	}
	return s
}

// waitFor polls a JavaScript condition until it is true or the timeout ends.
func (c *cdp) waitFor(what, cond string, timeout time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		// Exceptions and a page being replaced count as "not yet".
		var res struct {
			Result struct {
				Value bool `json:"value"`
			} `json:"result"`
		}
		err := c.callErr("Runtime.evaluate", map[string]any{"returnByValue": true,
			"expression": "(function(){try{return !!(" + cond + ")}catch(e){return false}})()"}, &res)
		if err == nil && res.Result.Value {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			c.t.Fatalf("%s: not within %v; page: %s", what, timeout,
				c.eval(`document.querySelector("main").innerText + " | " + document.getElementById("doctor").innerText`))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cdp) screenshot(name string) {
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	c.t.Helper()
	var res struct {
		Data string `json:"data"`
	}
	c.call("Page.captureScreenshot", map[string]any{"format": "png"}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// serve serves the fixture's screen on 127.0.0.1 until the test ends, and
// returns its base URL; a failing Serve fails the test.
func (f *fixture) serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- f.s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestBrowserFlagRecheckAndClear(t *testing.T) {
	bin := findChromium(t)
	f := newFixture(t, func(o *Opts) { o.IdleAfter = time.Hour })
	f.s.now = time.Now // the page compares times with its own clock
	url := f.serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	// A gate in the middle of the morning: every lane colour on screen.
	now := time.Now()
	for _, m := range []pipeline.Measurement{
		{Lane: 0, Verdict: pipeline.VerdictPass, BodyC: 36.4},
		{Lane: 1, Verdict: pipeline.VerdictPass, BodyC: 36.6, Device: 1},
		{Lane: 1, Verdict: pipeline.VerdictRetake, Reason: pipeline.ReasonBelowFloor, BodyC: 34.2, Device: 1},
		{Lane: 2, Verdict: pipeline.VerdictPass, BodyC: 36.5, Drill: true},
		{Lane: 3, Verdict: pipeline.VerdictPass, BodyC: 36.7, AmbientC: 12.5, Warnings: pipeline.WarnAmbientLow},
	} {
		m.Wall = now.UnixNano()
		m.SetPersonID(fmt.Sprintf("S-%d", m.Lane+101))
		f.s.Consume(&m)
	}
	f.s.Health(event.Health{Component: "device", Device: "gun-a", State: event.HealthUp})
	f.s.Health(event.Health{Component: "device", Device: "gate-b", State: event.HealthDegraded, Reason: "PEC errors"})
	f.s.Health(event.Health{Component: "storage", State: event.HealthUp})
	f.s.SetUplink("connected")

	page := dialCDP(t, startChromium(t, ctx, bin))
	page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1024, "height": 600, "deviceScaleFactor": 1, "mobile": false}, nil)
	page.call("Page.navigate", map[string]any{"url": url + "/"}, nil)
	page.waitFor("lanes rendered", `document.querySelectorAll("#lanes .lane").length === 4 && document.getElementById("uplink").textContent.includes("已连接")`, 20*time.Second)
	if got := page.evalString(`document.getElementById("banners").textContent`); !strings.Contains(got, "请移至室内 / 静候15分钟") || !strings.Contains(got, "staff") {
		t.Fatalf("ambient banner = %q", got)
	}
	if got := page.evalString(`document.querySelector('[data-lane="B"]').dataset.state + "/" + document.querySelector('[data-lane="B"] .label').textContent`); got != "retake/重测" {
		t.Fatalf("lane B shows %s", got)
	}
	if got := page.eval(`document.querySelector('[data-lane="C"] .drill') !== null`); got != "true" {
		t.Fatal("drill reading not marked 演练")
	}

	// A flagged person on lane A: red with its ticket within a second.
	flag := pipeline.Measurement{Lane: 0, Verdict: pipeline.VerdictFlag, Reason: pipeline.ReasonThreshold, BodyC: 38.3, Wall: time.Now().UnixNano()}
	flag.SetPersonID("S-2024-031")
	f.s.Consume(&flag)
	ticket := f.desk.flag("A", 38.3, time.Now()).Ticket
	took := page.waitFor("lane A red with its ticket", `(function(){
		var l = document.querySelector('[data-lane="A"]');
		return l.dataset.state === "flag" && l.querySelector(".label").textContent === "复检" &&
			l.querySelector(".ticket") && l.querySelector(".ticket").textContent === "`+ticket+`" &&
			document.querySelector('#cases tr[data-ticket="`+ticket+`"]') !== null;
	})()`, time.Second)
	t.Logf("flag shown %v after injection", took)
	if got := page.evalString(`getComputedStyle(document.querySelector('[data-lane="A"]')).backgroundColor`); got != "rgb(196, 22, 28)" {
		t.Errorf("flagged lane colour %s, want red", got)
	}

	// A wrong PIN is refused.
	page.eval(`document.getElementById("pin").value = "0000"; document.getElementById("login-form").requestSubmit(); true`)
	page.waitFor("wrong PIN refused", `document.getElementById("doctor-msg").textContent === "密码错误"`, 10*time.Second)
	if got := page.eval(`document.getElementById("doctor-panel").hidden`); got != "true" {
		t.Fatal("doctor panel shown after a wrong PIN")
	}

	// The doctor logs in, selects the ticket and records 36.8 °C.
	page.eval(`document.getElementById("pin").value = "` + testPIN + `"; document.getElementById("login-form").requestSubmit(); true`)
	page.waitFor("logged in", `!document.getElementById("doctor-panel").hidden && document.querySelector('#cases tr[data-ticket="`+ticket+`"] button.select') !== null`, 10*time.Second)
	page.screenshot("screen-zh-CN-flag-1024x600.png")
	// Selecting the ticket says the person is at the desk: lane A is free
	// for the next person, as its lamp is.
	page.eval(`document.querySelector('#cases tr[data-ticket="` + ticket + `"] button.select').click(); true`)
	page.waitFor("recheck form shown, lane A free", `!document.getElementById("recheck-form").hidden &&
		document.querySelector('[data-lane="A"]').dataset.state === "ready"`, 10*time.Second)
	page.eval(`document.getElementById("recheck-temp").value = "36.8"; document.getElementById("recheck-form").requestSubmit(); true`)
	page.waitFor("case cleared, lane back to normal", `(function(){
		var l = document.querySelector('[data-lane="A"]');
		return l.dataset.state === "ready" && l.querySelector(".ticket") === null &&
			document.querySelector('#cases tr[data-ticket="`+ticket+`"]') === null &&
			!document.getElementById("queue-empty").hidden;
	})()`, 10*time.Second)
	c, _ := f.desk.Get(ticket)
	if c.State != event.CaseCleared || c.RecheckC == nil || *c.RecheckC != 36.8 || c.Actor != "doctor" {
		t.Fatalf("desk case = %+v", c)
	}
	page.screenshot("screen-zh-CN-cleared-1024x600.png")

	// English by the toggle.
	page.eval(`document.getElementById("lang").click(); true`)
	page.waitFor("English page", `document.documentElement.lang === "en" && document.querySelectorAll("#lanes .lane").length === 4 && document.querySelector('[data-lane="B"] .label').textContent === "RETAKE"`, 20*time.Second)
	page.screenshot("screen-en-1024x600.png")

	// A phone: one column.
	page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}, nil)
	page.call("Page.navigate", map[string]any{"url": url + "/?lang=zh-CN"}, nil)
	page.waitFor("phone page", `document.documentElement.lang === "zh-CN" && document.querySelectorAll("#lanes .lane").length === 4`, 20*time.Second)
	if cols := page.evalString(`getComputedStyle(document.querySelector("main")).gridTemplateColumns`); strings.Contains(cols, " ") {
		t.Errorf("phone layout has columns %q, want one", cols)
	}
	page.screenshot("screen-zh-CN-phone-390.png")
}
