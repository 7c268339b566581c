package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Review tests of the pread checker and of the free-page list it writes
// (filecheck.go), against bbolt 1.5 itself: bbolt must open what the
// checker wrote, at every point a power cut can stop the write, and the
// checker must reject every file bbolt's tx.Check rejects.

// bboltCheckChildEnv names a file for this test binary, re-executed, to run
// bbolt's tx.Check on: bbolt faults on some damage, where no recover
// reaches, so its verdict is the child's exit code.
const bboltCheckChildEnv = "GATESCREEN_TEST_BBOLT_CHECK"

func bboltCheckChild(path string) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	err = db.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		return first
	})
	if err != nil {
		fmt.Println("check:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// bboltRejects runs bbolt's tx.Check on path in a child and returns why it
// rejects the file ("" when it accepts it).
func bboltRejects(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), bboltCheckChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &exit):
		return fmt.Sprintf("exit %d: %s", exit.ExitCode(), firstLine(string(out)))
	}
	t.Fatal(err)
	return ""
}

// daemonOpts are the bbolt options of the daemon's open (openBolt).
func daemonOpts() *bolt.Options {
	return &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}
}

// reviewFile writes a bbolt file with o: nested buckets, an inline bucket,
// values over a page (overflow pages), several leaf and branch pages, and
// deletions that leave free pages.
func reviewFile(t *testing.T, o *bolt.Options) string {
	t.Helper()
	path := tempPath(t)
	db, err := bolt.Open(path, 0o600, o)
	if err != nil {
		t.Fatal(err)
	}
	update := func(fn func(tx *bolt.Tx) error) {
		t.Helper()
		if err := db.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx *bolt.Tx) error {
		keys, err := tx.CreateBucket([]byte("keys"))
		if err != nil {
			return err
		}
		for i := range 3000 {
			if err := keys.Put(fmt.Appendf(nil, "k-%05d", i), bytes.Repeat([]byte{byte(i)}, 40)); err != nil {
				return err
			}
		}
		nested, err := keys.CreateBucket([]byte("nested"))
		if err != nil {
			return err
		}
		for i := range 500 {
			if err := nested.Put(fmt.Appendf(nil, "n-%04d", i), []byte("v")); err != nil {
				return err
			}
		}
		inline, err := tx.CreateBucket([]byte("inline"))
		if err != nil {
			return err
		}
		if err := inline.Put([]byte("one"), []byte("1")); err != nil {
			return err
		}
		big, err := tx.CreateBucket([]byte("big"))
		if err != nil {
			return err
		}
		for i := range 4 {
			if err := big.Put([]byte{byte(i)}, bytes.Repeat([]byte{'b'}, 10_000)); err != nil {
				return err
			}
		}
		return nil
	})
	update(func(tx *bolt.Tx) error {
		keys := tx.Bucket([]byte("keys"))
		for i := 500; i < 1500; i++ {
			if err := keys.Delete(fmt.Appendf(nil, "k-%05d", i)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("big")).Delete([]byte{1})
	})
	update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("keys")).Put([]byte("k-99999"), []byte("last"))
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// contents hashes every bucket, key and value of a closed file, opened
// with o.
func contents(t *testing.T, path string, o *bolt.Options) [32]byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, o)
	if err != nil {
		t.Fatalf("bbolt open %s: %v", path, err)
	}
	defer db.Close()
	h := sha256.New()
	var walk func(b *bolt.Bucket, depth int) error
	walk = func(b *bolt.Bucket, depth int) error {
		return b.ForEach(func(k, v []byte) error {
			fmt.Fprintf(h, "%d %q %q\n", depth, k, v)
			if v == nil {
				return walk(b.Bucket(k), depth+1)
			}
			return nil
		})
	}
	if err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			fmt.Fprintf(h, "bucket %q\n", name)
			return walk(b, 1)
		})
	}); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// freePageN is how many free pages bbolt's freelist holds after opening
// path with o: read from the file's list, or rebuilt by walking it.
func freePageN(t *testing.T, path string, o *bolt.Options) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, o)
	if err != nil {
		t.Fatalf("bbolt open %s: %v", path, err)
	}
	defer db.Close()
	return db.Stats().FreePageN
}

func copyFile(t *testing.T, from string) string {
	t.Helper()
	to := tempPath(t)
	if out, err := exec.Command("cp", "--sparse=always", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	return to
}

func metaOf(t *testing.T, path string) boltMeta {
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
	m, err := (&fileCheck{f: f}).readMetas(fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bumpHighWater raises the high-water mark of a closed file to hwm pages
// (a sparse file): the pages above the old mark are free pages bbolt's
// rebuild finds, enough for a list of over 0xFFFF ids, which bbolt writes
// with the count in the first id.
func bumpHighWater(t *testing.T, path string, hwm uint64) {
	t.Helper()
	m := metaOf(t, path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	meta := bytes.Clone(m.raw)
	binary.LittleEndian.PutUint64(meta[40:], hwm)
	sum := fnv64a(meta[:metaChecksumAt])
	binary.LittleEndian.PutUint64(meta[metaChecksumAt:], sum)
	slot := m.txid % 2
	if _, err := f.WriteAt(meta, int64(slot)*int64(m.pageSize)+pageHeaderSize); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(hwm+1) * int64(m.pageSize)); err != nil {
		t.Fatal(err)
	}
}

// The list the checker writes into a file of the daemon's (no list synced)
// must be the one bbolt's open rebuilds, in a meta bbolt takes, and the
// file must stay a good bbolt file through the daemon's next commits.
func TestCheckerFreelistIsWhatBboltRebuilds(t *testing.T) {
	for _, tt := range []struct {
		name string
		hwm  uint64 // 0: as written
	}{
		{"short list", 0},
		{"list of over 0xFFFF ids", 0x10000 + 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := reviewFile(t, daemonOpts())
			if tt.hwm > 0 {
				bumpHighWater(t, path, tt.hwm)
			}
			if syncedFreelist(t, path) {
				t.Fatal("the daemon's options wrote a freelist")
			}
			if why := bboltRejects(t, path); why != "" {
				t.Fatalf("bbolt rejects the file before the checker ran: %s", why)
			}
			before := metaOf(t, path)
			ref := copyFile(t, path)
			want := contents(t, ref, daemonOpts())
			rebuilt := freePageN(t, ref, daemonOpts())

			if code := runChecker(path, time.Second); code != checkOK {
				t.Fatalf("checker exit %d", code)
			}
			after := metaOf(t, path)
			if !syncedFreelist(t, path) {
				t.Fatal("no freelist written")
			}
			if after.txid != before.txid+1 || after.root != before.root || after.freelist != before.hwm || after.hwm <= before.hwm {
				t.Fatalf("meta after the write: txid %d root %d freelist %d hwm %d; before: txid %d root %d hwm %d",
					after.txid, after.root, after.freelist, after.hwm, before.txid, before.root, before.hwm)
			}
			// With a synced list tx.Check demands every page below the
			// mark be reachable or free, and none both: the list is exact.
			if why := bboltRejects(t, path); why != "" {
				t.Fatalf("bbolt rejects the file the checker wrote: %s", why)
			}
			for _, o := range []*bolt.Options{{Timeout: time.Second}, daemonOpts()} {
				if got := freePageN(t, copyFile(t, path), o); got != rebuilt {
					t.Errorf("bbolt (%v) reads %d free pages, its rebuild finds %d", o.NoFreelistSync, got, rebuilt)
				}
				if contents(t, copyFile(t, path), o) != want {
					t.Errorf("contents differ after the checker's write (NoFreelistSync %v)", o.NoFreelistSync)
				}
			}

			// The daemon's commits on top: the list is read, used, dropped.
			db, err := bolt.Open(path, 0o600, daemonOpts())
			if err != nil {
				t.Fatal(err)
			}
			for round := range 5 {
				if err := db.Update(func(tx *bolt.Tx) error {
					b := tx.Bucket([]byte("keys"))
					for i := range 800 {
						if err := b.Put(fmt.Appendf(nil, "r%d-%04d", round, i), bytes.Repeat([]byte{'r'}, 60)); err != nil {
							return err
						}
					}
					return b.Delete(fmt.Appendf(nil, "k-%05d", 2000+round))
				}); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if why := bboltRejects(t, path); why != "" {
				t.Fatalf("bbolt rejects the file after the daemon's commits: %s", why)
			}
			if code := runChecker(path, time.Second); code != checkOK {
				t.Fatalf("checker exit %d after the daemon's commits", code)
			}
			if why := bboltRejects(t, path); why != "" {
				t.Fatalf("bbolt rejects the file after the second write: %s", why)
			}
		})
	}
}

func fnv64a(b []byte) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, c := range b {
		h ^= uint64(c)
		h *= prime
	}
	return h
}

// A power cut can stop the checker's write anywhere: after the list's pages
// (synced or not), inside the meta page's write. Whatever reached the card,
// bbolt must open the file with every key, its check must pass, and the
// next start's checker must accept it (no quarantine of a good store).
func TestCheckerFreelistWriteSurvivesACut(t *testing.T) {
	path := reviewFile(t, daemonOpts())
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := contents(t, copyFile(t, path), daemonOpts())
	m := metaOf(t, path)
	if code := runChecker(path, time.Second); code != checkOK {
		t.Fatalf("checker exit %d", code)
	}
	final, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	slot := int(m.txid+1) % 2
	ps := m.pageSize
	if !bytes.Equal(final[(1-slot)*ps:(2-slot)*ps], orig[(1-slot)*ps:(2-slot)*ps]) {
		t.Fatal("the write touched the meta page in force")
	}
	// The list's pages written, the meta page not (or not yet synced).
	listOnly := bytes.Clone(final)
	copy(listOnly[slot*ps:(slot+1)*ps], orig[slot*ps:(slot+1)*ps])
	states := map[string][]byte{
		"nothing written":       orig,
		"list written, no meta": listOnly,
		"all written":           final,
	}
	// The meta page torn: its first n bytes new, the rest old.
	for _, n := range []int{1, 16, 40, 56, 64, 72, 79, 512} {
		b := bytes.Clone(listOnly)
		copy(b[slot*ps:slot*ps+n], final[slot*ps:])
		states[fmt.Sprintf("meta torn after %d bytes", n)] = b
	}
	for name, b := range states {
		t.Run(name, func(t *testing.T) {
			p := tempPath(t)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if why := bboltRejects(t, p); why != "" {
				t.Fatalf("bbolt rejects the file: %s", why)
			}
			if contents(t, copyFile(t, p), daemonOpts()) != want {
				t.Fatal("contents lost")
			}
			if code := runChecker(p, time.Second); code != checkOK {
				t.Fatalf("the next start's checker exits %d: the store would be quarantined", code)
			}
			if why := bboltRejects(t, p); why != "" {
				t.Fatalf("bbolt rejects the file after the next checker's write: %s", why)
			}
			if contents(t, p, daemonOpts()) != want {
				t.Fatal("contents lost after the next checker's write")
			}
		})
	}
}

// A value bigger than a page puts its leaf on overflow pages; bbolt writes
// such files every day, and the checker must accept them. (It read the
// first page of the leaf into a buffer too small, then the rest into a new
// one whose first page was zeros: "invalid type (flags 0x0)", and the store
// was quarantined.)
func TestCheckerAcceptsALeafWithOverflowPages(t *testing.T) {
	path := tempPath(t)
	db, err := bolt.Open(path, 0o600, daemonOpts())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("big"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), bytes.Repeat([]byte{'v'}, 10_000))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if why := bboltRejects(t, path); why != "" {
		t.Fatalf("bbolt rejects the file: %s", why)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := checkFile(f); err != nil {
		t.Fatalf("the checker rejects a good file (the store would be quarantined): %v", err)
	}
}

// Every byte flip bbolt's tx.Check rejects the checker must reject too: a
// file it accepts goes to the daemon's bbolt open and to the free-page list
// the checker writes. Each page of a file (metas, branches, leaves, a
// leaf on overflow pages, nested buckets, the list once synced) is damaged
// at its header, its first elements and its data, one flip at a time, and
// branch pages get a child referenced twice. bbolt is asked only where the
// checker accepts; the free pages are left alone.
func TestCheckerRejectsWhatBboltRejects(t *testing.T) {
	daemons := reviewFile(t, daemonOpts())
	synced := copyFile(t, daemons)
	if code := runChecker(synced, time.Second); code != checkOK {
		t.Fatalf("checker exit %d on the undamaged file", code)
	}
	for name, path := range map[string]string{"no list": daemons, "list synced": synced} {
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m := metaOf(t, path)
			ps := m.pageSize
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			_, free, err := checkFile(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			// A free page's bytes are nobody's: both accept any damage there.
			isFree := make(map[int]bool)
			for _, id := range free {
				isFree[int(id)] = true
			}
			type damage struct {
				what string
				b    []byte
			}
			var damages []damage
			for id := range int(m.hwm) {
				if isFree[id] {
					continue
				}
				for _, off := range []int{0, 8, 9, 10, 11, 12, 15, 16, 20, 24, 28, 32, 40, 48, 56, 64, 72, ps - 1} {
					b := bytes.Clone(orig)
					b[id*ps+off] ^= 0xFF
					damages = append(damages, damage{fmt.Sprintf("page %d byte %d flipped", id, off), b})
				}
				p := orig[id*ps:]
				if binary.LittleEndian.Uint16(p[8:]) == branchPage && binary.LittleEndian.Uint16(p[10:]) >= 2 {
					b := bytes.Clone(orig)
					copy(b[id*ps+pageHeaderSize+8:][:8], p[pageHeaderSize+elemSize+8:][:8])
					damages = append(damages, damage{fmt.Sprintf("page %d: its first child referenced twice", id), b})
				}
			}
			asked := 0
			for _, d := range damages {
				p := tempPath(t)
				if err := os.WriteFile(p, d.b, 0o600); err != nil {
					t.Fatal(err)
				}
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				_, _, cerr := checkFile(f)
				f.Close()
				if cerr != nil {
					continue
				}
				asked++
				if why := bboltRejects(t, p); why != "" {
					t.Errorf("%s: the checker accepts it, bbolt rejects it: %s", d.what, why)
				}
			}
			t.Logf("%d damages, %d accepted by the checker and checked with bbolt", len(damages), asked)
		})
	}
}

// A store the daemon of main left: its commits without a list, then main's
// checker child had bbolt's open write one (hashmap freelist, allocated
// wherever bbolt found room, pending pages included). The checker must
// accept it as it is, and once the daemon's next commits dropped the list.
func TestCheckerAcceptsAListBboltWrote(t *testing.T) {
	path := reviewFile(t, daemonOpts())
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !syncedFreelist(t, path) {
		t.Fatal("bbolt's open wrote no list")
	}
	for _, step := range []string{"bbolt's list", "after the daemon's commits"} {
		if why := bboltRejects(t, path); why != "" {
			t.Fatalf("%s: bbolt rejects the file: %s", step, why)
		}
		before := metaOf(t, path)
		if code := runChecker(path, time.Second); code != checkOK {
			t.Fatalf("%s: checker exit %d: a good store would be quarantined", step, code)
		}
		if after := metaOf(t, path); before.freelist != noFreelist && after.txid != before.txid {
			t.Fatalf("%s: the checker rewrote a file that had a list", step)
		}
		db, err := bolt.Open(path, 0o600, daemonOpts())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("keys")).Delete([]byte("k-02000"))
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
