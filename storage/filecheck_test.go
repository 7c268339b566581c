package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// txCheck is bbolt's own verdict on a closed file.
func txCheck(t *testing.T, path string) error {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		// Drained to the end: the check's goroutine, left running, would
		// fault in the mapping Close removes.
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		return first
	})
}

// keyedFile writes a bbolt file (bbolt's own, with its free-page list
// synced) with enough keys for several leaf pages, rewritten a few times
// so that it has free pages.
func keyedFile(t *testing.T) string {
	t.Helper()
	path := tempPath(t)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	value := bytes.Repeat([]byte{'v'}, 100)
	for round := range 3 {
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("keys"))
			if err != nil {
				return err
			}
			for i := range 2000 {
				if err := b.Put(fmt.Appendf(nil, "k-%05d", i), append(value, byte(round))); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := txCheck(t, path); err != nil {
		t.Fatalf("the fresh file: %v", err)
	}
	return path
}

// currentMeta reads the meta bbolt uses from a closed file.
func currentMeta(t *testing.T, b []byte) boltMeta {
	t.Helper()
	m0, m1 := parseMeta(b), parseMeta(b[os.Getpagesize():])
	if m1.txid > m0.txid {
		return m1
	}
	return m0
}

// The pread checker must reject what tx.Check rejects, also damage that
// leaves every page readable: keys out of order, a free-page list that
// misses a page or names one in use.
func TestCheckerFindsWhatTxCheckFinds(t *testing.T) {
	tests := []struct {
		name string
		// control runs tx.Check on the damaged file too, to show that it
		// is damage; bbolt faults on some (where no recover reaches).
		control bool
		damage  func(t *testing.T, b []byte)
	}{
		{"a key out of order", false, func(t *testing.T, b []byte) {
			// In the live page and in the free ones earlier commits left.
			n := 0
			for i := bytes.Index(b, []byte("k-00010")); i >= 0; i = bytes.Index(b, []byte("k-00010")) {
				copy(b[i:], "k-99999")
				n++
			}
			if n == 0 {
				t.Fatal("key not found")
			}
		}},
		{"a free page left out of the list", true, func(t *testing.T, b []byte) {
			m := currentMeta(t, b)
			p := b[m.freelist*uint64(m.pageSize):]
			n := binary.LittleEndian.Uint16(p[10:])
			if n == 0 || n == 0xFFFF {
				t.Fatalf("freelist of %d ids; the test needs a short one", n)
			}
			binary.LittleEndian.PutUint16(p[10:], n-1)
		}},
		{"a page in use on the free list", true, func(t *testing.T, b []byte) {
			m := currentMeta(t, b)
			p := b[m.freelist*uint64(m.pageSize):]
			if binary.LittleEndian.Uint16(p[10:]) == 0 {
				t.Fatal("empty freelist")
			}
			binary.LittleEndian.PutUint64(p[pageHeaderSize:], m.root)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := keyedFile(t)
			if code := runChecker(path, time.Second); code != checkOK {
				t.Fatalf("checker exit %d on the undamaged file", code)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, b)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if !tt.control {
				// Checked by hand: k-00009 < k-99999 > k-00011.
			} else if err := txCheck(t, path); err == nil {
				t.Fatal("tx.Check finds nothing wrong; the damage is no damage")
			} else {
				t.Logf("tx.Check: %v", err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, _, err := checkFile(f); err == nil {
				t.Error("the checker found nothing wrong")
			} else {
				t.Logf("checker: %v", err)
			}
		})
	}
}
