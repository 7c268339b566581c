//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers/runner"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// person is one frame of the latency run and the lamp it must light.
type person struct {
	bodyC float64
	lamp  string
}

// cycle alternates pass, flag and retake so that every frame changes the
// lane's lamp: a repeated verdict would leave the lamp as it was (the lamps
// hold a verdict for 3 s, a flag until its case is cleared).
var cycle = [...]person{{36.5, "green"}, {38.0, "red"}, {34.0, "amber"}}

// frameGap paces the frames: 500 people a second, a hundred times a real
// lane, so that ten thousand frames take seconds, not hours, while every
// frame still meets an idle lamp goroutine as at a real gate.
const frameGap = 2 * time.Millisecond

func framesPerState() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_FRAMES")); err == nil && n > 0 {
		return n
	}
	return 3_000 // per round; five rounds make 15,000 per state
}

// TestFrameToLampLatency writes one lineproto frame at a time into the
// pseudo-terminal of the real daemon and waits for the lamp it must light,
// in three states: normal (broker up), storage stalled (the store on a
// loop device whose writes cgroup blkio throttles, so every commit waits
// about half a second; see stalledDisk) and broker down. Latency runs from
// just before the write of the frame's bytes to the lamp's write (the time
// the lamp sink took for it, as GATESCREEN_LAMP_TRACE reports). The pty
// floor and the three states take turns, BENCH_RUNS rounds of
// BENCH_FRAMES frames each; the three states' order turns from round to
// round.
func TestFrameToLampLatency(t *testing.T) {
	n := framesPerState()
	broker := startMosquitto(t)
	stall := newStalledDisk(t)
	states := []struct {
		name    string
		broker  string
		stalled bool
	}{
		{"normal", broker, false},
		{"storage_stalled", broker, true},
		{"broker_down", fmt.Sprintf("tcp://127.0.0.1:%d", mosquittotest.FreePort(t)), false},
	}
	p99s := map[string][]float64{}
	for run := range lanesRuns() {
		// The floor and the three states take turns in every round.
		lat := measurePtyFloor(t, n)
		p := percentilesOf(lat)
		note := fmt.Sprintf("run=%d frames=%d write → read of the line, no daemon, load=%s", run+1, len(lat), loadAvg())
		result(t, "latency_floor_p99_run", ms(p.p99), "ms", note+fmt.Sprintf(" p50=%.3f max=%.3f", ms(p.p50), ms(p.max)))
		p99s["floor"] = append(p99s["floor"], ms(p.p99))
		// The states' order turns every round, so that none always runs
		// right after the stalled disk (its throttled writeback and the
		// emptying of its filesystem outlast its daemon): broker_down did,
		// in every round, when it was measured 1.82× normal.
		for i := range states {
			st := states[(i+run)%len(states)]
			o, started := gateOpts{lanes: 1, broker: st.broker, trace: true}, func(*gate) {}
			if st.stalled {
				o.dir = stall.dir
				started = func(g *gate) { stall.add(t, g.pid()) }
			}
			g := startGate(t, o, started)
			lat := measureLatency(t, g, n)
			g.stop()
			if st.stalled {
				clearDir(t, stall.dir)
			}
			p := percentilesOf(lat)
			note := fmt.Sprintf("run=%d frames=%d p50=%.3f max=%.3f load=%s", run+1, len(lat), ms(p.p50), ms(p.max), loadAvg())
			result(t, "latency_"+st.name+"_p99_run", ms(p.p99), "ms", note)
			p99s[st.name] = append(p99s[st.name], ms(p.p99))
		}
	}
	for _, name := range []string{"floor", "normal", "storage_stalled", "broker_down"} {
		r := summarise(p99s[name])
		result(t, "latency_"+name+"_p99", r.median, "ms", r.note("target<2ms"))
		if name != "floor" {
			verdict(t, "latency_"+name+"_p99", r.median < 2, fmt.Sprintf("p99 %.3f ms median, %.3f–%.3f over %d runs; target < 2 ms", r.median, r.min, r.max, r.n))
		}
	}
	for _, name := range []string{"storage_stalled", "broker_down"} {
		ratios := make([]float64, len(p99s[name]))
		for i, v := range p99s[name] {
			ratios[i] = v / p99s["normal"][i] // same round
		}
		r := summarise(ratios)
		result(t, "latency_"+name+"_p99_vs_normal", r.median, "x", r.note("target<=1.5x"))
		verdict(t, "latency_"+name+"_p99_vs_normal", r.median <= 1.5, fmt.Sprintf("p99 ÷ the same round's normal p99 %.2f× median, %.2f–%.2f over %d runs; target ≤ 1.5×", r.median, r.min, r.max, r.n))
	}
}

// clearDir empties dir (the stalled disk) for the next round's store.
func clearDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "lost+found" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// measureLatency sends n frames (after a warm-up) and returns the latency
// of each. Every frame must light its lamp: a missing one fails the test.
func measureLatency(t *testing.T, g *gate, n int) []time.Duration {
	t.Helper()
	const warmup = 60
	master, lane := g.ports[0].Master, g.lanes[0]
	lat := make([]time.Duration, 0, n)
	var buf []byte
	for i := range warmup + n {
		want := cycle[i%len(cycle)]
		buf = line(buf, want.bodyC)
		next := time.Now().Add(frameGap)
		sent := time.Now()
		if _, err := master.Write(buf); err != nil {
			t.Fatal(err)
		}
		lit := waitLamp(t, g, lane, want.lamp, i)
		if i >= warmup {
			lat = append(lat, lit.Sub(sent))
		}
		time.Sleep(time.Until(next))
	}
	return lat
}

// waitLamp returns the time the lane's lamp was switched on; earlier
// writes (the previous lamp going off, buzzer beats) are skipped.
func waitLamp(t *testing.T, g *gate, lane, lamp string, frame int) time.Time {
	t.Helper()
	timeout := time.After(long)
	for {
		select {
		case ev := <-g.trace:
			if ev.lane == lane && ev.output == lamp && ev.on {
				return ev.at
			}
		case <-timeout:
			t.Fatalf("frame %d: the %s lamp of %s did not light within %v\n%s", frame, lamp, lane, long, g.stderr.String())
		}
	}
}

// measurePtyFloor times the same frames through a pseudo-terminal to a
// reader that only waits for the line end, on the port the daemon's runner
// would open (runner.OpenSerial): the floor under any daemon on this
// machine, the baseline of the latency figures.
func measurePtyFloor(t *testing.T, n int) []time.Duration {
	t.Helper()
	const warmup = 60
	pair := openPorts(t, 1)[0]
	port, closer, err := runner.OpenSerial(pair.Path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 256)
		have := 0
		for {
			k, err := port.Read(buf[have:])
			if err != nil {
				return
			}
			have += k
			if bytes.IndexByte(buf[:have], '\n') >= 0 {
				got <- time.Now()
				have = 0
			}
		}
	}()
	defer closer.Close()
	lat := make([]time.Duration, 0, n)
	var buf []byte
	for i := range warmup + n {
		buf = line(buf, cycle[i%len(cycle)].bodyC)
		next := time.Now().Add(frameGap)
		sent := time.Now()
		if _, err := pair.Master.Write(buf); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-got:
			if i >= warmup {
				lat = append(lat, at.Sub(sent))
			}
		case <-time.After(long):
			t.Fatalf("frame %d not read within %v", i, long)
		}
		time.Sleep(time.Until(next))
	}
	return lat
}
