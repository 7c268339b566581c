//go:build bench

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// stalledIOPS is the write operations per second the stalled disk allows:
// a bbolt commit is about four (its pages, a flush, the meta page, a
// flush), so each waits about half a second, as on an SD card that is busy
// erasing.
const stalledIOPS = 8

// stalledDisk is an ext4 filesystem on a loop device whose writes are
// throttled (cgroup v1 blkio, write_iops_device) for the processes moved
// into its cgroup: a real I/O stall under the store, not a sleep in the
// daemon. It needs root, losetup, mkfs.ext4 and /sys/fs/cgroup/blkio;
// without them the test fails and says which is missing.
type stalledDisk struct {
	dir    string // mount point; the store goes here
	cgroup string
}

func newStalledDisk(t *testing.T) *stalledDisk {
	t.Helper()
	const blkio = "/sys/fs/cgroup/blkio"
	for _, prog := range []string{"losetup", "mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("stalled disk: %s not found: %v", prog, err)
		}
	}
	if _, err := os.Stat(filepath.Join(blkio, "blkio.throttle.write_iops_device")); err != nil {
		t.Fatalf("stalled disk: no cgroup v1 blkio throttling: %v", err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("stalled disk: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	base := t.TempDir()
	img := filepath.Join(base, "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 512<<20); err != nil {
		t.Fatal(err)
	}
	dev := run("losetup", "--find", "--show", img)
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	run("mkfs.ext4", "-q", "-F", dev)
	d := &stalledDisk{dir: filepath.Join(base, "mnt"), cgroup: filepath.Join(blkio, fmt.Sprintf("gatescreen-bench-%d", os.Getpid()))}
	if err := os.Mkdir(d.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	run("mount", dev, d.dir)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", d.dir).Run() })
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d.cgroup, 0o755); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(d.cgroup) })
	limit := fmt.Sprintf("%d:%d %d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)), stalledIOPS)
	if err := os.WriteFile(filepath.Join(d.cgroup, "blkio.throttle.write_iops_device"), []byte(limit), 0); err != nil {
		t.Fatalf("stalled disk: throttle %s: %v", limit, err)
	}
	return d
}

// add moves pid (and the children it starts later) into the throttled
// cgroup.
func (d *stalledDisk) add(t *testing.T, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.cgroup, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatalf("stalled disk: move %d into %s: %v", pid, d.cgroup, err)
	}
}
