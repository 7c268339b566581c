package screen

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

// flowDriller stands in for the daemon's drill: a simulated flagged person
// on the lane opens a case on the desk, the screen gets the drill
// measurement and the drill banner.
type flowDriller struct {
	s     *Screen
	desk  *fakeDesk
	lanes []pipeline.Lane
}

func (d *flowDriller) Drill(lane string, tempC float64) error {
	for i, l := range d.lanes {
		if l.Name != lane {
			continue
		}
		c := d.desk.flag(lane, tempC, time.Now())
		n, _ := strconv.Atoi(strings.TrimPrefix(c.Ticket, "R-"))
		m := pipeline.Measurement{Lane: uint8(i), Verdict: pipeline.VerdictFlag, Reason: pipeline.ReasonThreshold,
			BodyC: tempC, Drill: true, Ticket: uint16(n), Wall: time.Now().UnixNano()}
		d.s.Consume(&m)
		d.s.SetBanner(Banner{ID: "drill", Level: "info", Text: "banner_drill", Arg: lane})
		return nil
	}
	return nil
}

func TestBrowserDrillVisitorsAndSchoolPanels(t *testing.T) {
	bin := findChromium(t)
	lanes := []pipeline.Lane{{Name: "A", Role: event.RoleStudent, Device: -1}, {Name: "B", Role: event.RoleStudent, Device: -1},
		{Name: "staff", Role: event.RoleStaff, Device: -1}, {Name: "V", Role: event.RoleVisitor, Device: -1}}
	book := openVisitorBook(t)
	d := &flowDriller{lanes: lanes}
	f := newFixture(t, func(o *Opts) { o.Lanes, o.Driller, o.Visitors, o.IdleAfter = lanes, d, book, time.Hour })
	f.s.now = time.Now // the page compares times with its own clock
	d.s, d.desk = f.s, f.desk
	url := f.serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	for _, m := range []pipeline.Measurement{
		{Lane: 0, Verdict: pipeline.VerdictPass, BodyC: 36.4},
		{Lane: 2, Verdict: pipeline.VerdictPass, BodyC: 36.6},
	} {
		m.Wall = time.Now().UnixNano()
		f.s.Consume(&m)
	}
	f.s.Health(event.Health{Component: "device", Device: "gun-a", State: event.HealthUp})
	f.s.Health(event.Health{Component: "calibration", Device: "gate-b", State: event.HealthWarning, Reason: "overdue: last 2026-10-01"})
	f.s.SetUplink("connected")
	f.s.SetDaily(event.Daily{Day: "2026-11-22", Zero: true, Totals: event.Counts{Total: 1562, Pass: 1549, Retake: 13},
		Drills: event.Counts{Total: 1, Flag: 1}, Absentees: 2, Visitors: 3})
	f.s.SetAbsentees(Absentees{Day: "2026-11-23", Classes: []AbsentClass{
		{Grade: "初一", Class: "初一(2)班", Names: []string{"赵六", "钱七"}}, {Grade: "二年级", Class: "二年级(1)班", Names: []string{"孙八"}}}})

	page := dialCDP(t, startChromium(t, ctx, bin))
	page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1024, "height": 600, "deviceScaleFactor": 1, "mobile": false}, nil)
	page.call("Page.navigate", map[string]any{"url": url + "/"}, nil)
	page.waitFor("page rendered", `document.querySelectorAll("#lanes .lane").length === 4 && document.getElementById("uplink").textContent.includes("已连接")`, 20*time.Second)

	// Public: counts, the zero report and the calibration banner; no names.
	page.waitFor("school panels", `document.getElementById("absentees").textContent.includes("初一(2)班: 2") &&
		!document.getElementById("daily-zero").hidden && document.getElementById("visitor-count").textContent === "今日来访: 0"`, 10*time.Second)
	if got := page.evalString(`document.body.innerText`); strings.Contains(got, "赵六") {
		t.Fatal("absentee names shown before login")
	}
	if got := page.evalString(`document.getElementById("banners").textContent`); !strings.Contains(got, "校准已过期") {
		t.Fatalf("banners %q lack 校准已过期", got)
	}

	page.eval(`document.getElementById("pin").value = "` + testPIN + `"; document.getElementById("login-form").requestSubmit(); true`)
	page.waitFor("logged in with absentee names", `!document.getElementById("doctor-panel").hidden &&
		document.getElementById("absent-names").textContent.includes("赵六、钱七")`, 10*time.Second)

	// A drill on lane B from the screen: the lane, its ticket, the queue
	// and the banner say 演练.
	page.eval(`document.getElementById("drill-box").open = true; document.getElementById("drill-lane").value = "B";
		document.getElementById("drill-form").requestSubmit(); true`)
	page.waitFor("drill shown on lane B and in the queue", `(function(){
		var l = document.querySelector('[data-lane="B"]');
		var row = document.querySelector('#cases tr[data-ticket="R-001"]');
		return l.dataset.state === "flag" && l.dataset.drill === "true" && l.querySelector(".ticket").textContent === "R-001演练" &&
			row !== null && row.dataset.drill === "true" && row.querySelector(".tk").textContent === "R-001演练" &&
			document.getElementById("banners").textContent.includes("应急演练进行中 — B") &&
			document.getElementById("doctor-msg").textContent.includes("演练已开始，通道 B");
	})()`, 10*time.Second)
	if got := d.desk.Open(); len(got) != 1 || got[0].Lane != "B" || *got[0].FlagC != 38.2 {
		t.Fatalf("desk after the drill: %+v", got)
	}
	page.eval(`document.querySelector('#cases tr[data-ticket="R-001"] button.select').click(); true`)
	page.waitFor("drill case selected", `document.getElementById("selected").textContent.includes("R-001 [演练]")`, 10*time.Second)
	page.eval(`document.getElementById("drill-box").open = false; true`)
	page.screenshot("screen-zh-CN-drill-1024x600.png")

	// A visitor measured on lane V is registered; the list shows the name
	// to the session, the public count goes up.
	visitor := pipeline.Measurement{Lane: 3, Verdict: pipeline.VerdictPass, BodyC: 36.5, Wall: time.Now().UnixNano()}
	f.s.Consume(&visitor)
	fill := `document.getElementById("visitor-box").open = true;
		document.getElementById("visitor-name").value = "%s"; document.getElementById("visitor-phone").value = "13800138000";
		document.getElementById("visitor-purpose").value = "送教材"; document.getElementById("visitor-host").value = "王老师";
		document.getElementById("visitor-form").requestSubmit(); true`
	page.eval(strings.Replace(fill, "%s", "张三", 1))
	page.waitFor("visitor registered", `document.getElementById("doctor-msg").textContent.includes("已登记: 张三") &&
		document.getElementById("visitors").textContent.includes("张三") &&
		document.getElementById("visitor-count").textContent === "今日来访: 1"`, 10*time.Second)
	if vs, err := book.Visitors(f.s.day(time.Now())); err != nil || len(vs) != 1 || vs[0].Name != "张三" {
		t.Fatalf("book = %+v, %v", vs, err)
	}
	page.screenshot("screen-zh-CN-visitors-1024x600.png")

	// A flagged visitor is refused, with the reading.
	flagged := pipeline.Measurement{Lane: 3, Verdict: pipeline.VerdictFlag, BodyC: 37.9, Wall: time.Now().UnixNano()}
	f.s.Consume(&flagged)
	page.eval(strings.Replace(fill, "%s", "李四", 1))
	page.waitFor("flagged visitor refused", `document.getElementById("doctor-msg").textContent.includes("访客测温未通过") &&
		document.getElementById("doctor-msg").textContent.includes("37.9 °C")`, 10*time.Second)
	if vs, _ := book.Visitors(f.s.day(time.Now())); len(vs) != 1 {
		t.Fatalf("a flagged visitor was registered: %+v", vs)
	}
}
