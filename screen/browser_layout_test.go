package screen

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// layoutProblems returns, as JSON, every pair of visible text boxes that
// overlap (each text box clipped by the scrolling or clipping boxes around
// it) and every doctor's control given in ids that is not wholly inside the
// viewport with the page unscrolled.
const layoutProblems = `(function(ids){
	window.scrollTo(0, 0);
	// A glyph run's box is the font's, taller than the line for CJK fonts:
	// the text's own element bounds it first.
	function clipped(node, r) {
		for (var e = node.parentElement, first = true; e; e = e.parentElement, first = false) {
			var cs = getComputedStyle(e);
			if (!first && cs.overflowX === "visible" && cs.overflowY === "visible") continue;
			var c = e.getBoundingClientRect();
			r = { left: Math.max(r.left, c.left), top: Math.max(r.top, c.top), right: Math.min(r.right, c.right), bottom: Math.min(r.bottom, c.bottom) };
			if (r.right - r.left < 1 || r.bottom - r.top < 1) return null;
		}
		return r;
	}
	var boxes = [];
	var walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (var n = walk.nextNode(); n; n = walk.nextNode()) {
		// The content of a closed <details> is not drawn.
		if (!n.textContent.trim() || !n.parentElement || n.parentElement.closest("[hidden], script, style, option, details:not([open]) > :not(summary)")) continue;
		var cs = getComputedStyle(n.parentElement);
		if (cs.visibility === "hidden" || cs.display === "none") continue;
		var range = document.createRange();
		range.selectNodeContents(n);
		var rects = range.getClientRects();
		for (var i = 0; i < rects.length; i++) {
			var r = clipped(n, rects[i]);
			if (r) boxes.push({ r: r, text: n.textContent.trim().slice(0, 30), node: n });
		}
	}
	var out = [];
	for (var a = 0; a < boxes.length; a++) for (var b = a + 1; b < boxes.length; b++) {
		if (boxes[a].node === boxes[b].node) continue; // the lines of one wrapped text
		var x = boxes[a].r, y = boxes[b].r;
		var w = Math.min(x.right, y.right) - Math.max(x.left, y.left), h = Math.min(x.bottom, y.bottom) - Math.max(x.top, y.top);
		if (w > 1 && h > 1) out.push("overlap: " + JSON.stringify(boxes[a].text) + " / " + JSON.stringify(boxes[b].text));
		if (out.length > 10) return JSON.stringify(out);
	}
	ids.forEach(function (id) {
		var e = document.getElementById(id);
		if (!e) { out.push("missing: " + id); return; }
		var r = e.getBoundingClientRect();
		if (r.width < 1 || r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) {
			out.push("not reachable without scrolling: " + id + " at " + Math.round(r.top) + "–" + Math.round(r.bottom) + " of " + innerHeight);
		}
	});
	return JSON.stringify(out);
})`

func TestBrowserLayoutReadsWellAtEverySize(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 170*time.Second)
	defer cancel()
	banners := []Banner{
		{ID: "drill", Level: "info", Text: "banner_drill", Arg: "2号通道"},
		{ID: "ambient", Level: "warning", Text: "banner_ambient_low", Arg: "1号通道, 2号通道, 3号通道, 教职工通道"},
		{ID: "unknown_cards", Level: "info", Text: "banner_unknown_cards", Arg: "20"},
	}
	page := dialCDP(t, startChromium(t, ctx, bin))
	for _, size := range [][2]int{{1024, 600}, {1280, 800}, {390, 844}} {
		f, url := busyMorning(t)
		cases := 0
		page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 700}, nil)
		page.call("Page.navigate", map[string]any{"url": url + "/"}, nil)
		page.waitFor("page rendered", `document.querySelectorAll("#lanes .lane").length === 4 && document.getElementById("uplink").textContent.includes("已连接")`, 20*time.Second)
		for _, open := range []int{0, 3, 30} {
			for cases < open {
				f.desk.flag(labelledLanes[cases%3].Name, 38.0+0.1*float64(cases%9), time.Now().Add(-time.Duration(cases)*time.Minute))
				cases++
			}
			for nb := range 4 {
				for _, b := range banners {
					f.s.ClearBanner(b.ID)
				}
				for _, b := range banners[:nb] {
					f.s.SetBanner(b)
				}
				name := fmt.Sprintf("%dx%d, %d banners, %d open cases", size[0], size[1], nb, cases)
				page.waitFor(name, fmt.Sprintf(`document.querySelectorAll("#banners .banner").length === %d && document.querySelectorAll("#cases tr").length === %d`, nb, cases), 10*time.Second)
				checkLayout(t, page, name, "pin", "login-btn")
				if nb == 3 && open == 30 && size[0] != 1280 {
					page.screenshot(fmt.Sprintf("screen-zh-CN-busy-%dx%d.png", size[0], size[1]))
				}
			}
		}
		// Logged in with a case selected: the re-check form is in view.
		page.eval(`document.getElementById("pin").value = "` + testPIN + `"; document.getElementById("login-form").requestSubmit(); true`)
		page.waitFor("logged in", `!document.getElementById("doctor-panel").hidden && document.querySelector("#cases button.select") !== null`, 10*time.Second)
		page.eval(`document.querySelector("#cases button.select").click(); true`)
		page.waitFor("re-check form", `!document.getElementById("recheck-form").hidden`, 10*time.Second)
		checkLayout(t, page, fmt.Sprintf("%dx%d logged in, 3 banners, %d cases", size[0], size[1], cases), "recheck-temp", "recheck-btn", "logout-btn")
		page.eval(`document.getElementById("logout-btn").click(); true`)
		page.waitFor("logged out", `!document.getElementById("login-form").hidden`, 10*time.Second)
	}
}

func checkLayout(t *testing.T, page *cdp, name string, controls ...string) {
	t.Helper()
	ids, _ := json.Marshal(controls)
	var problems []string
	if err := json.Unmarshal([]byte(page.evalString(layoutProblems+"("+string(ids)+")")), &problems); err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("%s:\n\t%s", name, strings.Join(problems, "\n\t"))
	}
}

// busyMorning serves a screen with every lane's recent readings full and
// lane 1 flagged.
func busyMorning(t *testing.T) (*fixture, string) {
	f := newFixture(t, func(o *Opts) { o.Lanes, o.IdleAfter = labelledLanes, time.Hour })
	f.s.now = time.Now
	url := f.serve(t)
	for i := range 6 {
		for lane := range uint8(4) {
			v, c := pipeline.VerdictPass, 36.4+0.1*float64(i)
			if lane == 0 && i == 5 {
				v, c = pipeline.VerdictFlag, 38.4
			}
			m := pipeline.Measurement{Lane: lane, Verdict: v, BodyC: c, Wall: time.Now().UnixNano()}
			f.s.Consume(&m)
		}
	}
	f.s.Health(event.Health{Component: "storage", State: event.HealthUp})
	f.s.SetUplink("connected")
	return f, url
}
