package vmtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Console lines of the machine's init, for WaitConsole.
const (
	// Up: the disk is mounted and the network configured; Run starts.
	Up        = "vmtest: up"
	probeDone = "vmtest: probe done"
)

// initScript mounts what a Linux box has, loads the modules, mounts the
// data disk (ext4 replays its journal here, as the box's boot does),
// configures QEMU's user network and runs the test's script.
const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp /data
mount -t proc proc /proc
if grep -q vmtest.probe /proc/cmdline; then echo "` + probeDone + `"; poweroff -f; fi
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
for m in $(cat /etc/vmtest/modules); do insmod "/lib/modules/$m" || echo "vmtest: insmod $m failed"; done
# A console that is a module (virtio's hvc0) was not there when the kernel
# gave init its standard streams.
console=/dev/$(cat /etc/vmtest/console)
i=0; while [ ! -c "$console" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
exec >"$console" 2>&1 <"$console"
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
mount -t ext4 /dev/vda /data || { echo "vmtest: mounting /dev/vda failed"; poweroff -f; }
ifconfig lo 127.0.0.1 up
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up && route add default gw 10.0.2.2
echo "` + Up + `"
sh /etc/vmtest/run
echo "vmtest: run exited $?"
sync
umount /data
poweroff -f
`

// writeInitramfs writes the machine's root filesystem as an uncompressed
// newc cpio archive, which the kernel unpacks into its rootfs.
func writeInitramfs(dst string, arch *Arch, modDir string, o Opts) error {
	files := map[string]File{}
	bb, err := os.ReadFile(arch.busybox())
	if err != nil {
		return fmt.Errorf("reading %s: %w", arch.busybox(), err)
	}
	files["/bin/busybox"] = File{Data: bb, Mode: 0o755}
	files["/init"] = File{Data: []byte(initScript), Mode: 0o755}
	files["/etc/vmtest/run"] = File{Data: []byte(o.Run), Mode: 0o755}
	files["/etc/vmtest/console"] = File{Data: []byte(arch.console + "\n")}
	mods, err := moduleOrder(modDir, arch.modules)
	if err != nil {
		return err
	}
	var names []string
	for _, rel := range mods {
		data, err := os.ReadFile(filepath.Join(modDir, rel))
		if err != nil {
			return fmt.Errorf("reading module %s: %w", rel, err)
		}
		files["/lib/modules/"+path.Base(rel)] = File{Data: data}
		names = append(names, path.Base(rel))
	}
	files["/etc/vmtest/modules"] = File{Data: []byte(strings.Join(names, "\n") + "\n")}
	for p, f := range o.Files {
		files[p] = f
	}

	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	if err := writeCpio(w, files); err != nil {
		out.Close()
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// moduleOrder returns the modules wanted and everything they depend on
// (from the kernel's modules.dep), each after its dependencies, as paths
// relative to modDir: the order insmod needs.
func moduleOrder(modDir string, wanted []string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(modDir, "modules.dep"))
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{} // module name → its dependencies' paths
	byName := map[string]string{} // module name → its path
	for line := range strings.Lines(string(data)) {
		mod, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		name := moduleName(mod)
		byName[name] = mod
		deps[name] = strings.Fields(rest)
	}
	var order []string
	var visit func(name string) error
	visit = func(name string) error {
		p, ok := byName[name]
		if !ok {
			return fmt.Errorf("module %s is not in %s/modules.dep (built into this kernel?)", name, modDir)
		}
		if slices.Contains(order, p) {
			return nil
		}
		for _, d := range deps[name] {
			if err := visit(moduleName(d)); err != nil {
				return err
			}
		}
		order = append(order, p)
		return nil
	}
	for _, name := range wanted {
		if err := visit(name); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleName is the name of a module file: kernel/fs/ext4/ext4.ko → ext4.
func moduleName(p string) string {
	base := path.Base(p)
	base = base[:strings.Index(base+".ko", ".ko")]
	return strings.ReplaceAll(base, "-", "_")
}

// writeCpio writes files, and the directories they need, in the newc
// format ("070701" headers, 4-byte alignment, a TRAILER!!! entry).
func writeCpio(w io.Writer, files map[string]File) error {
	dirs := map[string]bool{}
	for p := range files {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var sortedDirs []string
	for d := range dirs {
		sortedDirs = append(sortedDirs, d)
	}
	sort.Strings(sortedDirs) // a parent sorts before its children
	ino := 1
	entry := func(name string, mode uint32, data []byte) error {
		name = strings.TrimPrefix(name, "/")
		hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		if _, err := io.WriteString(w, hdr+name+"\x00"); err != nil {
			return err
		}
		if err := pad(w, len(hdr)+len(name)+1); err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		return pad(w, len(data))
	}
	for _, d := range sortedDirs {
		if err := entry(d, 0o040755, nil); err != nil {
			return err
		}
	}
	var names []string
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		mode := files[p].Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := entry(p, 0o100000|uint32(mode.Perm()), files[p].Data); err != nil {
			return err
		}
	}
	return entry("TRAILER!!!", 0, nil)
}

func pad(w io.Writer, n int) error {
	if r := n % 4; r != 0 {
		_, err := w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}
