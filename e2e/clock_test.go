//go:build e2e

package e2e

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers/sim"
	"github.com/gatescreen/gatescreen/internal/config"
)

// clockGate is three walk-through gates and an IR module, no badges.
const clockGate = `
seed: 31
duration: 0s
devices:
  - {name: lane1-ir, protocol: gymcu90614, lane: lane-1, arrivals_per_min: 40, fever_share: 0.05, ambient_c: 21.5}
  - {name: lane2-gate, protocol: lineproto, lane: lane-2, arrivals_per_min: 75, fever_share: 0.05, ambient_c: 21.5}
  - {name: lane3-gate, protocol: lineproto, lane: lane-3, arrivals_per_min: 75, fever_share: 0.05, ambient_c: 21.5}
  - {name: staff-gate, protocol: lineproto, lane: staff, arrivals_per_min: 75, fever_share: 0.05, ambient_c: 21.5}
`

// Clock: the box starts with its wall clock a day behind and unsynchronised
// (the injected clock of cmd/gatescreen/testhooks.go), then NTP steps it
// right. The broker is down until after the correction, so every event
// stamped with the wrong clock is uploaded afterwards: its captured_at must
// be corrected from the monotonic clock to the real time of the reading
// (checked against the moment the simulator sent it), and captured_at must
// follow the sequence order.
func TestClockDayWrongThenCorrected(t *testing.T) {
	mq, cons := districtBroker(t, "district-clock", true)

	r := newRig(t, scenario(t, clockGate), func(c *config.Config) { c.Uplink.Broker = mq.URL("tcp") })
	offsetFile := filepath.Join(r.dir, "clock-offset")
	setOffset := func(d time.Duration) {
		t.Helper()
		if err := os.WriteFile(offsetFile+".tmp", []byte(d.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(offsetFile+".tmp", offsetFile); err != nil {
			t.Fatal(err)
		}
	}
	setOffset(-24 * time.Hour)
	r.env = append(r.env, "GATESCREEN_TEST_CLOCK_FILE="+offsetFile)
	started := time.Now()
	r.start(true)
	time.Sleep(8 * time.Second)
	setOffset(0)
	synced := time.Now()
	time.Sleep(4 * time.Second)
	for name := range r.links {
		r.unplug(name)
	}
	mq.Start()
	r.waitDrained()
	r.stop()
	ended := time.Now()

	sent := r.sentPeople()
	events := cons.events() // in sequence order
	if len(events) == 0 {
		t.Fatal("nothing received")
	}
	var corrected, stampedBefore, unsynced, outOfOrder, matched int
	var worst time.Duration
	prev := map[string]time.Time{} // per device
	for _, e := range events {
		at, err := time.Parse(time.RFC3339Nano, e.CapturedAt)
		if err != nil {
			t.Errorf("%s: captured_at %q: %v", e.ID, e.CapturedAt, err)
			continue
		}
		if at.Before(started.Add(-2*time.Second)) || at.After(ended.Add(2*time.Second)) {
			t.Errorf("%s (%s) captured_at %s is outside the run %s–%s: not corrected", e.ID, e.Kind, at.Format(time.RFC3339), started.Format(time.RFC3339), ended.Format(time.RFC3339))
		}
		if !e.ClockSynced {
			unsynced++
		}
		if e.ClockCorrected {
			corrected++
		}
		if at.Before(synced) {
			stampedBefore++
		}
		// A device's readings are stored in the order they were
		// captured. Across devices seq need not follow captured_at: a
		// continuous sensor's measurement is stamped at the start of the
		// person's plateau but decided when they leave.
		if e.Kind == "reading" {
			if p := prev[e.Device]; at.Before(p) {
				outOfOrder++
				t.Errorf("%s captured_at %s is before the previous reading of %s, %s", e.ID, at.Format(time.RFC3339Nano), e.Device, p.Format(time.RFC3339Nano))
			}
			prev[e.Device] = at
			if d, ok := truthOffset(sent, e, at); ok {
				matched++
				worst = max(worst, d)
			}
		}
	}
	if stampedBefore == 0 || corrected == 0 {
		t.Fatalf("%d events stamped before the correction, %d corrected: the test did not exercise the correction", stampedBefore, corrected)
	}
	if unsynced > 0 {
		t.Errorf("%d events still marked clock_synced false after a correction in the same boot", unsynced)
	}
	if matched == 0 {
		t.Fatal("no reading could be matched to a person the simulator sent")
	}
	if worst > 2*time.Second {
		t.Errorf("a reading's captured_at is %v away from when the simulator sent it", worst)
	}
	figures(t, "clock offset -24h until %v after the start; events %d (%d stamped before the correction, %d sent with clock_corrected); readings matched to the simulator %d, worst |captured_at − sent| %v; sequence-order violations %d",
		synced.Sub(started).Round(time.Second), len(events), stampedBefore, corrected, matched, worst.Round(time.Millisecond), outOfOrder)
}

// truthOffset finds the person a walk-through gate's reading came from
// (same device, same printed value, sent within 3 s) and returns how far
// captured_at is from the moment it was sent.
func truthOffset(sent []sim.Person, e eventObj, at time.Time) (time.Duration, bool) {
	if e.RawC == nil {
		return 0, false
	}
	best, found := time.Duration(math.MaxInt64), false
	for _, p := range sent {
		if p.Device != e.Device || p.Protocol != sim.ProtocolLine || math.Abs(p.ReportedC-*e.RawC) > 0.051 {
			continue
		}
		d := at.Sub(p.At).Abs()
		if d < 3*time.Second && d < best {
			best, found = d, true
		}
	}
	return best, found
}
