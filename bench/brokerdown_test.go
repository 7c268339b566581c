//go:build bench

package bench

import (
	"fmt"
	"testing"

	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// TestBrokerDownLatencyAlone isolates the uplink's share of the broker-down
// figure of TestFrameToLampLatency: one lane with the broker up, with it
// down (a port nobody listens on) and with no uplink at all, taking turns
// for BENCH_RUNS rounds of BENCH_FRAMES frames, and no stalled disk in the
// same test (its throttled writeback outlasts its own state).
func TestBrokerDownLatencyAlone(t *testing.T) {
	n := framesPerState()
	broker := startMosquitto(t)
	states := []struct{ name, broker string }{
		{"normal", broker},
		{"broker_down", fmt.Sprintf("tcp://127.0.0.1:%d", mosquittotest.FreePort(t))},
		{"no_uplink", ""},
	}
	p99s := map[string][]float64{}
	for run := range lanesRuns() {
		for i := range states {
			st := states[(i+run)%len(states)]
			g := startGate(t, gateOpts{lanes: 1, broker: st.broker, trace: true}, func(*gate) {})
			lat := measureLatency(t, g, n)
			g.stop()
			p := percentilesOf(lat)
			result(t, "latency_alone_"+st.name+"_p99_run", ms(p.p99), "ms",
				fmt.Sprintf("run=%d frames=%d p50=%.3f max=%.3f load=%s", run+1, len(lat), ms(p.p50), ms(p.max), loadAvg()))
			p99s[st.name] = append(p99s[st.name], ms(p.p99))
		}
	}
	ratios := make([]float64, len(p99s["normal"]))
	for i := range ratios {
		ratios[i] = p99s["broker_down"][i] / p99s["normal"][i] // same round
	}
	r := summarise(ratios)
	result(t, "latency_alone_broker_down_p99_vs_normal", r.median, "x", r.note("target<=1.5x"))
	verdict(t, "latency_alone_broker_down_p99_vs_normal", r.median <= 1.5,
		fmt.Sprintf("broker down p99 ÷ the same round's normal p99, no stalled disk in the test: %.2f× median, %.2f–%.2f over %d runs; target ≤ 1.5×", r.median, r.min, r.max, r.n))
}
