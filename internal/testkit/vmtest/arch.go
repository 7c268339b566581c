package vmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ForeignRoot is where scripts/deps.sh unpacks the Debian kernel and
// busybox-static of each foreign architecture (apt-get download, dpkg-deb
// -x, depmod), one directory per Debian architecture.
const ForeignRoot = "/var/cache/gatescreen-deps"

// Arch is a machine's architecture: its emulator and board, where its
// kernel and busybox come from, and the guest's device names.
type Arch struct {
	// Debian is the Debian architecture (amd64, arm64); GOARCH is Go's.
	Debian, GOARCH string
	// Gate is the guest's gate UART: /dev/ttyS1 (a 16550A, the 8250
	// driver) on a PC, /dev/ttyAMA0 (a PL011, as on a Raspberry Pi) on ARM.
	Gate string
	qemu string
	// root holds boot/vmlinuz-*, lib/modules/* and bin/busybox: "/" for
	// the host's own architecture, ForeignRoot/<arch> for another.
	root    string
	board   []string // machine and CPU
	console string   // the guest's console device
	// consoleArgs gives QEMU's arguments for a console written to path,
	// gateArgs those of the gate UART (a pty, announced as gateLabel).
	consoleArgs func(path string) []string
	gateArgs    []string
	gateLabel   string
	modules     []string // what the guest loads beyond the kernel's built-ins
	kvm         bool     // whether KVM may be tried (the host's own architecture)
}

// The architectures: a PC, and a 64-bit ARM board (QEMU's virt) whose
// kernel also runs 32-bit ARM programs, as a Raspberry Pi's does.
var (
	AMD64 = &Arch{
		Debian: "amd64", GOARCH: "amd64", Gate: "/dev/ttyS1",
		qemu: "qemu-system-x86_64", root: "/", board: []string{"-M", "pc"}, console: "ttyS0",
		consoleArgs: func(path string) []string { return []string{"-serial", "file:" + path} },
		gateArgs:    []string{"-serial", "pty"}, gateLabel: "serial1",
		// crc32c: ext4 loads it by name.
		modules: []string{"virtio_pci", "virtio_blk", "virtio_net", "crc32c_generic", "ext4"},
		kvm:     true,
	}
	ARM64 = &Arch{
		Debian: "arm64", GOARCH: "arm64", Gate: "/dev/ttyAMA0",
		qemu: "qemu-system-aarch64", root: filepath.Join(ForeignRoot, "arm64"),
		board: []string{"-M", "virt", "-cpu", "cortex-a72"}, console: "hvc0",
		// virt has one PL011, which is the gate's; the console is virtio.
		consoleArgs: func(path string) []string {
			return []string{"-device", "virtio-serial-pci", "-chardev", "file,id=con,path=" + path,
				"-device", "virtconsole,chardev=con"}
		},
		gateArgs: []string{"-serial", "pty"}, gateLabel: "serial0",
		modules: []string{"virtio_pci", "virtio_console", "virtio_blk", "virtio_net", "crc32c_generic", "ext4"},
	}
)

func (a *Arch) busybox() string { return filepath.Join(a.root, "bin/busybox") }

// kernel returns the newest Debian kernel of the architecture and its
// modules directory (with modules.dep).
func (a *Arch) kernel() (vmlinuz, modules string, err error) {
	found, _ := filepath.Glob(filepath.Join(a.root, "boot", "vmlinuz-*-"+a.Debian))
	sort.Strings(found)
	for i := len(found) - 1; i >= 0; i-- {
		version := strings.TrimPrefix(filepath.Base(found[i]), "vmlinuz-")
		dir := filepath.Join(a.root, "lib/modules", version)
		if _, err := os.Stat(filepath.Join(dir, "modules.dep")); err == nil {
			return found[i], dir, nil
		}
	}
	return "", "", fmt.Errorf("no Debian %s kernel with its modules in %s and %s", a.Debian, filepath.Join(a.root, "boot"), filepath.Join(a.root, "lib/modules"))
}

// installHint says how to get what the architecture needs.
func (a *Arch) installHint() string {
	if a.root == "/" {
		return "apt-get install -y linux-image-" + a.Debian + " busybox-static"
	}
	return "scripts/deps.sh unpacks linux-image-" + a.Debian + " and busybox-static:" + a.Debian + " into " + a.root
}
