package storage

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// syncedFreelist reads the current bbolt meta page of a closed file and
// tells whether it names a free-page list (bbolt's on-disk format: a 16-byte
// page header, then magic, version, page size, flags, the root bucket, the
// freelist page id, the high-water page id and the transaction id).
func syncedFreelist(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(b[24:]))
	meta := func(i int) (freelist, txid uint64) {
		p := b[i*pageSize:]
		return binary.LittleEndian.Uint64(p[48:]), binary.LittleEndian.Uint64(p[64:])
	}
	f0, tx0 := meta(0)
	f1, tx1 := meta(1)
	if tx1 > tx0 {
		f0 = f1
	}
	return f0 != ^uint64(0)
}

// The daemon's commits leave the free-page list out (NoFreelistSync), so its
// open would walk, and map, every page of the file. The integrity checker
// child writes the list after a good check, so the daemon's open reads one
// page instead. The checker writes it itself (bbolt's open would walk the
// mapped file); bbolt's own check must accept the list.
func TestCheckerWritesTheFreelist(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{})
	wall := time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC)
	for i := range 500 {
		if err := s.Append(reading(t, "lane-1", event.VerdictPass, wall.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if syncedFreelist(t, path) {
		t.Fatal("the daemon's commits wrote a freelist; the test no longer tests anything")
	}
	if code := runChecker(path, time.Second); code != checkOK {
		t.Fatalf("checker exit %d on a good file", code)
	}
	if !syncedFreelist(t, path) {
		t.Fatal("the checker left the file without a freelist")
	}
	// With a synced freelist tx.Check finds any page the list gets wrong
	// ("unreachable unfreed", "reachable freed").
	mustCheck(t, path)
	if code := runChecker(path, time.Second); code != checkOK {
		t.Fatalf("checker exit %d on the file with the freelist it wrote", code)
	}
	s2 := openStore(t, path, Opts{})
	if n := len(allSeqs(t, s2)); n != 500 {
		t.Fatalf("%d events after the checker wrote the freelist, want 500", n)
	}
}
