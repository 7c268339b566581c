//go:build bench

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/testbinary"
)

// long bounds every wait on the daemon; generous, the figures come from
// the measurements, not from this.
const long = 30 * time.Second

// gatescreen is the daemon as shipped (scripts/cross-build.sh): static,
// stripped, built once for the run; with its test seams (-tags testhooks),
// which the release build leaves out. scripts/bench.sh builds the baseline
// binary with the same flags.
var gatescreen = &testbinary.Binary{
	Package: "../cmd/gatescreen",
	Flags:   []string{"-tags", "testhooks", "-trimpath", "-ldflags", "-s -w"},
	Env:     []string{"CGO_ENABLED=0"},
}

// TestMain removes the binary built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	gatescreen.Remove()
	os.Exit(code)
}

// binary builds ./cmd/gatescreen once, for this machine.
func binary(t testing.TB) string { return gatescreen.Path(t) }

// result prints one figure in a line scripts/bench.sh collects.
func result(t testing.TB, name string, value float64, unit, note string) {
	t.Helper()
	report(t, fmt.Sprintf("RESULT %s %s %s %s", name, strconv.FormatFloat(value, 'f', -1, 64), unit, note))
}

// report logs one line and appends it to BENCH_RESULTS when set.
func report(t testing.TB, line string) {
	t.Helper()
	t.Log(line)
	if path := os.Getenv("BENCH_RESULTS"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fmt.Fprintln(f, line)
	}
}

// startMosquitto runs a plain local mosquitto until the test ends and
// returns its URL.
func startMosquitto(t testing.TB) string {
	t.Helper()
	return mosquittotest.StartPlain(t).URL("tcp")
}

// gateOpts describes the daemon of one measurement.
type gateOpts struct {
	lanes  int
	broker string // "" runs without uplink
	screen bool
	// commitInterval is storage.commit_interval; "" keeps the default.
	commitInterval string
	// dir holds the store and configuration; "" makes a temporary one.
	dir string
	// env adds GATESCREEN_* test seams.
	env []string
	// trace turns on GATESCREEN_LAMP_TRACE through a FIFO.
	trace bool
	// binary is the gatescreen to run; "" is the one built for this run.
	binary string
}

// lampEvent is one traced lamp write.
type lampEvent struct {
	lane, output string
	on           bool
	at           time.Time
}

// gate is one running daemon with its pseudo-terminals.
type gate struct {
	t       testing.TB
	cmd     *exec.Cmd
	dir     string
	ports   []*ptyport.Pair
	lanes   []string
	trace   chan lampEvent
	started time.Time
	screen  string
	metrics string // its /metrics URL
	stderr  *bytes.Buffer
	exited  chan error
}

func laneName(i int) string { return fmt.Sprintf("lane%d", i+1) }

// writeConfig writes the daemon's YAML for o, with one lineproto device per
// lane on the given pseudo-terminals and in-memory lamp pins.
func writeConfig(t testing.TB, o gateOpts, ports []*ptyport.Pair) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("site: {district: bench, school: bench-school, gate: east, box_id: bench-east}\n")
	b.WriteString("devices:\n")
	for i, p := range ports {
		fmt.Fprintf(&b, "  - {name: gate%d, driver: lineproto, port: %s, baud: 115200, mode: body}\n", i+1, p.Path)
	}
	b.WriteString("lanes:\n")
	for i := range ports {
		fmt.Fprintf(&b, "  - {name: %s, role: student, device: gate%d, output: %s}\n", laneName(i), i+1, laneName(i))
	}
	b.WriteString("outputs:\n")
	for i := range ports {
		up := "SIM_" + strings.ToUpper(laneName(i)) + "_"
		fmt.Fprintf(&b, "  %s: {green: %sGREEN, red: %sRED, amber: %sAMBER, buzzer: %sBUZZER, barrier: %sBARRIER}\n",
			laneName(i), up, up, up, up, up)
	}
	fmt.Fprintf(&b, "storage:\n  path: %s\n", filepath.Join(o.dir, "events.db"))
	if o.commitInterval != "" {
		fmt.Fprintf(&b, "  commit_interval: %s\n", o.commitInterval)
	}
	fmt.Fprintf(&b, "uplink: {broker: %q, identity: none}\n", o.broker)
	if o.screen {
		pin := filepath.Join(o.dir, "doctor.pin")
		if err := os.WriteFile(pin, []byte("1234\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "screen: {listen: \"127.0.0.1:0\", doctor_pin_file: %s}\n", pin)
	} else {
		b.WriteString("screen: {listen: \"\"}\n")
	}
	b.WriteString("metrics: {listen: \"127.0.0.1:0\"}\n") // several daemons at once: no fixed port
	path := filepath.Join(o.dir, "gate.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// openPorts makes n pseudo-terminals closed when the test ends.
func openPorts(t testing.TB, n int) []*ptyport.Pair {
	t.Helper()
	ports := make([]*ptyport.Pair, n)
	for i := range ports {
		p, err := ptyport.Open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		ports[i] = p
	}
	return ports
}

// startGate starts `gatescreen run` on new pseudo-terminals and returns
// once it logged "gate running". beforeReady, when set, runs right after
// the process started (the start-up measurement feeds frames from there).
func startGate(t testing.TB, o gateOpts, beforeReady func(*gate)) *gate {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	g := &gate{t: t, dir: o.dir, ports: openPorts(t, o.lanes), stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	for i := range o.lanes {
		g.lanes = append(g.lanes, laneName(i))
	}
	cfg := writeConfig(t, o, g.ports)
	bin := o.binary
	if bin == "" {
		bin = binary(t)
	}
	g.cmd = exec.Command(bin, "run", "-config", cfg, "-log-format", "json")
	g.cmd.Env = append(os.Environ(), "GATESCREEN_SIM_PINS=1")
	g.cmd.Env = append(g.cmd.Env, o.env...)
	if o.trace {
		fifo := filepath.Join(o.dir, "lamps.trace")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		// O_RDWR: opening does not wait for the writer, and the reader never
		// sees end-of-file while the daemon restarts its writer.
		f, err := os.OpenFile(fifo, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		g.trace = make(chan lampEvent, 1<<16)
		go readTrace(f, g.trace)
		g.cmd.Env = append(g.cmd.Env, "GATESCREEN_LAMP_TRACE="+fifo)
	}
	stdout, err := g.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	g.cmd.Stderr = g.stderr
	g.started = time.Now()
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.exited <- g.cmd.Wait() }()
	t.Cleanup(func() { _ = g.cmd.Process.Kill() })
	if beforeReady != nil {
		beforeReady(g)
	}
	logFile, err := os.Create(filepath.Join(o.dir, "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	ready := make(chan runningLine, 1)
	go scanLogs(io.TeeReader(stdout, logFile), ready)
	select {
	case line := <-ready:
		g.screen, g.metrics = line.Screen, line.Metrics
	case err := <-g.exited:
		t.Fatalf("gatescreen exited before it ran: %v\n%s", err, g.stderr.String())
	case <-time.After(long):
		t.Fatalf("gatescreen did not log \"gate running\" within %v\n%s", long, g.stderr.String())
	}
	return g
}

// runningLine is what the "gate running" log line says of the daemon's URLs.
type runningLine struct{ Screen, Metrics string }

// scanLogs passes the "gate running" line to ready and keeps draining the
// daemon's stdout (kept in <dir>/daemon.log).
func scanLogs(r io.Reader, ready chan<- runningLine) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		if sent || !bytes.Contains(sc.Bytes(), []byte(`"gate running"`)) {
			continue
		}
		var line runningLine
		_ = json.Unmarshal(sc.Bytes(), &line)
		ready <- line
		sent = true
	}
	if !sent {
		close(ready)
	}
}

func readTrace(r io.Reader, out chan<- lampEvent) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		ns, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			continue
		}
		out <- lampEvent{lane: f[0], output: f[1], on: f[2] == "true", at: time.Unix(0, ns)}
	}
}

// complaints returns the daemon's warning and error log lines so far.
func (g *gate) complaints() string {
	data, err := os.ReadFile(filepath.Join(g.dir, "daemon.log"))
	if err != nil {
		return err.Error()
	}
	var out strings.Builder
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) {
			out.WriteString(l)
		}
	}
	return out.String()
}

// pid of the daemon.
func (g *gate) pid() int { return g.cmd.Process.Pid }

// stop sends SIGINT and waits for a clean exit.
func (g *gate) stop() {
	g.t.Helper()
	_ = g.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-g.exited:
		if err != nil {
			g.t.Errorf("gatescreen did not exit cleanly: %v\n%s", err, g.stderr.String())
		}
	case <-time.After(long):
		g.t.Errorf("gatescreen still running %v after SIGINT", long)
	}
}

// line is a walk-through gate's output for one person.
func line(buf []byte, bodyC float64) []byte {
	return fmt.Appendf(buf[:0], "T=%.1f A=24.1\n", bodyC)
}

// sseClients opens n screen clients on /events that read until ctx ends.
func sseClients(t testing.TB, ctx context.Context, screen string, n int) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, screen+"/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		// One tablet each: the screen caps the streams of one address.
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))}}
		client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /events: %s", resp.Status)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
		}()
	}
	return &wg
}

// procStatus returns a field of /proc/<pid>/status in KiB (VmHWM, VmRSS);
// the process must be there.
func procStatus(t testing.TB, pid int, field string) int64 {
	t.Helper()
	kb := statusKB(pid, field)
	if kb == 0 {
		t.Fatalf("/proc/%d/status: no %s", pid, field)
	}
	return kb
}

// mappedRss sums the resident KiB of pid's mappings whose path contains
// name (the bbolt file's mmap, the binary's text).
func mappedRss(t testing.TB, pid int, name string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	in := false
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = len(f) >= 6 && strings.Contains(f[5], name)
		case in && len(f) >= 2 && f[0] == "Rss:":
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			sum += kb
		}
	}
	return sum
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the user + system CPU time of pid so far.
func cpuTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// writeBytes is write_bytes of /proc/<pid>/io: bytes the process sent to
// the block layer.
func writeBytes(t testing.TB, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "write_bytes:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/io has no write_bytes", pid)
	return 0
}

// percentiles of sorted durations.
type percentiles struct{ p50, p99, max time.Duration }

func percentilesOf(d []time.Duration) percentiles {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration { return s[int(q*float64(len(s)-1))] }
	return percentiles{at(0.50), at(0.99), s[len(s)-1]}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
