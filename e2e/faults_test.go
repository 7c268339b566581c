//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/sim"
	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
)

// garbageRun is how long every port receives garbage (issue #9: 60 s).
const garbageRun = 60 * time.Second

// Garbage bursts of 96 random bytes every 100 ms: 960 bytes/s, a 9600-baud
// line (10 bits a byte) saturated, on every serial port of the gate.
const (
	garbageEvery = 100 * time.Millisecond
	garbageBytes = 96
)

// faultyGate has garbage on every port when noisy, people on every
// thermometer, and badge readers (spitting garbage too when noisy).
func faultyGate(noisy bool) string {
	garbage := ""
	if noisy {
		garbage = fmt.Sprintf(", garbage: {every: %s, bytes: %d}", garbageEvery, garbageBytes)
	}
	return fmt.Sprintf(`
seed: 4242
duration: 0s
roster: %[1]s
devices:
  - {name: lane1-ir, protocol: gymcu90614, lane: lane-1, arrivals_per_min: 40, fever_share: 0.1, cold_share: 0.1, ambient_c: 21.5%[2]s}
  - {name: lane1-badge, protocol: badge, lane: lane-1, swipe_share: 0.9%[2]s}
  - {name: lane2-ir, protocol: gymcu90614, lane: lane-2, arrivals_per_min: 40, fever_share: 0.1, ambient_c: 21.5, query: true%[2]s}
  - {name: lane3-gate, protocol: lineproto, lane: lane-3, arrivals_per_min: 60, fever_share: 0.1, cold_share: 0.1, ambient_c: 21.5%[2]s}
  - {name: staff-gate, protocol: lineproto, lane: staff, arrivals_per_min: 60, fever_share: 0.1, ambient_c: 21.5%[2]s}
`, cards, garbage)
}

// thermometers of faultyGate.
var thermometers = []string{"lane1-ir", "lane2-ir", "lane3-gate", "staff-gate"}

// Device faults: garbage at full baud on every port, one device unplugged
// and plugged back on a new pseudo-terminal, one device that stays silent,
// then every device power-cycled onto a clean line. The daemon stays up,
// health events say what happened, readings resume on every lane, and no
// reading is ever a pass unless its raw value is one the simulator sent
// (drivers/sim's Sent is the truth).
func TestDeviceFaults(t *testing.T) {
	mq, cons := districtBroker(t, "district-faults", false)

	// The silent device: a pseudo-terminal nobody writes to.
	silent, err := ptyport.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	r := newRig(t, scenario(t, faultyGate(true)), func(c *config.Config) {
		c.Uplink.Broker = mq.URL("tcp")
		c.Devices = append(c.Devices, drivers.Device{
			Name: "silent-ir", Driver: sim.ProtocolGYMCU, Port: silent.Path, Baud: 9600, RateHz: 9, Mode: "skin", OffsetC: 0.9,
		})
		c.Lanes = append(c.Lanes, config.Lane{Name: "lane-5", Role: event.RoleStudent, Device: "silent-ir"})
	})
	defer func() {
		if t.Failed() {
			t.Logf("daemon log (device lines):\n%s", grepLog(r.logText(), `"device":`, 60))
		}
	}()
	started := time.Now()
	r.start(true)

	// A third of the way through the garbage, lane-1's IR module is
	// unplugged for 3 s and comes back on another pseudo-terminal.
	time.Sleep(garbageRun / 3)
	r.unplug("lane1-ir")
	time.Sleep(3 * time.Second)
	r.replug("lane1-ir")
	waitFor(t, "health events for lane1-ir's unplug and replug", func() bool {
		return cons.healthSeen(func(h healthMsg) bool { return h.Device == "lane1-ir" && h.State == "down" }) &&
			cons.healthSeen(func(h healthMsg) bool {
				return h.Device == "lane1-ir" && h.State == "up" && h.Reason == "answering"
			})
	})
	if rest := garbageRun - time.Since(started); rest > 0 {
		time.Sleep(rest)
	}
	if !r.alive() {
		t.Fatalf("the daemon died under garbage:\n%s", r.logTail(40))
	}

	// The garbage ends: every device is power-cycled onto a clean line.
	cleanFrom := time.Now()
	r.switchGate(scenario(t, faultyGate(false)))
	for _, dev := range thermometers {
		waitFor(t, dev+"'s readings to resume on a clean line", func() bool {
			return countReadingsSince(cons, dev, cleanFrom) >= 2
		})
	}
	waitFor(t, "health events for the silent device and the garbage", func() bool {
		return cons.healthSeen(func(h healthMsg) bool {
			return h.Device == "silent-ir" && h.State == "down" && strings.Contains(h.Reason, "silent")
		}) && cons.healthSeen(func(h healthMsg) bool {
			return h.State == "degraded" && strings.HasPrefix(h.Reason, "invalid")
		})
	})
	r.waitDrained()
	r.stop() // exit code 0: the ordered shutdown still works

	sent := r.sentPeople()
	var passes, invalid, retakes, flags int
	for _, e := range cons.events() {
		if e.Kind != "reading" {
			continue
		}
		switch e.Verdict {
		case "invalid":
			invalid++
		case "retake":
			retakes++
		case "flag":
			flags++
		case "pass":
			passes++
			if e.RawC == nil || !sentValue(sent, e.Device, *e.RawC) {
				t.Errorf("reading %s from %s passed with raw %v, a value the simulator never sent", e.ID, e.Device, fmtC(e.RawC))
			}
		}
	}
	var healthLines []string
	cons.mu.Lock()
	for _, h := range cons.health {
		if h.Device != "" {
			healthLines = append(healthLines, h.Device+" "+h.State+" ("+h.Reason+")")
		}
	}
	cons.mu.Unlock()
	t.Logf("device health received: %s", strings.Join(healthLines, "; "))
	ports := len(r.links)
	bursts := int(garbageRun / garbageEvery)
	figures(t, "garbage %v on %d ports at %d B/s each: %d random bytes in %d bursts tried; unplug/replug 1; power-cycles %d; silent devices 1; people sent %d; readings pass %d, flag %d, retake %d, invalid %d; passes not sent by the simulator 0; daemon crashes 0",
		garbageRun, ports, garbageBytes*int(time.Second/garbageEvery), ports*bursts*garbageBytes, ports*bursts,
		ports, len(sent), passes, flags, retakes, invalid)
}

// countReadingsSince counts device's valid readings captured after from.
func countReadingsSince(c *consumer, device string, from time.Time) int {
	n := 0
	for _, e := range c.events() {
		if e.Kind != "reading" || e.Device != device || e.Verdict == "invalid" {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, e.CapturedAt); err == nil && at.After(from) {
			n++
		}
	}
	return n
}

// sentValue reports whether device sent a person whose reported value is
// raw: exactly for gate lines (printed with one decimal), within the
// sensor noise of a continuous plateau (±0.03 °C, frames in 0.01 °C).
func sentValue(sent []sim.Person, device string, raw float64) bool {
	for _, p := range sent {
		if p.Device != device {
			continue
		}
		tol := 0.045
		if p.Protocol == sim.ProtocolLine {
			tol = 0.051 // one decimal
		}
		if math.Abs(p.ReportedC-raw) <= tol {
			return true
		}
	}
	return false
}

func fmtC(c *float64) string {
	if c == nil {
		return "null"
	}
	return fmt.Sprintf("%.2f °C", *c)
}

// grepLog returns the last n lines of log that contain s.
func grepLog(log, s string, n int) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}
