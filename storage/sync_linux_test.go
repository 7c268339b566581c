package storage

import (
	"context"
	"encoding/binary"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/ci"
)

// kpfDirty is the dirty bit of /proc/kpageflags (Documentation/admin-guide/
// mm/pagemap.rst): the page cache holds data not yet written to the disk.
const kpfDirty = 1 << 4

// pageSink keeps the reads that fault pages in from being optimised away.
var pageSink byte

// dirtyPages maps path and counts its page-cache pages that are dirty,
// through /proc/self/pagemap (the page frame of each mapped page) and
// /proc/kpageflags (its flags). Both need root (CAP_SYS_ADMIN).
func dirtyPages(t *testing.T, path string) (dirty, pages int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(data)
	pagemap, err := os.Open("/proc/self/pagemap")
	if err != nil {
		ci.Missing(t, "no /proc/self/pagemap: %v", err)
	}
	defer pagemap.Close()
	kflags, err := os.Open("/proc/kpageflags")
	if err != nil {
		ci.Missing(t, "cannot read /proc/kpageflags (needs root): %v", err)
	}
	defer kflags.Close()
	ps := os.Getpagesize()
	base := uintptr(unsafe.Pointer(&data[0]))
	var e [8]byte
	for off := 0; off < len(data); off += ps {
		pageSink ^= data[off] // fault the page in
		if _, err := pagemap.ReadAt(e[:], int64((base+uintptr(off))/uintptr(ps))*8); err != nil {
			t.Fatal(err)
		}
		v := binary.LittleEndian.Uint64(e[:])
		if v>>63 == 0 { // not present
			continue
		}
		pfn := v & (1<<55 - 1)
		if pfn == 0 {
			ci.Missing(t, "pagemap hides page frames (needs CAP_SYS_ADMIN)")
		}
		if _, err := kflags.ReadAt(e[:], int64(pfn)*8); err != nil {
			t.Fatal(err)
		}
		pages++
		if binary.LittleEndian.Uint64(e[:])&kpfDirty != 0 {
			dirty++
		}
	}
	return dirty, pages
}

// A commit reported durable has reached the disk: right after AppendWait
// returns, no page of the file is dirty in the page cache. bbolt opened with
// NoSync leaves the commit's pages dirty until the kernel writes them back
// (seconds later): a power cut in between loses what was reported durable.
// The SIGKILL crash test cannot see that (the page cache survives a killed
// process), so without this test NoSync passed every test.
func TestCommitsReachTheDisk(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var pages int
	for i := range 20 {
		// A normal reading too, so the group commit path is covered.
		if err := s.Append(reading(t, "L1", event.VerdictPass, t0)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictFlag, t0)); err != nil {
			t.Fatal(err)
		}
		dirty, n := dirtyPages(t, path)
		if dirty > 0 {
			t.Fatalf("commit %d: %d of %d pages of the file still dirty after AppendWait returned", i, dirty, n)
		}
		pages = n
	}
	if pages == 0 {
		t.Fatal("no page of the file was examined")
	}
}
