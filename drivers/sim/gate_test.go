package sim

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"

	"github.com/gatescreen/gatescreen/drivers/mlx90614"
)

// patience bounds every wait in these tests; nothing is asserted about how
// fast the gate is.
const patience = 20 * time.Second

func startGate(t *testing.T, yaml string) (*Gate, *Scenario) {
	t.Helper()
	sc := mustParse(t, yaml)
	g, err := Start(context.Background(), sc, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g, sc
}

func openPort(t *testing.T, path string) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPath(t *testing.T, g *Gate, name string) string {
	t.Helper()
	p, err := g.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// readN reads exactly n bytes, failing the test after patience.
func readN(t *testing.T, p serial.Port, n int) []byte {
	t.Helper()
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for deadline := time.Now().Add(patience); len(out) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d bytes: % x", len(out), n, out)
		}
		k, err := p.Read(buf[:n-len(out)])
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, buf[:k]...)
	}
	return out
}

// readLines reads n lines ending in end.
func readLines(t *testing.T, p serial.Port, n int, end string) []string {
	t.Helper()
	var data []byte
	buf := make([]byte, 256)
	for deadline := time.Now().Add(patience); bytes.Count(data, []byte(end)) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("read %q, want %d lines", data, n)
		}
		k, err := p.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		data = append(data, buf[:k]...)
	}
	return strings.SplitN(string(data), end, n+1)[:n]
}

func waitSent(t *testing.T, g *Gate, n int) []Person {
	t.Helper()
	var out []Person
	timeout := time.After(patience)
	for len(out) < n {
		select {
		case p := <-g.Sent():
			out = append(out, p)
		case <-timeout:
			t.Fatalf("got %d of %d people", len(out), n)
		}
	}
	return out
}

// parseFrames splits a GY-MCU90614 stream into frames and fails on any byte
// that is not part of a valid frame.
func parseFrames(t *testing.T, stream []byte) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for len(stream) >= 9 {
		f := [9]byte(stream[:9])
		if f != EncodeGYMCU(decodeGYMCU(f)) {
			t.Fatalf("invalid frame % x", f)
		}
		o, a := decodeGYMCU(f)
		out = append(out, [2]float64{o, a})
		stream = stream[9:]
	}
	return out
}

func decodeGYMCU(f [9]byte) (objectC, ambientC float64) {
	return float64(int16(f[4])<<8|int16(f[5])) / 100, float64(int16(f[6])<<8|int16(f[7])) / 100
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }

func TestGYMCUStreamsPeople(t *testing.T) {
	g, _ := startGate(t, `
seed: 11
devices:
  - {name: ir, protocol: gymcu90614, lane: l1, arrivals_per_min: 60, fever_share: 0.5, ambient_c: 18.5, rate_hz: 20}
`)
	port := openPort(t, mustPath(t, g, "ir"))
	var (
		mu     sync.Mutex
		stream []byte
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, err := port.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			stream = append(stream, buf[:n]...)
			mu.Unlock()
		}
	}()
	people := waitSent(t, g, 2)
	// Let the second plateau and its leave ramp pass.
	time.Sleep(people[1].Dwell + leaveTime + 200*time.Millisecond)
	port.Close()
	<-done

	mu.Lock()
	frames := parseFrames(t, stream[:len(stream)/9*9])
	mu.Unlock()
	idle := 0
	onPlateau := make([]int, len(people))
	for _, f := range frames {
		if !near(f[1], 18.5, 0.051) {
			t.Fatalf("ambient %v, want 18.5±0.05", f[1])
		}
		if near(f[0], 18.5+idleAboveAmbientC, 0.051) {
			idle++
		}
		for i, p := range people {
			if near(f[0], p.SkinC, 0.031) {
				onPlateau[i]++
			}
		}
	}
	if idle == 0 {
		t.Errorf("no background frame among %d", len(frames))
	}
	for i, p := range people {
		// A plateau of at least a second at 20 Hz; a third of it is plenty.
		if onPlateau[i] < 6 {
			t.Errorf("person %d (skin %.2f, dwell %v): %d plateau frames of %d", p.Seq, p.SkinC, p.Dwell, onPlateau[i], len(frames))
		}
	}
}

func TestGYMCUQueryMode(t *testing.T) {
	g, _ := startGate(t, `
seed: 12
devices:
  - {name: ir, protocol: gymcu90614, lane: l1, arrivals_per_min: 0.001, ambient_c: 25, query: true}
`)
	port := openPort(t, mustPath(t, g, "ir"))
	buf := make([]byte, 9)
	if n, err := port.Read(buf); n != 0 || err != nil {
		t.Fatalf("a module in query mode sent % x (%v) unasked", buf[:n], err)
	}
	ask := func(cmd []byte) {
		t.Helper()
		if _, err := port.Write(cmd); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		// Line noise before the command must not stop the module from
		// recognising it.
		ask(append([]byte{0xa5, 0x00, byte(i)}, cmdQuery[:]...))
		f := parseFrames(t, readN(t, port, 9))
		if !near(f[0][0], 25+idleAboveAmbientC, 0.051) || !near(f[0][1], 25, 0.051) {
			t.Fatalf("query answer %v, want background at 25 °C", f[0])
		}
	}
	ask(cmdContinuous[:])
	if f := parseFrames(t, readN(t, port, 27)); len(f) != 3 {
		t.Fatalf("continuous mode: %v", f)
	}
	if d := g.Devices()[0]; d.Driver != "gymcu90614" || !d.Query || d.Mode != "skin" || d.OffsetC != 0.9 || d.Baud != 9600 || d.RateHz != 9 {
		t.Fatalf("device config %+v", d)
	}
}

func TestLineGateAndBadge(t *testing.T) {
	tests := []struct {
		name, extra, end, unit string
		temp                   func(Person) float64
	}{
		{"celsius", "", "\r\n", "C", func(p Person) float64 { return p.ReportedC }},
		{"fahrenheit", `, line_format: '{{printf "%.1f" .TempF}}F/{{.Count}}{{if .Alarm}}*{{end}}', line_end: "\n", line_unit: F,
       line_pattern: '^(?P<temp>\d+\.\d)F/(?P<count>\d+)(?P<alarm>\*)?$'`, "\n", "F",
			func(p Person) float64 { return p.ReportedC*9/5 + 32 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, sc := startGate(t, `
seed: 13
roster: [04A1B2C3D4, 04A1B2C3D5, 04A1B2C3D6]
devices:
  - {name: gate, protocol: lineproto, lane: l1, arrivals_per_min: 200, fever_share: 0.5, cold_share: 0.2, ambient_c: 24.1`+tt.extra+`}
  - {name: badge, protocol: badge, lane: l1, swipe_share: 1}
`)
			gatePort := openPort(t, mustPath(t, g, "gate"))
			badgePort := openPort(t, mustPath(t, g, "badge"))
			people := waitSent(t, g, 4)
			planned, _ := sc.People("gate", 4)
			devs := g.Devices()
			if devs[0].Line == nil || devs[0].Line.Unit != tt.unit || devs[0].Line.LineEnd != tt.end || devs[0].Mode != "body" {
				t.Fatalf("gate config %+v %+v", devs[0], devs[0].Line)
			}
			pattern := regexp.MustCompile(devs[0].Line.Pattern)
			lines := readLines(t, gatePort, 4, tt.end)
			cards := readLines(t, badgePort, 4, "\r\n")
			for i, p := range people {
				p.At = time.Time{}
				if p != planned[i] {
					t.Fatalf("sent %+v\nplanned %+v", p, planned[i])
				}
				m := pattern.FindStringSubmatch(lines[i])
				if m == nil {
					t.Fatalf("line %q does not match the configured pattern %s", lines[i], pattern)
				}
				got, _ := strconv.ParseFloat(m[pattern.SubexpIndex("temp")], 64)
				if !near(got, tt.temp(p), 0.051) {
					t.Errorf("line %q for person reported at %.2f °C", lines[i], p.ReportedC)
				}
				if alarm := m[pattern.SubexpIndex("alarm")] != ""; alarm != (p.ReportedC >= AlarmC) {
					t.Errorf("line %q: alarm %v for %.2f °C", lines[i], alarm, p.ReportedC)
				}
				if p.Card == "" || cards[i] != p.Card {
					t.Errorf("badge line %q, person's card %q", cards[i], p.Card)
				}
			}
		})
	}
}

func TestGarbageBursts(t *testing.T) {
	g, sc := startGate(t, `
seed: 14
roster: [AA]
devices:
  - {name: gate, protocol: lineproto, lane: l1, arrivals_per_min: 1}
  - {name: badge, protocol: badge, lane: l1, garbage: {every: 100ms, bytes: 7}}
`)
	got := readN(t, openPort(t, mustPath(t, g, "badge")), 21)
	rng := deviceRand(sc.Seed, "badge", "garbage")
	want := make([]byte, 21)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("garbage % x, want % x", got, want)
	}
}

func TestGateSendsThePlannedPeople(t *testing.T) {
	g, sc := startGate(t, `
seed: 15
duration: 2s
devices:
  - {name: gate, protocol: lineproto, lane: l1, arrivals_per_min: 300, fever_share: 0.3}
  - {name: ir, protocol: gymcu90614, lane: l2, arrivals_per_min: 60, dwell_min: 100ms, dwell_max: 200ms}
`)
	select {
	case <-g.Done():
	case <-time.After(patience):
		t.Fatal("a 2 s scenario did not end")
	}
	var sent []Person
	for len(g.Sent()) > 0 {
		p := <-g.Sent()
		if p.At.IsZero() {
			t.Fatalf("person without At: %+v", p)
		}
		p.At = time.Time{}
		sent = append(sent, p)
	}
	gate, _ := sc.People("gate", 1000)
	ir, _ := sc.People("ir", 1000)
	want := append(gate, ir...)
	cmp := func(a, b Person) int {
		return strings.Compare(a.Device, b.Device)*1000 + a.Seq - b.Seq
	}
	slices.SortFunc(sent, cmp)
	slices.SortFunc(want, cmp)
	if len(gate) < 3 || len(ir) < 1 || !slices.Equal(sent, want) {
		t.Fatalf("sent %d people, planned %d:\nsent %+v\nplanned %+v", len(sent), len(want), sent, want)
	}
}

func TestUnplugReplug(t *testing.T) {
	g, _ := startGate(t, `
seed: 16
devices:
  - {name: ir, protocol: gymcu90614, lane: l1, arrivals_per_min: 1}
  - {name: mlx, protocol: mlx90614, lane: l2, arrivals_per_min: 1, unplug: [{at: 200ms, for: 1s}]}
`)
	old := mustPath(t, g, "ir")
	oldPort := openPort(t, old)
	readN(t, oldPort, 9)
	if err := g.Unplug("ir"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Path("ir"); err == nil {
		t.Fatal("Path of an unplugged device did not fail")
	}
	if d := g.Devices()[0]; d.Port != "" {
		t.Fatalf("unplugged device config has port %q", d.Port)
	}
	buf := make([]byte, 64)
	for deadline := time.Now().Add(patience); ; {
		if _, err := oldPort.Read(buf); err != nil {
			break // the host sees the cable go
		}
		if time.Now().After(deadline) {
			t.Fatal("the old port kept working after the unplug")
		}
	}
	if err := g.Replug("ir"); err != nil {
		t.Fatal(err)
	}
	path := mustPath(t, g, "ir")
	if path == old {
		t.Fatalf("replug reused %s", old)
	}
	if d := g.Devices()[0]; d.Port != path {
		t.Fatalf("device config port %q, want %q", d.Port, path)
	}
	parseFrames(t, readN(t, openPort(t, path), 9))

	// The scheduled unplug of the I²C sensor: it stops acknowledging, then
	// answers again.
	bus, err := i2creg.Open(g.Devices()[1].Bus)
	if err != nil {
		t.Fatal(err)
	}
	dev := &i2c.Dev{Bus: bus, Addr: 0x5a}
	r := make([]byte, 3)
	sawNACK := false
	for deadline := time.Now().Add(patience); ; time.Sleep(20 * time.Millisecond) {
		err := dev.Tx([]byte{MLXRegObject1}, r)
		if errors.Is(err, ErrNACK) {
			sawNACK = true
		} else if err != nil {
			t.Fatal(err)
		} else if sawNACK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no unplug and replug seen (NACK seen: %v)", sawNACK)
		}
	}
}

func TestMLXFollowsPeople(t *testing.T) {
	g, _ := startGate(t, `
seed: 21 # first person after 1.5 s, so the background is read first
devices:
  - {name: mlx, protocol: mlx90614, lane: l1, arrivals_per_min: 30, fever_share: 0.5, ambient_c: 20, dwell_min: 2s, dwell_max: 3s}
`)
	d := g.Devices()[0]
	if d.Driver != "mlx90614" || d.Address != 0x5a || d.Mode != "skin" || d.RateHz != 8 || d.Bus == "" {
		t.Fatalf("device config %+v", d)
	}
	bus, err := i2creg.Open(d.Bus)
	if err != nil {
		t.Fatal(err)
	}
	dev := &i2c.Dev{Bus: bus, Addr: d.Address}
	read := func(cmd byte) float64 {
		t.Helper()
		r := make([]byte, 3)
		if err := dev.Tx([]byte{cmd}, r); err != nil {
			t.Fatal(err)
		}
		if pec := mlx90614.PEC(0x5a<<1, cmd, 0x5a<<1|1, r[0], r[1]); pec != r[2] {
			t.Fatalf("PEC %#02x, want %#02x", r[2], pec)
		}
		return float64(uint16(r[0])|uint16(r[1])<<8)*0.02 - 273.15
	}
	if obj := read(MLXRegObject1); !near(obj, 20+idleAboveAmbientC, 0.071) {
		t.Fatalf("background object %.2f", obj)
	}
	p := waitSent(t, g, 1)[0]
	if obj := read(MLXRegObject1); !near(obj, p.SkinC, 0.041) {
		t.Fatalf("object %.2f on the plateau of skin %.2f", obj, p.SkinC)
	}
	if amb := read(MLXRegAmbient); !near(amb, 20, 0.061) {
		t.Fatalf("ambient %.2f", amb)
	}
	g.Close()
	if _, err := i2creg.Open(d.Bus); err == nil {
		t.Fatal("the bus is still registered after Close")
	}
}

func TestStartRejectsInvalidScenario(t *testing.T) {
	sc := &Scenario{Devices: []DeviceSpec{{Name: "x", Protocol: "serial", Lane: "l"}}}
	if _, err := Start(context.Background(), sc, Opts{}); err == nil || !strings.Contains(err.Error(), "devices[0].protocol") {
		t.Fatalf("err = %v", err)
	}
}

// A device nobody reads drops its bytes instead of blocking, and Close
// returns.
func TestWriteDoesNotBlockWithoutReader(t *testing.T) {
	s := &serialEnd{name: "t", writeTimeout: 20 * time.Millisecond}
	if err := s.plug(); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 16<<10)
	dropped := false
	for range 1000 {
		if !s.write(chunk) {
			dropped = true
			break
		}
	}
	if !dropped {
		t.Fatal("16 MiB went into a pseudo-terminal nobody reads")
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if s.write([]byte{1}) {
		t.Fatal("write after close succeeded")
	}
}
