package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
)

// A backup taken while events keep arriving is a sound store holding every
// event durable before it began, numbered without a hole.
func TestBackupUnderLoad(t *testing.T) {
	path := tempPath(t)
	s := openStore(t, path, Opts{})
	ctx := context.Background()
	now := time.Now()
	for i := range 200 {
		if err := s.Append(reading(t, "lane-1", "pass", now.Add(time.Duration(i)*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	before := s.Durable()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the gate goes on while the copy is made
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Append(reading(t, "lane-1", "pass", now.Add(time.Second+time.Duration(i)*time.Millisecond))); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Backup(f, nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(backup); fi.Size() != n || n == 0 {
		t.Fatalf("Backup wrote %d bytes, the file has %d", n, fi.Size())
	}
	copyStore := openStore(t, backup, Opts{})
	seqs := allSeqs(t, copyStore)
	if uint64(len(seqs)) < before {
		t.Fatalf("the backup holds %d events, %d were durable before it", len(seqs), before)
	}
	for seq := uint64(1); seq <= uint64(len(seqs)); seq++ {
		if _, ok := seqs[seq]; !ok {
			t.Fatalf("the backup lacks seq %d of 1..%d", seq, len(seqs))
		}
	}
}

// Restoring an older backup puts its events back, keeps the replaced file
// aside, and never hands out an id the replaced store had used: events
// 101..150 of the replaced store may be at the district already.
func TestRestoreKeepsIDsUnique(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	backup := filepath.Join(dir, "backup.db")
	s, err := Open(path, Opts{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	for i := range 150 {
		if i == 100 {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := s.Backup(&buf, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(backup, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Append(reading(t, "lane-1", "pass", now.Add(time.Duration(i)*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Restore while the store is open: refused.
	if _, err := Restore(path, backup, Opts{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("restore under a running store: %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	aside, err := Restore(path, backup, Opts{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aside, path+".before-restore-") {
		t.Fatalf("the replaced store was kept as %q", aside)
	}
	kept := openStore(t, aside, Opts{})
	if n := len(allSeqs(t, kept)); n != 150 {
		t.Fatalf("the file kept aside holds %d events, want 150", n)
	}
	if leftovers, _ := filepath.Glob(path + ".restoring*"); len(leftovers) != 0 {
		t.Fatalf("restore left %v", leftovers)
	}

	r := openStore(t, path, Opts{})
	seqs := allSeqs(t, r)
	var restoredHealth event.Event
	for seq, ev := range seqs {
		if seq > 100 && ev.Kind == event.KindHealth {
			restoredHealth = ev
		} else if seq > 100 {
			t.Errorf("seq %d (%v) in the restored store: the backup held 1..100", seq, ev.Kind)
		}
	}
	if restoredHealth.Seq <= 150 {
		t.Fatalf("the restore's health event has seq %d: ids 101..150 were handed out before", restoredHealth.Seq)
	}
	if h := decodeBody[event.Health](t, restoredHealth); !strings.Contains(h.Reason, "restored from backup backup.db") {
		t.Errorf("the restore's health event says %q", h.Reason)
	}
	next, err := r.AppendWait(ctx, reading(t, "lane-1", "pass", now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if next != restoredHealth.Seq+1 {
		t.Errorf("the next event has seq %d, want %d", next, restoredHealth.Seq+1)
	}
}

// A damaged backup is refused and nothing changes: the store in place stays
// byte for byte, and nothing is left behind.
func TestRestoreRefusesADamagedBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	s, err := Open(path, Opts{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.Append(reading(t, "lane-1", "pass", time.Now().Add(time.Duration(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.Backup(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(backup, buf.Bytes()[:buf.Len()/2], 0o600); err != nil { // cut short
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(path, backup, Opts{Logger: zerolog.Nop()}); !errors.Is(err, ErrBadBackup) {
		t.Fatalf("restore of a half backup: %v, want ErrBadBackup", err)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("a refused restore changed the store (%v)", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "restoring") || strings.Contains(e.Name(), "before-restore") {
			t.Errorf("a refused restore left %s", e.Name())
		}
	}
}

// A replacement box (a fresh card, no sequence reservation) restoring the
// old box's backup: the old box handed out ids after the backup, so the
// restored store jumps well clear of them instead of reusing them.
func TestRestoreOnAFreshCardJumpsTheSequence(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old", "events.db")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(old, Opts{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := s.Append(reading(t, "lane-1", "pass", time.Now().Add(time.Duration(i)))); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(backup, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "new", "events.db")
	if err := os.MkdirAll(filepath.Dir(fresh), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(fresh, backup, Opts{Logger: zerolog.Nop()}); err != nil {
		t.Fatal(err)
	}
	r := openStore(t, fresh, Opts{})
	next, err := r.AppendWait(context.Background(), reading(t, "lane-1", "pass", time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if next <= 20+restoreJump {
		t.Fatalf("the next event on the fresh card has seq %d: the old box may have used every id up to %d", next, 20+restoreJump)
	}
}
