//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers/runner"
)

const (
	scalePorts = 16
	scaleBaud  = 115200
	scaleRun   = 20 * time.Second
)

// TestScaleSixteenPorts runs 16 lineproto devices, each printing lines
// back to back as fast as 115200 baud 8N1 carries them (10 bits a byte),
// and checks that every line became a reading: counted by the daemon's
// /metrics (gatescreen_readings_total), with no ring overflow, and stored.
func TestScaleSixteenPorts(t *testing.T) {
	t.Run("baseline_plain_readers", scaleFloor)
	dir := t.TempDir()
	g := startGate(t, gateOpts{lanes: scalePorts, screen: true, dir: dir}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), scaleRun)
	defer cancel()
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range g.ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atLineRate(ctx, t, p.Master.Write, i, &sent)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	want := sent.Load()
	var got, overflows int64
	var byRing map[string]int64
	deadline := time.Now().Add(long)
	for {
		got, overflows, byRing = scrape(t, g.metrics)
		if got >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.stop()
	stored := countEvents(t, dir, start.Add(-time.Minute), time.Now().Add(time.Minute))
	if got != want {
		t.Errorf("sent %d lines, the daemon counted %d readings; its warnings:\n%s", want, got, g.complaints())
	}
	// The calibration sink only reads while a calibration runs; every
	// other ring feeds the gate (lamps, screen, storage, metrics) and must
	// not drop.
	for ring, n := range byRing {
		if !strings.Contains(ring, "calibration") {
			t.Errorf("ring %s dropped %d readings", ring, n)
		}
	}
	if stored < want {
		t.Errorf("sent %d lines, the store holds %d events", want, stored)
	}
	note := fmt.Sprintf("ports=%d baud=%d run=%v lines=%d counted=%d stored=%d overflows=%d",
		scalePorts, scaleBaud, elapsed.Round(time.Millisecond), want, got, stored, overflows)
	result(t, "scale_lost_frames", float64(want-got), "frames", note+" target=0")
	result(t, "scale_rate", float64(want)/elapsed.Seconds(), "lines/s", note)
	result(t, "scale_calibration_ring_drops", float64(byRing[`{ring="sink:calibration"}`]), "readings", "ring of 64 in internal/daemon")
}

// atLineRate writes lines into one port at the byte rate of the line,
// topping up every 10 ms to what the elapsed time allows.
func atLineRate(ctx context.Context, t *testing.T, write func([]byte) (int, error), port int, sent *atomic.Int64) {
	bytesPerSec := float64(scaleBaud) / 10
	var buf, chunk []byte
	written, lines := 0, 0
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due := int(time.Since(start).Seconds() * bytesPerSec)
		chunk = chunk[:0]
		for written+len(chunk) < due {
			// 36.0…36.9: passes that never repeat often enough to look stuck.
			buf = line(buf, 36.0+0.1*float64((lines+port)%10))
			chunk = append(chunk, buf...)
			lines++
		}
		if len(chunk) == 0 {
			continue
		}
		if _, err := write(chunk); err != nil {
			t.Error(err)
			return
		}
		written += len(chunk)
		sent.Add(int64(strings.Count(string(chunk), "\n")))
	}
}

// scrape sums gatescreen_readings_total and the ring overflow counters of
// the daemon's /metrics.
func scrape(t *testing.T, metrics string) (readings, overflows int64, byRing map[string]int64) {
	byRing = map[string]int64{}
	t.Helper()
	resp, err := http.Get(metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			continue
		}
		name, val, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "gatescreen_readings_total"):
			readings += int64(v)
		case strings.HasPrefix(name, "gatescreen_ring_overflows_total"):
			overflows += int64(v)
			if v > 0 {
				byRing[strings.TrimPrefix(name, "gatescreen_ring_overflows_total")] = int64(v)
			}
		}
	}
	return readings, overflows, byRing
}

// scaleFloor writes the same 16 streams into pseudo-terminals read by plain
// goroutines that only count line ends, on ports opened like the daemon's
// (runner.OpenSerial): what the machine and the pty layer deliver without
// the daemon, the baseline of the scale check.
func scaleFloor(t *testing.T) {
	ports := openPorts(t, scalePorts)
	var got atomic.Int64
	var readers sync.WaitGroup
	for _, p := range ports {
		port, closer, err := runner.OpenSerial(p.Path, scaleBaud)
		if err != nil {
			t.Fatal(err)
		}
		defer closer.Close()
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 4096)
			for {
				n, err := port.Read(buf)
				if err != nil || n == 0 {
					return
				}
				got.Add(int64(bytes.Count(buf[:n], []byte{'\n'})))
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), scaleRun)
	defer cancel()
	var sent atomic.Int64
	var wg sync.WaitGroup
	for i, p := range ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atLineRate(ctx, t, p.Master.Write, i, &sent)
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(long)
	for got.Load() < sent.Load() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	note := fmt.Sprintf("ports=%d lines=%d read=%d, no daemon", scalePorts, sent.Load(), got.Load())
	result(t, "scale_floor_lost_frames", float64(sent.Load()-got.Load()), "frames", note)
	if got.Load() != sent.Load() {
		t.Errorf("plain readers: sent %d lines, read %d", sent.Load(), got.Load())
	}
}
