package web

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gatescreen/gatescreen/internal/testkit/ci"
)

// The browser test drives headless Chromium over the DevTools protocol, as
// screen/browser_test.go does for the box's screen. Set SCREENSHOT_DIR to
// save screenshots (docs/screenshots/district-*.png are the committed ones).

func chromium(t *testing.T, ctx context.Context) *cdp {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		ci.Missing(t, "chromium not installed (apt-get install -y chromium)")
	}
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--window-size=1280,900", "--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on ws://([^/]+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var host string
	select {
	case host = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not print its DevTools address")
	}
	resp, err := http.Get("http://" + host + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var targets []struct{ Type, WebSocketDebuggerURL string }
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			conn, _, err := websocket.DefaultDialer.Dial(tg.WebSocketDebuggerURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return &cdp{t: t, conn: conn}
		}
	}
	t.Fatal("no page target")
	return nil
}

// cdp is a minimal DevTools protocol client, used from one goroutine.
type cdp struct {
	t    *testing.T
	conn *websocket.Conn
	id   int
}

func (c *cdp) call(method string, params, result any) error {
	c.id++
	if err := c.conn.WriteJSON(map[string]any{"id": c.id, "method": method, "params": params}); err != nil {
		return err
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct{ Message string }
		}
		if err := c.conn.ReadJSON(&msg); err != nil {
			return err
		}
		if msg.ID != c.id {
			continue
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(msg.Result, result)
		}
		return nil
	}
}

// eval runs JavaScript and returns its value as JSON text ("" on an exception).
func (c *cdp) eval(expr string) string {
	var res struct {
		Result    struct{ Value json.RawMessage }
		Exception *struct{ Text string } `json:"exceptionDetails"`
	}
	if err := c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res); err != nil {
		c.t.Fatal(err)
	}
	if res.Exception != nil {
		return ""
	}
	return string(res.Result.Value)
}

// evalString runs JavaScript returning a string.
func (c *cdp) evalString(expr string) string {
	var s string
	_ = json.Unmarshal([]byte(c.eval(expr)), &s)
	return s
}

func (c *cdp) waitFor(what, cond string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for c.eval("!!("+cond+")") != "true" {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within 20 s; page: %s", what, c.eval("document.body.innerText"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *cdp) navigate(url string) {
	if err := c.call("Page.navigate", map[string]any{"url": url}, nil); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cdp) screenshot(name string) {
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	var res struct{ Data string }
	if err := c.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &res); err != nil {
		c.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// A bureau account logs in through the form and sees hd20, whose report
// is missing, and hd30, late, in red; the zh-CN page has no English word
// but the data; the toggle gives English.
func TestBrowserLoginSeesTheLateSchoolInRed(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.srv.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	page := chromium(t, ctx)
	if err := page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}

	page.navigate(srv.URL + "/?lang=zh-CN") // Chromium asks for en-US: zh-CN by the toggle's query
	page.waitFor("the login page", `document.getElementById("login-form") !== null`)
	page.screenshot("district-login-zh-CN.png")
	page.eval(`document.getElementById("name").value = "` + bureauName + `"; document.getElementById("password").value = "wrong"; document.getElementById("login-form").submit(); true`)
	page.waitFor("a wrong password refused", `document.getElementById("login-msg") && document.getElementById("login-msg").textContent === "用户名或密码错误"`)
	page.eval(`document.getElementById("name").value = "` + bureauName + `"; document.getElementById("password").value = "` + bureauPassword + `"; document.getElementById("login-form").submit(); true`)
	page.waitFor("the screen drawn", `document.body.dataset.loaded === "1" && document.querySelectorAll("#reports tbody tr").length === 3`)

	for school, word := range map[string]string{"hd20": "漏报", "hd30": "迟报"} {
		row := `document.querySelector('#reports tr[data-school="` + school + `"]')`
		if got := page.evalString(row + `.querySelector(".tag").textContent`); got != word {
			t.Errorf("%s shows %s, want %s", school, got, word)
		}
		if got := page.evalString(`getComputedStyle(` + row + `.querySelector(".tag")).backgroundColor`); got != "rgb(196, 22, 28)" {
			t.Errorf("%s's %s is %s, want red", school, word, got)
		}
		if got := page.evalString(`getComputedStyle(` + row + `.querySelector("td")).backgroundColor`); got != "rgb(253, 227, 228)" {
			t.Errorf("%s's row is %s, want red-tinted", school, got)
		}
	}
	if got := page.evalString(`document.querySelector('#reports tr[data-school="hd17"] .tag').textContent`); got != "按时" {
		t.Errorf("hd17 shows %s, want 按时", got)
	}
	// hd20's clock is a year behind: a clock warning, not a backlog.
	clock := `document.querySelector('#gates tr[data-box="hd20-main"] td.warn').textContent`
	if got := page.evalString(clock); got != "时钟偏差：落后约365天" {
		t.Errorf("hd20-main's warnings %q, want 时钟偏差：落后约365天", got)
	}
	// ir-4's offset is exactly 0, which the JSON leaves out: drawn as 0.00.
	if got := page.evalString(`Array.from(document.querySelectorAll("#warnings .reason")).map(function (e) { return e.textContent }).join("|")`); !strings.Contains(got, "校准偏移0.00°C，离散0.60°C") {
		t.Errorf("calibration warnings %q, want ir-4's 校准偏移0.00°C，离散0.60°C", got)
	}
	// Every word outside the data cells is Chinese: a text node with a
	// Latin letter must sit in a data cell (a table cell's own text, a
	// .data element) or the toggle; °C is a unit.
	latin := page.eval(`(function(){
		var out = [], w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		while (w.nextNode()) {
			var n = w.currentNode, p = n.parentElement;
			if (!/[A-Za-z]/.test(n.textContent.replace(/°C/g, "")) || p.closest("script,.data,#lang") || p.tagName === "TD" || p.tagName === "title") continue;
			if (p.closest("[hidden]")) continue;
			out.push(n.textContent.trim());
		}
		return out;
	})()`)
	if latin != "[]" {
		t.Errorf("English on the zh-CN page outside the data: %s", latin)
	}
	page.screenshot("district-zh-CN.png")

	page.eval(`document.getElementById("lang").click(); true`)
	page.waitFor("the English page", `document.documentElement.lang === "en" && document.body.dataset.loaded === "1" && document.querySelector('#reports tr[data-school="hd20"] .tag').textContent === "Missing"`)
	if got := page.evalString(clock); got != "clock off: about 365 days behind" {
		t.Errorf("hd20-main's warnings in English %q", got)
	}
	page.screenshot("district-en.png")

	// The CDC liaison: no gates or devices.
	page.eval(`document.getElementById("lang").click(); true`)
	page.waitFor("back in Chinese", `document.documentElement.lang === "zh-CN" && document.getElementById("logout") !== null`)
	page.eval(`document.getElementById("logout").submit(); true`)
	page.waitFor("logged out", `document.getElementById("login-form") !== null`)
	page.eval(`document.getElementById("name").value = "` + cdcName + `"; document.getElementById("password").value = "` + cdcPassword + `"; document.getElementById("login-form").submit(); true`)
	page.waitFor("the CDC liaison's screen", `document.body.dataset.loaded === "1" && document.querySelector("#cases tr[data-ticket='R-001']") !== null`)
	if got := page.eval(`document.getElementById("gates") === null && document.getElementById("warnings") === null && document.getElementById("who").textContent.includes("疾控联络员")`); got != "true" {
		t.Error("the CDC liaison's page shows the gates or warnings")
	}
	page.screenshot("district-cdc-zh-CN.png")
}
