package screen

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers/sim"
	"github.com/gatescreen/gatescreen/pipeline"
)

// arrayFrame renders a person at d metres with a forehead at hotC as a
// thermal array of w×h pixels sees them (an MLX90640 with its 55°×35° lens,
// an AMG8833 with 60°×60°), in front of a wall at 22 °C.
func arrayFrame(w, h int, d, hotC float64) ThermalImage {
	fovX, fovY := 55*math.Pi/180, 35*math.Pi/180
	if w == 8 {
		fovX, fovY = 60*math.Pi/180, 60*math.Pi/180
	}
	img := ThermalImage{W: w, H: h, C: make([]float64, w*h)}
	sim.RenderView(img.C, w, h, fovX, fovY, 22, []sim.ViewPerson{{D: d, HotC: hotC}})
	return img
}

// thumbShown is JavaScript: lane's tile draws a loaded thumbnail of w
// sensor pixels inside the tile, with its scale.
func thumbShown(lane string, w int) string {
	return `(function(){
		var l = document.querySelector('[data-lane="` + lane + `"]');
		var img = l && l.querySelector(".thumb img");
		if (!img || !img.complete || img.naturalWidth !== ` + itoa(w) + `) return false;
		var r = img.getBoundingClientRect(), t = l.getBoundingClientRect();
		return r.width > 0 && r.height >= 40 && r.left >= t.left && r.right <= t.right && r.bottom <= t.bottom &&
			/°C/.test(l.querySelector(".thumb-scale").textContent);
	})()`
}

func itoa(n int) string {
	b := []byte{}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func thumbGone(lane string) string {
	return `document.querySelector('[data-lane="` + lane + `"]').querySelector(".thumb") === null`
}

// The thermal arrays' readings show their frames on their lanes' tiles, a
// spot thermometer's reading none; a pass's thumbnail goes with the pass
// when the lane returns to 空闲 (IdleAfter), and a held flag never shows the
// next person's frame.
func TestBrowserThermalThumbnail(t *testing.T) {
	bin := findChromium(t)
	th := &fakeThermal{}
	f := newFixture(t, func(o *Opts) {
		o.Thermal = th
		o.IdleAfter = 3 * time.Second
		o.Devices = testDevices("gun-a", "mlx90640", "amg8833")
	})
	f.s.now = time.Now // the page compares times with its own clock
	url := f.serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	consume := func(lane uint8, device uint16, v pipeline.Verdict, bodyC float64, img *ThermalImage) {
		m := pipeline.Measurement{Lane: lane, Device: device, Verdict: v, BodyC: bodyC, Wall: time.Now().UnixNano(), Mono: time.Now().UnixNano()}
		if v == pipeline.VerdictFlag {
			m.Reason, m.Ticket = pipeline.ReasonThreshold, 1 // held red until the desk
		}
		if img != nil {
			th.put(device, m.Mono, *img)
		}
		f.s.Consume(&m)
	}
	flagImg, passImg := arrayFrame(32, 24, 0.8, 38.5), arrayFrame(8, 8, 0.3, 36.6)
	consume(0, 1, pipeline.VerdictFlag, 38.5, &flagImg)
	consume(2, 0, pipeline.VerdictPass, 36.5, nil)

	page := dialCDP(t, startChromium(t, ctx, bin))
	page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1024, "height": 600, "deviceScaleFactor": 1, "mobile": false}, nil)
	page.call("Page.navigate", map[string]any{"url": url + "/"}, nil)
	page.waitFor("lanes rendered", `document.querySelectorAll("#lanes .lane").length === 4`, 20*time.Second)
	page.waitFor("lane A's flag with its 32×24 thumbnail", thumbShown("A", 32), 5*time.Second)
	if got := page.evalString(`document.querySelector('[data-lane="A"] .thumb img').alt`); got != "热成像（仅本屏显示，不存储、不上传）" {
		t.Errorf("thumbnail alt %q", got)
	}
	if got := page.evalString(`document.querySelector('[data-lane="A"] .thumb-scale').textContent`); got != "22.038.5 °C" {
		t.Errorf("scale %q, want 22.0 … 38.5 °C", got)
	}
	if page.eval(thumbGone("C")) != "true" {
		t.Fatal("the spot thermometer's lane C shows a thumbnail")
	}

	consume(1, 2, pipeline.VerdictPass, 36.6, &passImg)
	shownAt := time.Now()
	page.waitFor("lane B's pass with its 8×8 thumbnail", thumbShown("B", 8), 5*time.Second)
	page.screenshot("screen-zh-CN-thermal-1024x600.png")
	// The thumbnails and their scales overlap no text, on the tablet and
	// on a phone (where lane B is below the fold: only A is checked there).
	noOverlap := func(size string) {
		t.Helper()
		var problems []string
		if err := json.Unmarshal([]byte(page.evalString(layoutProblems+"([])")), &problems); err != nil {
			t.Fatal(err)
		}
		if len(problems) > 0 {
			t.Errorf("%s: %v", size, problems)
		}
	}
	noOverlap("1024×600")
	page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}, nil)
	page.waitFor("phone layout", thumbShown("A", 32), 5*time.Second)
	noOverlap("390×844")
	page.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1024, "height": 600, "deviceScaleFactor": 1, "mobile": false}, nil)

	// The pass is 3 s old: lane B is idle and the thumbnail gone with it.
	page.waitFor("lane B idle without its thumbnail", `document.querySelector('[data-lane="B"]').dataset.state === "ready" && `+thumbGone("B"), 6*time.Second)
	if age := time.Since(shownAt); age < 2500*time.Millisecond {
		t.Fatalf("thumbnail gone after %v, before the pass was idle", age)
	}

	// The next person on lane A passes while the flag is held red: the tile
	// shows the flagged reading, and neither frame (the new one is not the
	// flagged person's; the flagged one is no longer the newest).
	next := arrayFrame(32, 24, 0.8, 36.6)
	consume(0, 1, pipeline.VerdictPass, 36.6, &next)
	page.waitFor("lane A still red, the pass in its recent list, no thumbnail", `(function(){
		var l = document.querySelector('[data-lane="A"]');
		return l.dataset.state === "flag" && l.querySelectorAll(".recent li").length === 2 && `+thumbGone("A")+`;
	})()`, 5*time.Second)
}
