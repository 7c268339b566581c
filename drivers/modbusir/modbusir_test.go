package modbusir

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
	"go.bug.st/serial"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
	"github.com/gatescreen/gatescreen/internal/testkit/ci"
)

// Debian's interpreter: the pymodbus package is installed for it, not for
// whatever python3 comes first on PATH.
const python = "/usr/bin/python3"

// generous bounds every wait in these tests.
const generous = 20 * time.Second

// peerModules are the Python modules the pymodbus peer imports, with the
// Debian package that provides each (serial_asyncio is only a Recommends of
// python3-pymodbus, so an install without recommends lacks it).
var peerModules = []struct{ module, pkg string }{
	{"pymodbus", "python3-pymodbus"},
	{"serial", "python3-serial"},
	{"serial_asyncio", "python3-serial-asyncio"},
}

// needPymodbus skips when a module of the pymodbus peer is missing, except in
// CI, which installs them (scripts/deps.sh) and must run these tests.
func needPymodbus(t *testing.T) {
	t.Helper()
	for _, m := range peerModules {
		if out, err := exec.Command(python, "-c", "import "+m.module).CombinedOutput(); err != nil {
			ci.Missing(t, "%s cannot import %s (apt-get install -y %s): %s", python, m.module, m.pkg, strings.TrimSpace(string(out)))
		}
	}
}

// nullModem joins two pseudo-terminals like a crossed serial cable and
// returns the daemon's end and the peer's end.
func nullModem(t *testing.T) (daemonPath, peerPath string) {
	t.Helper()
	a, err := ptyport.Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ptyport.Open()
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	go io.Copy(a.Master, b.Master)
	go io.Copy(b.Master, a.Master)
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return a.Path, b.Path
}

// startSlave runs testdata/rtu_slave.py on path and waits until it serves.
func startSlave(t *testing.T, path string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(python, append([]string{"testdata/rtu_slave.py", "--port", path}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
		io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("rtu_slave.py did not start: %s", stderr.String())
		}
	case <-time.After(generous):
		t.Fatalf("rtu_slave.py not ready after %v: %s", generous, stderr.String())
	}
	return cmd
}

func openPort(t *testing.T, path string) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func reg(r uint16) *uint16 { return &r }

// firstReading runs src until it emits a reading, then stops it.
func firstReading(t *testing.T, src drivers.Source) drivers.Reading {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan drivers.Reading, 16)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(r drivers.Reading) { got <- r }) }()
	select {
	case r := <-got:
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
		return r
	case err := <-done:
		t.Fatalf("Run ended before a reading: %v", err)
	case <-time.After(generous):
		t.Fatalf("no reading after %v", generous)
	}
	panic("unreachable")
}

func newDev(t *testing.T, port drivers.Port, o Opts) *Dev {
	t.Helper()
	if o.RateHz == 0 {
		o.RateHz = 20 // keep the tests quick
	}
	d, err := New(port, &o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPollHoldingRegisters(t *testing.T) {
	needPymodbus(t)
	daemon, peer := nullModem(t)
	startSlave(t, peer, "--slave", "1", "--hr", "0=373", "--hr", "1=251", "--hr", "2=0")
	d := newDev(t, openPort(t, daemon), Opts{Name: "lane2-ir", Map: drivers.ModbusOpts{
		SlaveID: 1, Register: 0, AmbientRegister: reg(1), StatusRegister: reg(2),
	}})
	r := firstReading(t, d)
	if r.Flags != 0 || !near(r.ObjectC, 37.3) || !near(r.AmbientC, 25.1) {
		t.Fatalf("reading flags %b object %v ambient %v, want 37.3 and 25.1 °C", r.Flags, r.ObjectC, r.AmbientC)
	}
	if s := d.Stats(); s.Polls == 0 || s.Timeouts+s.Exceptions+s.BadFrames+s.Errors != 0 {
		t.Fatalf("stats %+v, want only good polls", s)
	}
}

// A cancelled Run polls no more even when its next tick is due as well:
// select chooses at random between ready cases, so without the check after
// the tick a good share of these tries would poll once more.
func TestRunCancelledWithATickDueReadsNoMore(t *testing.T) {
	needPymodbus(t)
	daemon, peer := nullModem(t)
	startSlave(t, peer, "--slave", "1", "--hr", "0=373")
	port := openPort(t, daemon)
	for try := range 20 {
		d := newDev(t, port, Opts{Name: "lane2-ir", RateHz: 1000, Map: drivers.ModbusOpts{SlaveID: 1}})
		ctx, cancel := context.WithCancel(context.Background())
		err := d.Run(ctx, func(drivers.Reading) {
			time.Sleep(3 * time.Millisecond) // the next tick is due
			cancel()
		})
		cancel()
		if s := d.Stats(); err != nil || s.Polls != 1 {
			t.Fatalf("try %d: Run after cancel: %v, stats %+v, want nil and exactly 1 poll", try, err, s)
		}
	}
}

func TestScaledSignedInputRegisters(t *testing.T) {
	needPymodbus(t)
	daemon, peer := nullModem(t)
	startSlave(t, peer, "--slave", "7", "--ir", "10=-55", "--ir", "11=3650")
	port := openPort(t, daemon)
	tests := []struct {
		name    string
		m       drivers.ModbusOpts
		object  float64
		ambient float64 // NaN: no ambient register
	}{
		{"signed tenths", drivers.ModbusOpts{SlaveID: 7, Register: 10, Input: true, Signed: true}, -5.5, math.NaN()},
		{"unsigned tenths", drivers.ModbusOpts{SlaveID: 7, Register: 10, Input: true}, 6548.1, math.NaN()},
		{"hundredths", drivers.ModbusOpts{SlaveID: 7, Register: 11, Input: true, Scale: 0.01, AmbientRegister: reg(10), Signed: true}, 36.5, -0.55},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := firstReading(t, newDev(t, port, Opts{Map: tt.m}))
			if !near(r.ObjectC, tt.object) {
				t.Fatalf("object %v, want %v", r.ObjectC, tt.object)
			}
			if math.IsNaN(tt.ambient) {
				if r.Flags != drivers.FlagNoAmbient || !math.IsNaN(r.AmbientC) {
					t.Fatalf("flags %b ambient %v, want FlagNoAmbient and NaN", r.Flags, r.AmbientC)
				}
			} else if r.Flags != 0 || !near(r.AmbientC, tt.ambient) {
				t.Fatalf("flags %b ambient %v, want %v", r.Flags, r.AmbientC, tt.ambient)
			}
			if r.Flags.Invalid() {
				t.Fatalf("flags %b make a good reading invalid", r.Flags)
			}
		})
	}
}

func TestStatusBitsMakeReadingInvalid(t *testing.T) {
	needPymodbus(t)
	daemon, peer := nullModem(t)
	startSlave(t, peer, "--hr", "0x0F=373", "--hr", "0x15=0x0009") // Calex map: 0x15 status, bits 0 and 3
	port := openPort(t, daemon)
	tests := []struct {
		name    string
		mask    uint16
		invalid bool
	}{
		{"every bit", 0, true},
		{"object high (bit 3)", 0x0008, true},
		{"sensor temperature high only (bit 2)", 0x0004, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := firstReading(t, newDev(t, port, Opts{Map: drivers.ModbusOpts{
				SlaveID: 1, Register: 0x0F, StatusRegister: reg(0x15), StatusMask: tt.mask,
			}}))
			if r.Flags.Invalid() != tt.invalid {
				t.Fatalf("flags %b invalid %v, want %v", r.Flags, r.Flags.Invalid(), tt.invalid)
			}
			if tt.invalid {
				if r.Flags&drivers.FlagStatus == 0 || !math.IsNaN(r.ObjectC) {
					t.Fatalf("flags %b object %v, want FlagStatus and no temperature", r.Flags, r.ObjectC)
				}
				if got := r.FrameBytes(); string(got) != "\x00\x09\x01\x75" {
					t.Fatalf("frame % x, want status 00 09 and value 01 75", got)
				}
			} else if !near(r.ObjectC, 37.3) {
				t.Fatalf("object %v, want 37.3", r.ObjectC)
			}
		})
	}
}

func TestExceptionsAreCountedThenRunFails(t *testing.T) {
	needPymodbus(t)
	daemon, peer := nullModem(t)
	startSlave(t, peer, "--hr", "0=373")
	d := newDev(t, openPort(t, daemon), Opts{Name: "bad-map", MaxFailures: 3, Map: drivers.ModbusOpts{SlaveID: 1, Register: 500}})
	err := d.Run(context.Background(), func(r drivers.Reading) { t.Errorf("emitted %+v on an exception", r) })
	if !errors.Is(err, errIllegalAddress) {
		t.Fatalf("Run: %v, want the illegal data address exception", err)
	}
	if !strings.Contains(err.Error(), "bad-map") || !strings.Contains(err.Error(), "3 polls") {
		t.Fatalf("error %q does not name the device and the failures", err)
	}
	if s := d.Stats(); s.Exceptions != 3 || s.Polls != 0 {
		t.Fatalf("stats %+v, want 3 exceptions", s)
	}
}

// A transmitter that stops answering makes Run fail after MaxFailures
// timeouts; a new Source on the same port works again once it is back.
func TestPeerStoppedThenReconnect(t *testing.T) {
	needPymodbus(t)
	daemon, peer := nullModem(t)
	slave := startSlave(t, peer, "--hr", "0=365")
	port := openPort(t, daemon)
	d := newDev(t, port, Opts{MaxFailures: 3, Timeout: 200 * time.Millisecond, Map: drivers.ModbusOpts{SlaveID: 1}})

	readings := make(chan drivers.Reading, 64)
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background(), func(r drivers.Reading) { readings <- r }) }()
	select {
	case r := <-readings:
		if !near(r.ObjectC, 36.5) {
			t.Fatalf("object %v, want 36.5", r.ObjectC)
		}
	case <-time.After(generous):
		t.Fatal("no reading before the peer stopped")
	}
	slave.Process.Kill()
	slave.Wait()
	select {
	case err := <-done:
		if !errors.Is(err, errTimedOut) {
			t.Fatalf("Run after the peer stopped: %v, want a timeout", err)
		}
	case <-time.After(generous):
		t.Fatal("Run did not give up on a silent peer")
	}
	if s := d.Stats(); s.Timeouts < 3 {
		t.Fatalf("stats %+v, want at least 3 timeouts", s)
	}

	// The daemon's runner builds a new Source through the registry.
	startSlave(t, peer, "--hr", "0=366")
	drv, _ := drivers.Lookup("modbusir")
	src, err := drv.New(drivers.Device{Name: "again", RateHz: 20, Modbus: &drivers.ModbusOpts{SlaveID: 1}}, drivers.Conn{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	if r := firstReading(t, src); !near(r.ObjectC, 36.6) {
		t.Fatalf("after reconnect: object %v, want 36.6", r.ObjectC)
	}
}

// brokenPort accepts writes but fails every read, like an unplugged adapter.
type brokenPort struct{}

var errUnplugged = errors.New("read /dev/ttyUSB0: input/output error")

func (brokenPort) Read([]byte) (int, error)           { return 0, errUnplugged }
func (brokenPort) Write(p []byte) (int, error)        { return len(p), nil }
func (brokenPort) SetReadTimeout(time.Duration) error { return nil }

func TestPortFailureEndsRun(t *testing.T) {
	d := newDev(t, brokenPort{}, Opts{Name: "unplugged", Map: drivers.ModbusOpts{SlaveID: 1}})
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background(), func(drivers.Reading) {}) }()
	select {
	case err := <-done:
		if !errors.Is(err, errUnplugged) || !strings.Contains(err.Error(), "unplugged") {
			t.Fatalf("Run: %v, want the port's error naming the device", err)
		}
	case <-time.After(generous):
		t.Fatal("Run did not notice the failed port")
	}
}

func TestValidate(t *testing.T) {
	drv, ok := drivers.Lookup("modbusir")
	if !ok {
		t.Fatal("modbusir is not registered")
	}
	if drv.Transport != drivers.Serial || !drv.Continuous || drv.Bauds[0] != 9600 {
		t.Fatalf("driver %+v, want serial, continuous (polled, segmented), 9600 baud first", drv)
	}
	tests := []struct {
		name   string
		dev    drivers.Device
		fields []string
	}{
		{"good", drivers.Device{Modbus: &drivers.ModbusOpts{SlaveID: 247, Scale: 0.01, StatusRegister: reg(3), StatusMask: 1}}, nil},
		{"no block", drivers.Device{}, []string{"modbus"}},
		{"slave 0", drivers.Device{Modbus: &drivers.ModbusOpts{}}, []string{"modbus.slave_id"}},
		{"slave 248", drivers.Device{Modbus: &drivers.ModbusOpts{SlaveID: 248}}, []string{"modbus.slave_id"}},
		{"negative scale", drivers.Device{Modbus: &drivers.ModbusOpts{SlaveID: 1, Scale: -0.1}}, []string{"modbus.scale"}},
		{"mask without status", drivers.Device{Modbus: &drivers.ModbusOpts{SlaveID: 1, StatusMask: 4}}, []string{"modbus.status_mask"}},
		{"negative rate", drivers.Device{RateHz: -1, Modbus: &drivers.ModbusOpts{SlaveID: 1}}, []string{"rate_hz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, fe := range drv.Validate(tt.dev) {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("fields %v, want %v", got, tt.fields)
			}
		})
	}
	if _, err := New(brokenPort{}, &Opts{Map: drivers.ModbusOpts{SlaveID: 0}}); err == nil || !strings.Contains(err.Error(), "modbus.slave_id") {
		t.Fatalf("New with slave 0: %v", err)
	}
	if _, err := drv.New(drivers.Device{Name: "x", Modbus: &drivers.ModbusOpts{SlaveID: 1}}, drivers.Conn{}); err == nil {
		t.Fatal("New without a port succeeded")
	}
}

// The library's sentinel errors, as the tests match them.
var (
	errIllegalAddress error = modbus.ErrIllegalDataAddress
	errTimedOut       error = modbus.ErrRequestTimedOut
)

// A reply whose CRC does not match is garbled on the wire: each one becomes
// an invalid reading (checksum), so the pipeline and the health count it,
// and a run of them ends Run like any failing link. The peer is a slave
// that answers 37.3 °C with its CRC's bits flipped.
func TestBadCRCIsInvalidReading(t *testing.T) {
	daemon, peer := nullModem(t)
	slave := openPort(t, peer)
	go func() {
		req := make([]byte, 8) // read holding registers: id, 3, addr, count, CRC
		for {
			if _, err := io.ReadFull(slave, req); err != nil {
				return
			}
			reply := []byte{req[0], 0x03, 0x02, 0x01, 0x75}
			crc := crc16(reply) ^ 0xFFFF
			if _, err := slave.Write(append(reply, byte(crc), byte(crc>>8))); err != nil {
				return
			}
		}
	}()
	d := newDev(t, openPort(t, daemon), Opts{Name: "noisy", MaxFailures: 3, Map: drivers.ModbusOpts{SlaveID: 1}})
	var got []drivers.Reading
	err := d.Run(context.Background(), func(r drivers.Reading) { got = append(got, r) })
	if !errors.Is(err, modbus.ErrBadCRC) {
		t.Fatalf("Run: %v, want the bad CRC after 3 polls", err)
	}
	if len(got) != 3 {
		t.Fatalf("%d readings, want 3 invalid ones: %+v", len(got), got)
	}
	for _, r := range got {
		if r.Flags != drivers.FlagChecksum || !math.IsNaN(r.ObjectC) {
			t.Fatalf("reading %+v, want invalid checksum with no temperature", r)
		}
	}
	if s := d.Stats(); s.BadFrames != 3 || s.Polls != 0 {
		t.Fatalf("stats %+v, want 3 bad frames", s)
	}
}
