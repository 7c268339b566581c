package vmtest

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/testkit/ci"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

// generous bounds every wait on the machine: a boot under software
// emulation takes about 7 s on an idle 2-core host, a loaded one several
// times that. Never a speed target.
const generous = 3 * time.Minute

// File is one file of the machine's root filesystem (its initramfs).
type File struct {
	Data []byte
	Mode os.FileMode // 0 means 0644
}

// Opts describes a machine.
type Opts struct {
	// Files are put into the root filesystem by absolute path, besides
	// busybox, the kernel modules and the machine's own init.
	Files map[string]File
	// Run is the shell script the machine runs once its disk is mounted
	// on /data and its network is up (10.0.2.15; the host is 10.0.2.2).
	// When it ends the machine powers off.
	Run string
	// Disk is a raw disk image (NewDisk), the guest's /dev/vda.
	Disk string
	// MemoryMiB is the guest's memory; 0 means 256.
	MemoryMiB int
	// Arch is the machine's architecture; nil means AMD64.
	Arch *Arch
}

// Machine is a running virtual machine.
type Machine struct {
	t       testing.TB
	cmd     *exec.Cmd
	done    chan struct{}
	err     error // QEMU's exit, once done is closed
	console string
	// GatePath is the host's end of the guest's gate UART (Arch.Gate): a
	// pseudo-terminal.
	GatePath string
	// Started is when QEMU was started: the power came on.
	Started time.Time
}

// tools are the host programs a machine needs, with their Debian packages.
var tools = []struct{ name, pkg string }{
	{"mkfs.ext4", "e2fsprogs"},
	{"e2fsck", "e2fsprogs"},
	{"debugfs", "e2fsprogs"},
}

// emulators are the Debian packages of each QEMU.
var emulators = map[string]string{"qemu-system-x86_64": "qemu-system-x86", "qemu-system-aarch64": "qemu-system-arm"}

// Require ends the test (a failure under CI=true, a skip elsewhere) when
// the host cannot run a machine of arch (nil means AMD64): its QEMU,
// e2fsprogs, its busybox-static or its Debian kernel is missing.
func Require(t testing.TB, arch *Arch) {
	t.Helper()
	if arch == nil {
		arch = AMD64
	}
	if _, err := lookPath(arch.qemu); err != nil {
		ci.Missing(t, "%s not installed (apt-get install -y %s)", arch.qemu, emulators[arch.qemu])
	}
	for _, tool := range tools {
		if _, err := lookPath(tool.name); err != nil {
			ci.Missing(t, "%s not installed (apt-get install -y %s)", tool.name, tool.pkg)
		}
	}
	if err := isStatic(arch.busybox()); err != nil {
		ci.Missing(t, "%v (%s)", err, arch.installHint())
	}
	if _, _, err := arch.kernel(); err != nil {
		ci.Missing(t, "%v (%s)", err, arch.installHint())
	}
}

// lookPath finds a program also in the sbin directories a user's PATH may lack.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// isStatic reports why the program at path cannot run without libraries
// (Debian's busybox package is dynamic, busybox-static is not).
func isStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is linked dynamically", path)
		}
	}
	return nil
}

// NewDisk makes a raw disk image of size MiB with an empty ext4 filesystem,
// as the SD card's data partition.
func NewDisk(t testing.TB, sizeMiB int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(sizeMiB) << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mkfs, _ := lookPath("mkfs.ext4")
	if out, err := exec.Command(mkfs, "-q", "-F", path).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 %s: %v\n%s", path, err, out)
	}
	return path
}

// ReadFile returns a file of the disk's filesystem as the next boot would
// see it: e2fsck first replays the journal and repairs what a power cut
// left (as the box's boot does), then debugfs copies the file out. A file
// that does not exist yields os.ErrNotExist.
func ReadFile(t testing.TB, disk, path string) ([]byte, error) {
	t.Helper()
	fsck, _ := lookPath("e2fsck")
	out, err := exec.Command(fsck, "-f", "-y", disk).CombinedOutput()
	var exit *exec.ExitError
	// 1 and 2: errors corrected (a replayed journal is one).
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() <= 2) {
		t.Fatalf("e2fsck %s: %v\n%s", disk, err, out)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	debugfs, _ := lookPath("debugfs")
	out, err = exec.Command(debugfs, "-R", fmt.Sprintf("dump %s %s", path, dst), disk).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs dump %s from %s: %v\n%s", path, disk, err, out)
	}
	data, err := os.ReadFile(dst)
	if errors.Is(err, os.ErrNotExist) || bytes.Contains(out, []byte("File not found")) {
		return nil, os.ErrNotExist
	}
	return data, err
}

// Boot starts the machine and returns once QEMU has made the gate's UART.
// The machine is killed when the test ends.
func Boot(t testing.TB, o Opts) *Machine {
	t.Helper()
	arch := o.Arch
	if arch == nil {
		arch = AMD64
	}
	vmlinuz, modDir, err := arch.kernel()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := writeInitramfs(initrd, arch, modDir, o); err != nil {
		t.Fatal(err)
	}
	mem := o.MemoryMiB
	if mem == 0 {
		mem = 256
	}
	m := &Machine{t: t, done: make(chan struct{}), console: filepath.Join(dir, "console.log")}
	qemu, _ := lookPath(arch.qemu)
	args := append(accelerator(t, arch, vmlinuz, modDir), arch.board...)
	args = append(args, "-m", fmt.Sprint(mem), "-nodefaults", "-display", "none", "-no-reboot",
		"-kernel", vmlinuz, "-initrd", initrd,
		"-append", "console="+arch.console+" quiet panic=-1")
	args = append(append(args, arch.consoleArgs(m.console)...), arch.gateArgs...)
	args = append(args,
		// writeback: what QEMU has written survives its SIGKILL (it is in
		// the host's page cache); what the guest has not written is lost
		// with the guest's memory, as on a power cut.
		"-drive", "if=none,id=disk,format=raw,cache=writeback,file="+o.Disk, "-device", "virtio-blk-pci,drive=disk",
		"-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0",
	)
	gatePTY := regexp.MustCompile(`char device redirected to (/dev/pts/\d+) \(label ` + arch.gateLabel + `\)`)
	m.cmd = exec.Command(qemu, args...)
	var out syncbuf.Buffer
	m.cmd.Stdout, m.cmd.Stderr = &out, &out
	m.Started = time.Now()
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", qemu, err)
	}
	go func() { m.err = m.cmd.Wait(); close(m.done) }()
	t.Cleanup(m.Cut)
	deadline := time.Now().Add(generous)
	for {
		if s := gatePTY.FindStringSubmatch(out.String()); s != nil {
			m.GatePath = s[1]
			return m
		}
		select {
		case <-m.done:
			t.Fatalf("qemu exited before making the gate's UART: %v\n%s", m.err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("qemu made no gate UART in %v:\n%s", generous, out.String())
		}
	}
}

// Console returns what the guest printed on its console so far.
func (m *Machine) Console() string {
	data, _ := os.ReadFile(m.console)
	return string(data)
}

// WaitConsole waits until the console shows s, failing the test when the
// machine stops first or generous passes.
func (m *Machine) WaitConsole(s string) {
	m.t.Helper()
	deadline := time.Now().Add(generous)
	for !strings.Contains(m.Console(), s) {
		select {
		case <-m.done:
			m.t.Fatalf("the machine stopped (%v) before printing %q; console:\n%s", m.err, s, tail(m.Console(), 40))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("the machine printed no %q in %v; console:\n%s", s, generous, tail(m.Console(), 40))
		}
	}
}

// Cut cuts the machine's power: QEMU is SIGKILLed, and with it the
// guest's memory, page cache and disk queue.
func (m *Machine) Cut() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

// Wait waits for the machine to power itself off.
func (m *Machine) Wait(ctx context.Context) error {
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

var (
	accelOnce sync.Once
	accelArgs []string
)

// accelerator returns QEMU's accelerator arguments: KVM when the machine
// is of the host's architecture and a probe machine boots under it within
// 10 s, otherwise software emulation (TCG). Nested KVM can start and then
// hang, so /dev/kvm alone proves nothing.
func accelerator(t testing.TB, arch *Arch, vmlinuz, modDir string) []string {
	if !arch.kvm {
		return []string{"-accel", "tcg"}
	}
	accelOnce.Do(func() {
		accelArgs = []string{"-accel", "tcg"}
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
			return
		} else {
			f.Close()
		}
		dir := t.TempDir()
		initrd := filepath.Join(dir, "probe.cpio")
		if err := writeInitramfs(initrd, arch, modDir, Opts{}); err != nil {
			return
		}
		console := filepath.Join(dir, "console.log")
		qemu, _ := lookPath(arch.qemu)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		args := append([]string{"-accel", "kvm", "-cpu", "host", "-m", "128", "-nodefaults",
			"-display", "none", "-no-reboot", "-kernel", vmlinuz, "-initrd", initrd,
			"-append", "console=" + arch.console + " quiet panic=-1 vmtest.probe"}, arch.consoleArgs(console)...)
		_ = exec.CommandContext(ctx, qemu, args...).Run()
		if data, _ := os.ReadFile(console); bytes.Contains(data, []byte(probeDone)) {
			accelArgs = []string{"-accel", "kvm", "-cpu", "host"}
		}
	})
	t.Logf("vmtest: %s %s", arch.qemu, strings.Join(accelArgs, " "))
	return accelArgs
}
