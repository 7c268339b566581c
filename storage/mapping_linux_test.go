package storage

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
)

// mappedKiB is the resident size of this process's mappings of path, from
// /proc/self/smaps.
func mappedKiB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, inside := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			inside = strings.HasSuffix(line, path)
			continue
		}
		if rss, ok := strings.CutPrefix(line, "Rss:"); ok && inside {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rss), " kB"))
			if err != nil {
				t.Fatalf("smaps: %q: %v", line, err)
			}
			total += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// A day's tally, an export or a backlog drain reads every record once; the
// pages they mapped must not stay in the daemon's RSS (25 MiB for 100,000
// events did).
func TestReadsReleaseMappedPages(t *testing.T) {
	path, err := filepath.EvalSymlinks(filepath.Dir(tempPath(t)))
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(path, "events.db") // as /proc/self/smaps names it
	s := openStore(t, path, Opts{QueueLen: 8192})
	wall := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	const n = 40_000 // ten times releaseEvery: at most one release's worth stays mapped
	for i := range n {
		ev := reading(t, "lane-1", event.VerdictPass, wall.Add(time.Duration(i)*time.Millisecond))
		for {
			err := s.Append(ev)
			if err == nil {
				break
			}
			if err != ErrBusy {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Control: reading every page without the store's reads maps them all.
	if err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(_, v []byte) error { return nil })
	}); err != nil {
		t.Fatal(err)
	}
	full := mappedKiB(t, path)
	if full < 2048 {
		t.Fatalf("only %d KiB mapped after reading %d events; the test no longer measures anything", full, n)
	}
	s.view(func(tx *bolt.Tx) error { releaseMapped(tx); return nil })

	scanned := 0
	if err := s.Scan(wall, wall.Add(time.Hour), func(event.Event) error { scanned++; return nil }); err != nil {
		t.Fatal(err)
	}
	if scanned != n {
		t.Fatalf("scan found %d events, want %d", scanned, n)
	}
	afterScan := mappedKiB(t, path)

	pending, after := 0, uint64(0)
	for {
		evs, err := s.Pending(Bulk, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		pending += len(evs)
		after = evs[len(evs)-1].Seq
	}
	if pending != n {
		t.Fatalf("Pending returned %d events, want %d", pending, n)
	}
	afterDrain := mappedKiB(t, path)
	t.Logf("mapped: %d KiB after a full read, %d KiB after Scan, %d KiB after draining Pending", full, afterScan, afterDrain)
	if afterScan > full/3 || afterDrain > full/3 {
		t.Fatalf("mapped %d KiB after Scan and %d KiB after Pending, of %d KiB read: pages stay mapped", afterScan, afterDrain, full)
	}
}
