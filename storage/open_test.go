package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
)

// populate writes n events into a new store at path and closes it.
func populate(t *testing.T, path string, n int) uint64 {
	t.Helper()
	s, err := Open(path, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		v := event.VerdictPass
		if i%10 == 0 {
			v = event.VerdictFlag
		}
		if err := s.Append(reading(t, "L1", v, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := s.Durable()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return last
}

func TestCorruptFileIsQuarantined(t *testing.T) {
	page := int64(os.Getpagesize())
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated to half", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated inside the meta pages", func(t *testing.T, path string) {
			if err := os.Truncate(path, 100); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbled meta pages", func(t *testing.T, path string) {
			garble(t, path, 16, 2*page-16) // keep nothing of either meta page
		}},
		{"bad schema record in meta", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(metaSchema, []byte{1, 2, 3})
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbled data pages", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			garble(t, path, 2*page, fi.Size()-2*page)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			last := populate(t, path, 500)
			before := eventsIn(t, path)
			tt.damage(t, path)

			var health healthLog
			clock := &fakeClock{now: t0}
			s := openStore(t, path, Opts{OnHealth: health.add, Now: clock.Now})

			aside := path + ".corrupt-20261123T070000Z"
			if _, err := os.Stat(aside); err != nil {
				t.Fatalf("corrupt file not moved aside: %v", err)
			}
			hs := health.all()
			if len(hs) == 0 || hs[0].Component != "storage" || hs[0].Reason != "quarantined: "+aside {
				t.Errorf("OnHealth = %+v, want a storage quarantine report", hs)
			}
			var quarantine, salvage *event.Event
			salvaged := 0
			for seq, ev := range allSeqs(t, s) {
				if ev.Kind == event.KindHealth {
					switch h := decodeBody[event.Health](t, ev); {
					case h.Component == "storage" && h.Reason == "quarantined: "+aside:
						quarantine = &ev
					case h.Component == "storage" && strings.HasPrefix(h.Reason, "salvaged "):
						salvage = &ev
					}
					if seq > last {
						continue
					}
				}
				// Anything else was salvaged: it must be what was stored.
				if orig, ok := before[seq]; !ok || orig.Kind != ev.Kind || string(orig.Body) != string(ev.Body) {
					t.Errorf("seq %d in the fresh store is not the event stored under it before", seq)
				}
				salvaged++
			}
			if quarantine == nil || quarantine.Seq <= last {
				t.Errorf("stored quarantine report = %+v; want one above the old file's last seq %d", quarantine, last)
			}
			if salvage == nil {
				t.Error("no salvage report stored")
			}
			if tt.name == "bad schema record in meta" && salvaged != 500 {
				t.Errorf("salvaged %d events of a file whose pages are all readable, want 500", salvaged)
			}
			t.Logf("salvaged %d of 500", salvaged)
			p, b := s.OutboxLen()
			if sp, sb := outboxScan(t, s); p != sp || b != sb {
				t.Errorf("OutboxLen = %d, %d; scan %d, %d", p, b, sp, sb)
			}
		})
	}
}

// eventsIn reads every event of a closed store file.
func eventsIn(t *testing.T, path string) map[uint64]event.Event {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[uint64]event.Event{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			ev, err := decodeEvent(beUint64(k), v)
			out[ev.Seq] = ev
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func garble(t *testing.T, path string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	if _, err := f.WriteAt(junk, off); err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := tempPath(t)
	populate(t, path, 3)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, binary.BigEndian.AppendUint32(nil, SchemaVersion+1))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	_, err = Open(path, Opts{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open = %v, want ErrNewerSchema", err)
	}
	for _, want := range []string{path, "version " + strconv.Itoa(SchemaVersion+1), "up to " + strconv.Itoa(SchemaVersion)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	matches, _ := filepath.Glob(path + ".corrupt-*")
	if len(matches) != 0 {
		t.Errorf("a newer file was quarantined: %v", matches)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("newer file was touched: %v", err)
	}
}

func TestCompactionShrinksFile(t *testing.T) {
	clock := &fakeClock{now: t0}
	path := tempPath(t)
	s := openStore(t, path, Opts{MaxSize: 8 << 20, Now: clock.Now, Retention: time.Hour, MaintenanceInterval: 10 * time.Millisecond})
	var seqs []uint64
	for i := range 6000 {
		ev := reading(t, "L1", event.VerdictPass, t0)
		if i%1000 == 0 {
			ev.Urgent = true // a few flags that are never acked
		}
		for s.Append(ev) != nil {
			time.Sleep(time.Millisecond)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Pending(Bulk, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		seqs = append(seqs, ev.Seq)
	}
	if err := s.Ack(seqs...); err != nil {
		t.Fatal(err)
	}
	before := s.Size()
	if before < 2<<20 {
		t.Fatalf("file is only %d bytes; the test needs more than MaxSize/4", before)
	}
	clock.Add(2 * time.Hour)
	waitFor(t, "retention purge and compaction", func() bool { return s.Size() < before/2 })
	got := allSeqs(t, s)
	if len(got) != 6 {
		t.Errorf("after retention %d events remain, want the 6 un-acked flags", len(got))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seq, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictFlag, t0))
	if err != nil || seq != 6001 {
		t.Errorf("AppendWait after compaction = %d, %v; want 6001", seq, err)
	}
}

func TestOlderSchemaIsUpgraded(t *testing.T) {
	path := tempPath(t)
	populate(t, path, 3)
	setSchema := func(v uint32) {
		t.Helper()
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaSchema, binary.BigEndian.AppendUint32(nil, v))
		}); err != nil {
			t.Fatal(err)
		}
	}
	setSchema(SchemaVersion - 1)
	var ran bool
	upgrades[SchemaVersion-1] = func(tx *bolt.Tx) error {
		ran = tx.Bucket(bucketEvents) != nil
		return nil
	}
	t.Cleanup(func() { delete(upgrades, SchemaVersion-1) })

	s := openStore(t, path, Opts{})
	if !ran {
		t.Error("the upgrade hook did not run")
	}
	err := s.view(func(tx *bolt.Tx) error {
		if v := binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(metaSchema)); v != SchemaVersion {
			t.Errorf("schema after upgrade = %d, want %d", v, SchemaVersion)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(allSeqs(t, s)); n != 3 {
		t.Errorf("%d events after upgrade, want 3", n)
	}

	// Without a hook the file is refused, not silently relabelled.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setSchema(SchemaVersion - 1)
	delete(upgrades, SchemaVersion-1)
	if _, err := Open(path, Opts{}); err == nil || !strings.Contains(err.Error(), "no upgrade") {
		t.Errorf("Open without an upgrade hook = %v", err)
	}
}

func TestUnreadableReservationDoesNotStopTheStore(t *testing.T) {
	path := tempPath(t)
	last := populate(t, path, 5)
	if err := os.WriteFile(path+".seq", []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	var health healthLog
	s := openStore(t, path, Opts{OnHealth: health.add})
	if hs := health.all(); len(hs) != 1 || hs[0].State != event.HealthWarning {
		t.Errorf("OnHealth = %+v, want one warning", hs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if seq, err := s.AppendWait(ctx, reading(t, "L1", event.VerdictFlag, t0)); err != nil || seq != last+1 {
		t.Errorf("AppendWait = %d, %v; want %d", seq, err, last+1)
	}
	b, err := os.ReadFile(path + ".seq")
	if err != nil || strings.TrimSpace(string(b)) == "garbage" {
		t.Errorf("reservation not rewritten: %q, %v", b, err)
	}
}

func TestSecondQuarantineKeepsTheFirst(t *testing.T) {
	path := tempPath(t)
	clock := &fakeClock{now: t0}
	for range 2 {
		populate(t, path, 5)
		garble(t, path, 16, 2*int64(os.Getpagesize())-16)
		s, err := Open(path, Opts{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	matches, _ := filepath.Glob(path + ".corrupt-*")
	if len(matches) != 2 {
		t.Errorf("quarantined files = %v, want 2", matches)
	}
}

func TestLockedErrorNamesTheFile(t *testing.T) {
	path := tempPath(t)
	openStore(t, path, Opts{})
	_, err := Open(path, Opts{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "another gatescreen") {
		t.Errorf("second Open = %v, want ErrLocked naming the file", err)
	}
}

// uncheckedChildEnv names the file a child of the test binary opens with an
// integrity check that cannot finish (see TestUncheckedFileIsSetAside).
const uncheckedChildEnv = "GATESCREEN_STORAGE_UNCHECKED_CHILD"

// uncheckedChild opens path with a CheckTimeout that has passed before the
// checker could start, prints the events the store then holds and exits.
func uncheckedChild(path string) {
	s, err := Open(path, Opts{CheckTimeout: time.Nanosecond})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	n := 0
	err = s.Scan(time.Unix(0, -1<<62), time.Unix(0, 1<<62), func(event.Event) error { n++; return nil })
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Println("scan:", err)
		os.Exit(1)
	}
	fmt.Println("events", n)
	os.Exit(0)
}

// A check that does not finish (timed out, or the checker cannot start)
// ends like a failed one: the file is set aside and a fresh one starts. The
// daemon's own process never opens a file no check has passed; a corrupt one
// made bbolt panic in a goroutine of its own, which killed the daemon at
// every start. The open runs in a child so such a crash fails the test
// instead of killing it.
func TestUncheckedFileIsSetAside(t *testing.T) {
	path := tempPath(t)
	populate(t, path, 500)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	page := int64(os.Getpagesize())
	garble(t, path, 2*page, fi.Size()-2*page)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), uncheckedChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child opening a file whose check did not finish: %v\n%s", err, firstLines(string(out), 8))
	}
	// The salvage child is bounded by the same timeout: nothing salvaged.
	if !strings.Contains(string(out), "events 2") {
		t.Errorf("child output %q, want a fresh store holding the quarantine and salvage reports", out)
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Errorf("files set aside: %v, want 1", aside)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
