//go:build bench

package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers/runner"
	"github.com/gatescreen/gatescreen/internal/mosquittotest"
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
	return 10_000
}

// TestFrameToLampLatency writes one lineproto frame at a time into the
// pseudo-terminal of the real daemon and waits for the lamp it must light,
// in three states: normal (broker up), storage stalled (every commit delayed
// by 500 ms) and broker down. Latency runs from just before the write of
// the frame's bytes to the lamp's write (the time the lamp sink took for
// it, as GATESCREEN_LAMP_TRACE reports).
func TestFrameToLampLatency(t *testing.T) {
	n := framesPerState()
	broker := startMosquitto(t)
	states := []struct {
		name   string
		broker string
		env    []string
	}{
		{"normal", broker, nil},
		{"storage_stalled", broker, []string{"GATESCREEN_TEST_FSYNC_DELAY=500ms"}},
		{"broker_down", fmt.Sprintf("tcp://127.0.0.1:%d", mosquittotest.FreePort(t)), nil},
	}
	p99 := map[string]time.Duration{}
	t.Run("baseline_pty_floor", func(t *testing.T) {
		lat := measurePtyFloor(t, n)
		p := percentilesOf(lat)
		p99["floor"] = p.p99
		note := fmt.Sprintf("frames=%d write → read of the line by go.bug.st/serial, no daemon", len(lat))
		result(t, "latency_floor_p50", ms(p.p50), "ms", note)
		result(t, "latency_floor_p99", ms(p.p99), "ms", note)
		result(t, "latency_floor_max", ms(p.max), "ms", note)
	})
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			g := startGate(t, gateOpts{lanes: 1, broker: st.broker, env: st.env, trace: true}, nil)
			lat := measureLatency(t, g, n)
			g.stop()
			p := percentilesOf(lat)
			p99[st.name] = p.p99
			note := fmt.Sprintf("frames=%d", len(lat))
			result(t, "latency_"+st.name+"_p50", ms(p.p50), "ms", note)
			result(t, "latency_"+st.name+"_p99", ms(p.p99), "ms", note+" target<2ms")
			result(t, "latency_"+st.name+"_max", ms(p.max), "ms", note)
		})
	}
	if floor := p99["floor"]; floor > 0 {
		for _, s := range []string{"normal", "storage_stalled", "broker_down"} {
			if d, ok := p99[s]; ok {
				result(t, "latency_"+s+"_p99_vs_floor", float64(d)/float64(floor), "x", "the daemon's share over the pty itself")
			}
		}
	}
	if base := p99["normal"]; base > 0 {
		for _, s := range []string{"storage_stalled", "broker_down"} {
			if d, ok := p99[s]; ok {
				result(t, "latency_"+s+"_p99_vs_normal", float64(d)/float64(base), "x", "target<=1.5x")
			}
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
