package storage

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openRSSChildEnv names the file a child of the test binary opens, to
// print its own peak RSS before and after (see TestOpenDoesNotKeepTheOutboxMapped).
const openRSSChildEnv = "GATESCREEN_STORAGE_OPEN_RSS_CHILD"

// checkRSSChildEnv names the file a child of the test binary checks, to
// print its own peak RSS before and after (see checkerPeakGrowth).
const checkRSSChildEnv = "GATESCREEN_STORAGE_CHECK_RSS_CHILD"

func init() {
	if path := os.Getenv(openRSSChildEnv); path != "" {
		openRSSChild(path)
	}
	if path := os.Getenv(checkRSSChildEnv); path != "" {
		before := selfStatusKiB("VmHWM")
		code := runChecker(path, time.Second)
		fmt.Println(before, selfStatusKiB("VmHWM"), code)
		os.Exit(0)
	}
}

// openRSSChild opens path, prints "<VmHWM before> <VmHWM after> <bulk
// outbox length>" (KiB) and exits.
func openRSSChild(path string) {
	before := selfStatusKiB("VmHWM")
	s, err := Open(path, Opts{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	after := selfStatusKiB("VmHWM")
	_, bulk := s.OutboxLen()
	if err := s.Close(); err != nil {
		fmt.Println("close:", err)
		os.Exit(1)
	}
	fmt.Println(before, after, bulk)
	os.Exit(0)
}

// selfStatusKiB is a field of /proc/self/status, in KiB; -1 when missing.
func selfStatusKiB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb
			}
		}
	}
	return -1
}

// The daemon's open counts the outbox (every page of it) to restore
// OutboxLen. On a full store the outbox is tens of MiB of pages, and they
// all stayed mapped, in the daemon's RSS, until the count ended; with the
// check child reading through pread, that became the box's peak. The
// count releases them as it goes.
func TestOpenDoesNotKeepTheOutboxMapped(t *testing.T) {
	path := tempPath(t)
	if err := openStore(t, path, Opts{}).Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1_000_000 // un-uploaded readings, as after days offline
	for batch := range n / 50_000 {
		if err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketBulk)
			for i := range 50_000 {
				if err := b.Put(binary.BigEndian.AppendUint64(nil, uint64(batch*50_000+i+1)), nil); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var outboxKiB int64
	if err := db.View(func(tx *bolt.Tx) error {
		st := tx.Bucket(bucketBulk).Stats()
		outboxKiB = int64(st.BranchAlloc+st.LeafAlloc) >> 10
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if outboxKiB < 16<<10 {
		t.Fatalf("the outbox takes only %d KiB; the test no longer measures anything", outboxKiB)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), openRSSChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the opening child: %v\n%s", err, out)
	}
	var before, after int64
	var bulk int
	if _, err := fmt.Sscan(string(out), &before, &after, &bulk); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	if bulk != n {
		t.Fatalf("OutboxLen bulk = %d after the open, want %d", bulk, n)
	}
	const bound = 8 << 10 // KiB
	t.Logf("opening a store with %d KiB of outbox pages: peak RSS %d → %d KiB", outboxKiB, before, after)
	if grew := after - before; grew > bound {
		t.Fatalf("opening a store with %d KiB of outbox pages raised the peak RSS by %d KiB; want at most %d KiB", outboxKiB, grew, bound)
	}
}

// checkerPeakGrowth runs the checker on path in a child of the test binary
// (as in the daemon's child: runChecker) and returns how much it raised the
// child's peak RSS, in KiB, from /proc/self/status: the child's rusage
// would start from this process's RSS at the fork.
func checkerPeakGrowth(t *testing.T, path string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), checkRSSChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("checker: %v\n%s", err, out)
	}
	var before, after int64
	var code int
	if _, err := fmt.Sscan(string(out), &before, &after, &code); err != nil || code != checkOK {
		t.Fatalf("checker child printed %q (%v), want a clean check", out, err)
	}
	return after - before
}

// The check child walks the whole file, and every page it mapped counted in
// its RSS: 215 MiB for a 213 MiB store, beside the daemon on a 512 MiB box
// (issue #17). Released on a timer, they still reached 119 MiB and more on
// a busy machine. It reads the file with pread instead: its RSS does not
// grow with the file (a bitmap of 2 bits a page, a buffer per tree level).
func TestCheckerDoesNotKeepTheFileMapped(t *testing.T) {
	const checkerGrowth = 4 << 10 // KiB
	small, big := tempPath(t), tempPath(t)
	for _, p := range []string{small, big} {
		if err := openStore(t, p, Opts{}).Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := bolt.Open(big, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	value := make([]byte, 200)
	for batch := range 64 { // 64 × 5,000 records of 200 bytes: about 80 MiB of pages
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("filler"))
			if err != nil {
				return err
			}
			for i := range 5000 {
				if err := b.Put(binary.BigEndian.AppendUint64(nil, uint64(batch*5000+i)), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(big)
	if err != nil {
		t.Fatal(err)
	}
	base, grew := checkerPeakGrowth(t, small), checkerPeakGrowth(t, big)
	t.Logf("the check raised the peak RSS by %d KiB on an empty store, %d KiB on a %d KiB one", base, grew, fi.Size()>>10)
	if file := fi.Size() >> 10; grew > checkerGrowth {
		t.Fatalf("the check of a %d KiB file took %d KiB more RSS than that of an empty one; want at most %d KiB", file, grew, checkerGrowth)
	}
}
