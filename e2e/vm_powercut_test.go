//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/testbinary"
	"github.com/gatescreen/gatescreen/internal/testkit/vmtest"
)

// vmPowerCuts is how many times the machine's power is cut.
const vmPowerCuts = 4

// vmBox is a box the power-cut test runs: a machine and the daemon built
// for it (static: the machine has no C library).
type vmBox struct {
	name string
	arch *vmtest.Arch
	bin  *testbinary.Binary
}

func staticDaemon(env ...string) *testbinary.Binary {
	return &testbinary.Binary{Package: "../cmd/gatescreen", Env: append([]string{"CGO_ENABLED=0"}, env...)}
}

// vmBoxes: a PC, and a Raspberry Pi's two kinds of daemon on a 64-bit ARM
// machine (the armv7 one in the kernel's 32-bit mode, as a Pi 3 or 4 with
// a 32-bit Raspberry Pi OS runs it).
var vmBoxes = []vmBox{
	{"amd64", vmtest.AMD64, staticDaemon("GOARCH=amd64")},
	{"arm64", vmtest.ARM64, staticDaemon("GOARCH=arm64")},
	{"armv7", vmtest.ARM64, staticDaemon("GOARCH=arm", "GOARM=7")},
}

// vmConfig is the box inside the machine: a walk-through gate on the
// guest's UART (the kernel's 8250 or PL011 driver, real termios: 115200
// baud, even parity, which the guest's stty must show), the store
// on the ext4 disk, the uplink to the host's broker through QEMU's network.
const vmConfig = `site:
  district: ` + district + `
  school: ` + school + `
  gate: ` + gateName + `
  timezone: Asia/Shanghai
  box_id: ` + boxID + `
devices:
  - name: vm-gate
    driver: lineproto
    port: %s
    baud: 115200
    parity: even
lanes:
  - name: lane-1
    role: student
    device: vm-gate
storage:
  path: /data/gatescreen/events.db
  commit_interval: 50ms
uplink:
  broker: tcp://10.0.2.2:%d
  pseudonym_key_file: /etc/gatescreen/pseudonym.key
  keepalive: 5s
  timeout: 3s
screen:
  listen: 127.0.0.1:8080
  doctor_pin_file: /etc/gatescreen/doctor.pin
`

// A real power cut: the daemon runs in a virtual machine whose power is
// cut (QEMU SIGKILLed) at random moments while a gate sends people over
// the guest's UART. Unlike a SIGKILL of the daemon, this takes the guest's
// page cache with it, so only what the store synced survives. Every event
// the broker received before a cut was reported durable by the box (the
// uplink sends only committed events) and must be on the disk afterwards;
// no sequence number may be given to two different events; and after the
// last cut every event on the disk reaches the district, fevers flagged
// and their cases opened. It runs for a PC and for the ARM daemons.
func TestVMPowerCutKeepsEveryUploadedEvent(t *testing.T) {
	for _, box := range vmBoxes {
		t.Run(box.name, func(t *testing.T) { testVMPowerCut(t, box) })
	}
}

func testVMPowerCut(t *testing.T, box vmBox) {
	vmtest.Require(t, box.arch)
	seed := seedFromEnv(t)
	t.Logf("seed %d (E2E_SEED=%d repeats this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 2))

	port := mosquittotest.FreePort(t)
	mq := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port))
	mq.Start()
	cons := newConsumer()
	subscribe(t, mq.URL("tcp"), "district-vm-powercut", nil, cons)

	files := map[string]vmtest.File{
		"/gatescreen":                   {Data: readFile(t, box.bin.Path(t)), Mode: 0o755},
		"/etc/gatescreen/gate.yaml":     {Data: fmt.Appendf(nil, vmConfig, box.arch.Gate, port), Mode: 0o600},
		"/etc/gatescreen/pseudonym.key": {Data: []byte(pseudonymKey), Mode: 0o600},
		"/etc/gatescreen/doctor.pin":    {Data: []byte(doctorPIN), Mode: 0o600},
	}
	// The daemon sets baud and parity on the guest's UART driver (a pty
	// would ignore the parity); stty shows what the driver took. Root may
	// open the port beside the daemon's exclusive hold (TIOCEXCL).
	run := fmt.Sprintf(`mkdir -p /data/gatescreen
/gatescreen run -config /etc/gatescreen/gate.yaml -log-format json &
until stty -F %[1]s -a 2>/dev/null | grep -q '\(^\| \)parenb'; do sleep 0.2; done
echo "gate uart: $(stty -F %[1]s -a | tr '\n' ' ')"
wait`, box.arch.Gate)
	disk := vmtest.NewDisk(t, 64)
	durable := map[string]bool{}
	var sent int
	boot := func() *vmtest.Machine {
		m := vmtest.Boot(t, vmtest.Opts{Arch: box.arch, Files: files, Run: run, Disk: disk})
		m.WaitConsole("gate running")
		return m
	}
	for i := range vmPowerCuts {
		m := boot()
		stop := feedGate(t, m.GatePath, rng.Uint64())
		if i == 0 {
			reportFirstReading(t, box.name, m, cons)
			checkGateUART(t, m)
		}
		time.Sleep(time.Second + time.Duration(rng.Int64N(int64(3*time.Second))))
		m.Cut()
		lines := stop()
		sent += lines
		// What the broker took before the cut may still be on its way to
		// the consumer.
		time.Sleep(time.Second)
		received := cons.receivedIDs()
		stored := vmStoredIDs(t, disk)
		var lost []string
		for id := range received {
			if !stored[id] {
				lost = append(lost, id)
			}
		}
		if len(lost) > 0 {
			slices.Sort(lost)
			t.Errorf("cut %d: %d events reached the broker, so they were committed, but are not on the disk: %v", i+1, len(lost), lost[:min(10, len(lost))])
		}
		for id := range stored {
			durable[id] = true
		}
		t.Logf("cut %d: %d lines sent this run, %d events on the disk, %d received by the district", i+1, lines, len(stored), len(received))
		if t.Failed() {
			t.Fatalf("console of the machine:\n%s", lastLines(m.Console(), 30))
		}
	}
	if len(durable) == 0 {
		t.Fatal("no event was ever stored: the gate's lines did not reach the daemon")
	}

	// Power back without load: everything on the disk reaches the district,
	// and no id came with two different bodies (a reused sequence number).
	m := boot()
	waitAllReceived(t, cons, durable, "the events on the disk after the cuts")
	if c := cons.conflictIDs(); len(c) > 0 {
		t.Errorf("%d ids delivered with different contents (a sequence number reused after a cut?): %v", len(c), c[:min(5, len(c))])
	}
	m.Cut()
	var flags int
	for _, e := range cons.events() {
		if e.Verdict == "flag" {
			flags++
		}
	}
	if flags == 0 || cons.topicCount("cases") == 0 {
		t.Errorf("the district got %d flagged readings and %d case messages; the gate sent fevers", flags, cons.topicCount("cases"))
	}
	figures(t, "%s: vm power cuts %d, lines sent %d, events durable %d, received %d (flags %d, case messages %d), conflicts %d",
		box.name, vmPowerCuts, sent, len(durable), len(cons.receivedIDs()), flags, cons.topicCount("cases"), len(cons.conflictIDs()))
}

// reportFirstReading waits for the first reading to reach the district
// and reports how long after power-on that was (BENCHMARKS.md): under
// software emulation a relative figure, not a Pi's.
func reportFirstReading(t *testing.T, box string, m *vmtest.Machine, cons *consumer) {
	t.Helper()
	running := time.Since(m.Started)
	waitFor(t, "the first reading at the district", func() bool {
		return slices.ContainsFunc(cons.events(), func(e eventObj) bool { return e.Kind == "reading" })
	})
	figures(t, "%s: power-on to first reading at the district %.1f s (gate running after %.1f s)",
		box, time.Since(m.Started).Seconds(), running.Seconds())
}

// checkGateUART checks that the guest's UART driver runs at the
// configured 115200 baud with even parity (its defaults: 9600, none).
func checkGateUART(t *testing.T, m *vmtest.Machine) {
	t.Helper()
	m.WaitConsole("gate uart: ")
	_, line, _ := strings.Cut(m.Console(), "gate uart: ")
	line, _, _ = strings.Cut(line, "\n")
	t.Logf("the guest's gate UART: %s", line)
	if !strings.HasPrefix(line, "speed 115200 baud") || !strings.Contains(line, " parenb ") || strings.Contains(line, " parodd ") {
		t.Errorf("the guest's UART is not at 115200 baud, even parity: %s", line)
	}
}

// feedGate writes walk-through gate lines into the guest's UART, one every
// 40 ms with a fever now and then, until stop is called; stop returns how
// many lines were written.
func feedGate(t *testing.T, path string, seed uint64) (stop func() int) {
	t.Helper()
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("opening the guest's UART %s: %v", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var n int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 3))
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			temp := 36.0 + rng.Float64()
			if rng.IntN(20) == 0 {
				temp = 38.0 + rng.Float64()
			}
			if _, err := fmt.Fprintf(port, "T=%.1f A=21.5\r\n", temp); err != nil {
				return // the machine is gone
			}
			n++
		}
	}()
	return func() int {
		cancel()
		wg.Wait()
		port.Close()
		return n
	}
}

// vmStoredIDs reads the store off the disk image as the next boot would
// see it.
func vmStoredIDs(t *testing.T, disk string) map[string]bool {
	t.Helper()
	data, err := vmtest.ReadFile(t, disk, "/gatescreen/events.db")
	if os.IsNotExist(err) {
		return map[string]bool{}
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "events.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return storeIDs(t, path)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
