package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/ci"
)

// tmpfs mounts a tmpfs of size bytes in a new temporary directory and
// unmounts it when the test ends. It needs root (CAP_SYS_ADMIN): CI runs as
// root, so there a failed mount fails the test.
func tmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.FormatInt(size, 10)); err != nil {
		ci.Missing(t, "cannot mount a %d-byte tmpfs (needs root): %v", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// A filesystem that fills up long before max_size is a limit like
// max_size: the store purges the oldest un-uploaded readings with gap
// events, keeps every urgent event, and keeps room for the
// acknowledgements, so the outbox drains once the broker is back. Before,
// commits failed with ENOSPC (no gap: purging started near max_size only)
// and so did every ack commit afterwards.
func TestFullDiskBelowMaxSize(t *testing.T) {
	dir := tmpfs(t, 4<<20)
	var health healthLog
	path := filepath.Join(dir, "events.db")
	s := openStore(t, path, Opts{OnHealth: health.add, CommitEvents: 256}) // default MaxSize: 256 MiB
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The broker is down: nothing is acknowledged.
	readings, flags := 0, 0
	for round := range 160 {
		for i := range 250 {
			v := event.VerdictPass
			if i == 0 {
				v, flags = event.VerdictFlag, flags+1
			}
			for s.Append(reading(t, "L1", v, t0)) != nil {
				time.Sleep(time.Millisecond)
			}
			readings++
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatalf("round %d: Flush: %v", round, err)
		}
	}
	for _, h := range health.all() {
		if strings.HasPrefix(h.Reason, "write error") {
			t.Fatalf("a commit failed on the full disk: %+v", h)
		}
	}

	stored := allSeqs(t, s)
	storedReadings, storedFlags := 0, 0
	var gapped uint64
	var gaps int
	for _, ev := range stored {
		switch ev.Kind {
		case event.KindReading:
			storedReadings++
			if ev.Urgent {
				storedFlags++
			}
		case event.KindGap:
			g := decodeBody[event.Gap](t, ev)
			gapped += g.Count
			gaps++
			if g.Reason != "disk_full" && g.Reason != refusedFull {
				t.Errorf("gap %+v: reason, want disk_full", g)
			}
		}
	}
	t.Logf("%d readings written: %d stored, %d in %d gaps; file %d bytes", readings, storedReadings, gapped, gaps, s.Size())
	if gaps == 0 {
		t.Error("no gap although the disk filled up")
	}
	if storedFlags != flags {
		t.Errorf("%d of %d flagged readings stored; urgent events must survive a full disk", storedFlags, flags)
	}
	if uint64(storedReadings)+gapped != uint64(readings) {
		t.Errorf("readings written %d != stored %d + in gaps %d", readings, storedReadings, gapped)
	}

	// The broker is back: everything drains, acknowledgements commit. The
	// room the drain frees is itself news (a storage health event into the
	// priority queue), so the queues are drained until a pass finds both
	// empty, and nothing but health may turn up after the first pass.
	for pass := 1; ; pass++ {
		drained := 0
		for _, q := range []Queue{Priority, Bulk} {
			for {
				evs, err := s.Pending(q, 0, 200)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) == 0 {
					break
				}
				for _, ev := range evs {
					if pass > 1 && ev.Kind != event.KindHealth {
						t.Errorf("pass %d of the drain found %s event %d, want only health after the first pass", pass, ev.Kind, ev.Seq)
					}
				}
				drained += len(evs)
				if err := s.Ack(seqsOf(evs)...); err != nil {
					t.Fatal(err)
				}
				if err := s.Flush(ctx); err != nil {
					t.Fatalf("Flush of acknowledgements: %v", err)
				}
			}
		}
		if drained == 0 {
			break
		}
		if pass == 5 {
			t.Fatalf("the outbox still fills after %d passes of the drain", pass)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p, b := s.OutboxLen(); p != 0 || b != 0 {
		t.Errorf("OutboxLen after the drain = %d, %d; want 0, 0", p, b)
	}
	if sp, sb := outboxScan(t, s); sp != 0 || sb != 0 {
		t.Errorf("outbox after the drain holds %d, %d", sp, sb)
	}
	if _, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictFlag, t0)); err != nil {
		t.Errorf("AppendWait after the drain: %v", err)
	}
}

// fillDisk writes a file into dir until the filesystem is full, as another
// program might.
func fillDisk(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "other.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// Another program fills the disk while the store grows: not a byte is
// free, and the store's file has no free pages of its own yet. Its reserve
// file is its own space, so the purge that makes room (bbolt's copy-on-write
// needs new pages even to delete), the commits after it and the
// acknowledgements go through; with the headroom merely left free, the other
// program took it and every commit failed with ENOSPC.
func TestDiskFilledByAnotherProgram(t *testing.T) {
	dir := tmpfs(t, 4<<20)
	var health healthLog
	s := openStore(t, filepath.Join(dir, "events.db"), Opts{OnHealth: health.add})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	write := func(rounds int) {
		t.Helper()
		for range rounds {
			var batch []event.Event
			for range 250 {
				batch = append(batch, reading(t, "L1", event.VerdictPass, t0))
			}
			batch = append(batch, reading(t, "L1", event.VerdictFlag, t0))
			for _, ev := range batch {
				if err := s.Append(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatalf("Flush on the full disk: %v", err)
			}
		}
	}
	write(12) // about a third of the disk
	fillDisk(t, dir)
	write(20)
	if len(gapsIn(t, s)) == 0 {
		t.Error("no gap although the disk is full")
	}
	for _, q := range []Queue{Priority, Bulk} {
		for {
			evs, err := s.Pending(q, 0, 200)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			if err := s.Ack(seqsOf(evs)...); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatalf("Flush of acknowledgements on a full disk: %v", err)
			}
		}
	}
	if p, b := s.OutboxLen(); p != 0 || b != 0 {
		t.Errorf("OutboxLen after the drain = %d, %d; want 0, 0", p, b)
	}
	for _, h := range health.all() {
		if strings.HasPrefix(h.Reason, "write error") {
			t.Errorf("a commit failed: %+v", h)
		}
	}
}
