//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/sim"
	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/testkit/ci"
)

// quietGate is the simulated part of the verdict tests: one gate on its own
// lane that sees a single person, so the lanes under test hear only the
// test's own device writers.
const quietGate = `
seed: 14
duration: 1s
devices:
  - {name: sim-gate, protocol: lineproto, lane: sim-lane, arrivals_per_min: 1, ambient_c: 22}
`

// ownDevice gives the daemon one more device on a pseudo-terminal that the
// test writes (and reads) itself, as a device of its own, on a lane of its
// own; it returns the pseudo-terminal's master.
func ownDevice(t *testing.T, c *config.Config, dev drivers.Device, role string) *os.File {
	t.Helper()
	pair, err := ptyport.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pair.Close() })
	dev.Port = pair.Path
	c.Devices = append(c.Devices, dev)
	c.Lanes = append(c.Lanes, config.Lane{Name: dev.Name + "-lane", Role: role, Device: dev.Name})
	return pair.Master
}

// screenLane is a lane as GET /api/state shows it.
type screenLane struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Last  *struct {
		Verdict string   `json:"verdict"`
		Reason  string   `json:"reason"`
		BodyC   *float64 `json:"body_c"`
	} `json:"last"`
	Tally struct {
		Pass, Flag, Retake, Invalid int
	} `json:"tally"`
}

func (r *rig) lane(name string) screenLane {
	r.t.Helper()
	var st struct {
		Lanes []screenLane `json:"lanes"`
	}
	getJSON(r.t, r.screen+"/api/state", &st)
	for _, l := range st.Lanes {
		if l.Name == name {
			return l
		}
	}
	r.t.Fatalf("the screen shows no lane %s", name)
	return screenLane{}
}

func (l screenLane) last() string {
	if l.Last == nil {
		return ""
	}
	return l.Last.Verdict + "/" + l.Last.Reason
}

// #14 defect 4: a walk-through gate's own ALARM with a normal temperature
// is never shown green: retake device_alarm on the screen, counted per
// device on /metrics; the same line without ALARM passes.
func TestGateAlarmIsNeverGreen(t *testing.T) {
	var gate *os.File
	r := newRig(t, scenario(t, quietGate), func(c *config.Config) {
		gate = ownDevice(t, c, drivers.Device{Name: "alarm-gate", Driver: "lineproto", Baud: 9600, Mode: "body",
			Line: &drivers.LineOpts{Pattern: `^T=(?P<temp>-?\d+\.\d)C A=(?P<ambient>-?\d+\.\d)C(?: (?P<alarm>ALARM))?$`, LineEnd: "\r\n"}},
			event.RoleStudent)
	})
	r.start(true)
	if _, err := gate.Write([]byte("T=36.0C A=24.0C ALARM\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the alarm line on the screen", func() bool { return r.lane("alarm-gate-lane").Last != nil })
	if l := r.lane("alarm-gate-lane"); l.State == "pass" || l.last() != "retake/device_alarm" {
		t.Fatalf("lane after the gate's ALARM at 36.0 °C: state %s, last %s; want retake/device_alarm", l.State, l.last())
	}
	metric := `gatescreen_device_alarm_overrules_total{device="alarm-gate"} 1`
	waitFor(t, metric, func() bool { return strings.Contains(getText(t, r.metrics), metric) })
	if _, err := gate.Write([]byte("T=36.1C A=24.0C\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plain line to pass", func() bool { return r.lane("alarm-gate-lane").last() == "pass/" })
	r.stop()
	figures(t, "gate line T=36.0C A=24.0C ALARM: retake device_alarm, never green; counted on /metrics; T=36.1C without ALARM: pass")
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// gyStream writes GY-MCU90614 frames at 10 Hz: the wall (24.0 °C) unless a
// presentation holds another object temperature in front of the module.
type gyStream struct {
	mu     sync.Mutex
	object float64
}

func (g *gyStream) run(ctx context.Context, w io.Writer) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		g.mu.Lock()
		f := sim.EncodeGYMCU(g.object, 24.0)
		g.mu.Unlock()
		if _, err := w.Write(f[:]); err != nil {
			return
		}
	}
}

// present holds objectC in front of the module for 1.2 s, then the wall
// for 0.8 s.
func (g *gyStream) present(objectC float64) {
	g.mu.Lock()
	g.object = objectC
	g.mu.Unlock()
	time.Sleep(1200 * time.Millisecond)
	g.mu.Lock()
	g.object = 24.0
	g.mu.Unlock()
	time.Sleep(800 * time.Millisecond)
}

// #14 defect 1: `gatescreen calibrate -reference 30` against a skin sensor
// reading 37.0 would store −7 °C; it is refused with a non-zero exit and the
// reason in zh-CN and English, nothing is stored, and a 38.8 °C skin reading
// afterwards still flags.
func TestCalibrationOutsideOffsetRangeRefusedByTheBinary(t *testing.T) {
	var port *os.File
	r := newRig(t, scenario(t, quietGate), func(c *config.Config) {
		port = ownDevice(t, c, drivers.Device{Name: "gy", Driver: "gymcu90614", Baud: 9600, Mode: "skin", OffsetC: 0.9},
			event.RoleStudent)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &gyStream{object: 24.0}
	go g.run(ctx, port)
	go io.Copy(io.Discard, port) // the driver's continuous-output commands
	r.start(true)

	cmd := exec.Command(binPath, "calibrate", "-config", r.cfgPath, "-device", "gy", "-reference", "30", "-samples", "5", "-timeout", "50s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	for presented := 0; ; presented++ {
		if presented == 8 {
			t.Fatalf("calibrate still running after 8 presentations: %s", stderr.String())
		}
		g.present(37.0)
		select {
		case err = <-done:
		default:
			continue
		}
		break
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("calibrate -reference 30: %v, want a non-zero exit\n%s%s", err, stdout.String(), stderr.String())
	}
	if msg := stderr.String(); !strings.Contains(msg, "校准被拒绝") || !strings.Contains(msg, "calibration refused") || !strings.Contains(msg, "offset_c") {
		t.Fatalf("calibrate printed %q, want the refusal in zh-CN and English naming offset_c", msg)
	}
	g.present(38.8)
	// 38.8 skin + the configured 0.9: 39.7 body, unless a −7 °C correction
	// had been applied.
	waitFor(t, "the 38.8 °C reading", func() bool {
		l := r.lane("gy-lane")
		return l.Last != nil && l.Last.BodyC != nil && *l.Last.BodyC > 39.6
	})
	if l := r.lane("gy-lane"); l.last() != "flag/threshold" {
		t.Fatalf("38.8 °C skin after the refused calibration: %s, want flag/threshold", l.last())
	}
	r.stop()
	figures(t, "calibrate -reference 30 against a sensor reading 37.0: exit %d, refused in zh-CN and English; 38.8 °C skin afterwards: flag", exit.ExitCode())
}

// rtuSlave runs the modbusir tests' pymodbus slave on path, with register
// changes fed through its stdin.
type rtuSlave struct {
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startRTUSlave(t *testing.T, path string, args ...string) *rtuSlave {
	t.Helper()
	const python = "/usr/bin/python3" // Debian's, with python3-pymodbus
	if out, err := exec.Command(python, "-c", "import pymodbus, serial_asyncio").CombinedOutput(); err != nil {
		ci.Missing(t, "python3-pymodbus is not installed (apt-get install -y python3-pymodbus): %s", strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(python, append([]string{"../drivers/modbusir/testdata/rtu_slave.py", "--port", path, "--stdin"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	s := &rtuSlave{stdin: stdin, out: bufio.NewReader(stdout)}
	s.expect(t, "ready")
	return s
}

func (s *rtuSlave) expect(t *testing.T, want string) {
	t.Helper()
	line, err := s.out.ReadString('\n')
	if strings.TrimSpace(line) != want {
		t.Fatalf("rtu_slave.py said %q (%v), want %q", line, err, want)
	}
}

// set changes holding register addr while the slave serves.
func (s *rtuSlave) set(t *testing.T, addr int, value int) {
	t.Helper()
	if _, err := fmt.Fprintf(s.stdin, "hr %d=%d\n", addr, value); err != nil {
		t.Fatal(err)
	}
	s.expect(t, "ok")
}

// #14 defect 3: one feverish person held 1.5 s in front of a Modbus
// transmitter polled at 4 Hz is one flag, one ticket, one case (it was six
// of each), and a person standing still for 6 s at the re-check desk is one
// measurement, not a stuck sensor.
func TestPolledTransmitterOnePersonOneCase(t *testing.T) {
	// A null modem: the daemon opens one pseudo-terminal, the slave the other.
	a, err := ptyport.Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ptyport.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	go io.Copy(a.Master, b.Master)
	go io.Copy(b.Master, a.Master)
	slave := startRTUSlave(t, b.Path, "--slave", "1", "--hr", "0=240")

	r := newRig(t, scenario(t, quietGate), func(c *config.Config) {
		c.Devices = append(c.Devices, drivers.Device{Name: "rs485-ir", Driver: "modbusir", Port: a.Path, Baud: 9600,
			Mode: "body", RateHz: 4, Modbus: &drivers.ModbusOpts{SlaveID: 1}})
		c.Lanes = append(c.Lanes, config.Lane{Name: "rs485-lane", Role: event.RoleStudent, Device: "rs485-ir"})
	})
	r.start(true)
	time.Sleep(3 * time.Second) // the wall, 24.0 °C: twelve polls, no measurement
	if l := r.lane("rs485-lane"); l.Last != nil {
		t.Fatalf("the idle transmitter made a measurement: %s", l.last())
	}
	slave.set(t, 0, 380)
	time.Sleep(1500 * time.Millisecond)
	slave.set(t, 0, 240)
	waitFor(t, "the feverish person's flag", func() bool { return r.lane("rs485-lane").Tally.Flag > 0 })
	time.Sleep(2 * time.Second) // any further poll of the same person would be counted by now
	l := r.lane("rs485-lane")
	if l.Tally.Flag != 1 || l.Tally.Pass+l.Tally.Retake+l.Tally.Invalid != 0 {
		t.Fatalf("lane tally %+v after one person at 38.0 °C, want exactly one flag", l.Tally)
	}
	casesOf := func() []string {
		var st struct {
			Cases []struct {
				Ticket string `json:"ticket"`
				Lane   string `json:"lane"`
			} `json:"cases"`
		}
		getJSON(t, r.screen+"/api/state", &st)
		var tickets []string
		for _, c := range st.Cases {
			if c.Lane == "rs485-lane" {
				tickets = append(tickets, c.Ticket)
			}
		}
		return tickets
	}
	waitFor(t, "the case of the flag", func() bool { return len(casesOf()) > 0 })
	time.Sleep(time.Second)
	if tickets := casesOf(); len(tickets) != 1 {
		t.Fatalf("re-check queue of the lane %v, want one case", tickets)
	}

	slave.set(t, 0, 366) // the next person stands still for 6 s
	time.Sleep(6 * time.Second)
	slave.set(t, 0, 240)
	waitFor(t, "the still person's pass", func() bool { return r.lane("rs485-lane").Tally.Pass > 0 })
	time.Sleep(time.Second)
	if l := r.lane("rs485-lane"); l.Tally.Pass != 1 || l.Tally.Invalid != 0 || l.Tally.Flag != 1 {
		t.Fatalf("lane tally %+v after a person still for 6 s, want one pass and no invalid (stuck)", l.Tally)
	}
	r.stop()
	figures(t, "Modbus transmitter at 4 Hz: idle 3 s 0 measurements; 38.0 °C held 1.5 s: 1 flag, 1 case; 36.6 °C held still 6 s: 1 pass, 0 stuck")
}

// #14 defect 5: random bytes at 115200 baud into a GY-MCU90614 port, from a
// writer of our own, made retakes with nobody there (93 in 60 s): the lane
// lamp showed amber for no one. Invalid frames never form a person: 30 s of
// line-rate noise gives no pass, no retake and no flag, only invalid
// readings; a person presented after it is measured. Bytes with no header
// in them never reach the pipeline, so the noise is the hard kind: frames
// with the 4-byte header and random bodies (one in 256 matches its checksum
// and carries a random temperature), between random bytes.
func TestRandomBytesFormNoPerson(t *testing.T) {
	var port *os.File
	r := newRig(t, scenario(t, quietGate), func(c *config.Config) {
		port = ownDevice(t, c, drivers.Device{Name: "noisy-gy", Driver: "gymcu90614", Baud: 115200, Mode: "skin", OffsetC: 2.0},
			event.RoleStudent)
	})
	go io.Copy(io.Discard, port) // the driver's continuous-output commands
	r.start(true)

	rng := rand.New(rand.NewPCG(14, 5))
	noise := make([]byte, 1152) // 100 ms at 115200 baud, 8N1
	tick := time.NewTicker(100 * time.Millisecond)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); <-tick.C {
		for i := range noise {
			noise[i] = byte(rng.Uint32())
		}
		for i := 0; i+16 <= len(noise); i += 16 { // a header every 16 bytes
			copy(noise[i:], []byte{0x5A, 0x5A, 0x45, 0x04})
		}
		if _, err := port.Write(noise); err != nil {
			t.Fatal(err)
		}
	}
	tick.Stop()
	waitFor(t, "invalid readings from the noise", func() bool { return r.lane("noisy-gy-lane").Tally.Invalid > 0 })
	noisy := r.lane("noisy-gy-lane").Tally
	if noisy.Pass+noisy.Retake+noisy.Flag != 0 {
		t.Fatalf("30 s of random bytes, nobody there: %d pass, %d retake, %d flag (%d invalid); want none but invalid",
			noisy.Pass, noisy.Retake, noisy.Flag, noisy.Invalid)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := &gyStream{object: 24.0}
	go g.run(ctx, port)
	time.Sleep(time.Second) // the line clean for min_dwell before anyone
	g.present(34.6)         // 36.6 °C with the 2.0 offset
	waitFor(t, "the person after the noise", func() bool { return r.lane("noisy-gy-lane").Tally.Pass == 1 })
	r.stop()
	figures(t, "30 s of random bytes at 115200 baud into a GY-MCU90614 port: %d invalid, 0 pass, 0 retake, 0 flag; the next person: pass", noisy.Invalid)
}
