//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// cpuFrameTarget is the CPU time one frame may cost the daemon end to end
// at 4 lanes × 100 frames/s (issue #17).
const cpuFrameTarget = 50 * time.Microsecond

// cpuWindow is each of the idle and the loaded windows of a CPU run.
const cpuWindow = 20 * time.Second

// TestCPUPerFrame runs the real daemon with 4 lineproto lanes, the screen
// on and the uplink to a local mosquitto, measures its CPU time (utime +
// stime) over 20 s idle and then over 20 s of 100 frames/s on every lane,
// and reports (loaded − idle) ÷ frames. BENCH_RUNS rounds, interleaved
// with BENCH_BASELINE_BINARY when set.
func TestCPUPerFrame(t *testing.T) {
	broker := startMosquitto(t)
	variants := []variant{{binary(t), "current", ""}}
	if b := os.Getenv("BENCH_BASELINE_BINARY"); b != "" {
		variants = append(variants, variant{b, "baseline", ""})
	}
	per := map[string][]float64{}
	var order []string
	for run := range lanesRuns() {
		for _, v := range variants {
			name := "cpu_per_frame_4x100_" + v.version
			g := startGate(t, gateOpts{lanes: 4, broker: broker, screen: true, binary: v.binary}, nil)
			time.Sleep(3 * time.Second) // start-up work is not idle
			c0, w0 := cpuTime(t, g.pid()), time.Now()
			time.Sleep(cpuWindow)
			c1, w1 := cpuTime(t, g.pid()), time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), cpuWindow)
			var sent atomic.Int64
			feed(t, ctx, g, 100, &sent)
			cancel()
			c2, w2 := cpuTime(t, g.pid()), time.Now()
			g.stop()
			idleRate := float64(c1-c0) / float64(w1.Sub(w0))
			work := float64(c2-c1) - idleRate*float64(w2.Sub(w1))
			us := work / float64(sent.Load()) / 1e3
			result(t, name+"_run", us, "µs", fmt.Sprintf("run=%d frames=%d idle_cpu=%v loaded_cpu=%v load=%s", run+1, sent.Load(), c1-c0, c2-c1, loadAvg()))
			if _, ok := per[name]; !ok {
				order = append(order, name)
			}
			per[name] = append(per[name], us)
		}
	}
	for _, name := range order {
		s := summarise(per[name])
		result(t, name, s.median, "µs", s.note("target<=50µs"))
		if s.version(name) == "current" {
			verdict(t, name, s.median <= float64(cpuFrameTarget.Microseconds()), fmt.Sprintf("%.0f µs per frame median, %.0f–%.0f over %d runs; target ≤ 50 µs", s.median, s.min, s.max, s.n))
		}
	}
}
