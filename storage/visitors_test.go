package storage

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func visitorAt(name string, at time.Time) Visitor {
	return Visitor{Time: at, Day: at.Format(time.DateOnly), Name: name, Phone: "13800000000",
		Purpose: "送教材", Host: "王老师", Lane: "visitor", BodyC: 36.5, Verdict: "pass"}
}

func TestVisitorsPutListByDayAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gate.db")
	s := openStore(t, path, Opts{})
	mon := time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC)
	var ids []uint64
	for _, v := range []Visitor{
		visitorAt("张三", mon),
		visitorAt("李四", mon.Add(time.Hour)),
		visitorAt("王五", mon.Add(24*time.Hour)),
	} {
		id, err := s.PutVisitor(v)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] == 0 || ids[1] <= ids[0] || ids[2] <= ids[1] {
		t.Fatalf("ids %v: want increasing and non-zero", ids)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Durable across a restart.
	s = openStore(t, path, Opts{})
	got, err := s.Visitors("2026-11-23")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "张三" || got[1].Name != "李四" || got[0].ID != ids[0] {
		t.Fatalf("Visitors(2026-11-23) = %+v", got)
	}
	want := visitorAt("张三", mon)
	want.ID = ids[0]
	if !got[0].Time.Equal(want.Time) || got[0].Host != want.Host || got[0].Purpose != want.Purpose ||
		got[0].Phone != want.Phone || got[0].BodyC != 36.5 || got[0].Verdict != "pass" || got[0].Lane != "visitor" {
		t.Fatalf("stored %+v, want %+v", got[0], want)
	}
	if got, _ := s.Visitors("2026-11-24"); len(got) != 1 || got[0].Name != "王五" {
		t.Fatalf("Visitors(2026-11-24) = %+v", got)
	}
	if got, err := s.Visitors("2026-11-25"); err != nil || len(got) != 0 {
		t.Fatalf("Visitors of a day without any = %+v, %v", got, err)
	}
}

func TestVisitorsOnAFileWithoutTheBucket(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "gate.db"), Opts{})
	if got, err := s.Visitors("2026-11-23"); err != nil || got != nil {
		t.Fatalf("Visitors = %v, %v; want none", got, err)
	}
	if n, err := s.PurgeVisitors(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 0 {
		t.Fatalf("PurgeVisitors = %d, %v", n, err)
	}
}

func TestVisitorsNeverInTheOutbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gate.db")
	s := openStore(t, path, Opts{})
	before := s.Durable()
	if _, err := s.PutVisitor(visitorAt("张三", time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	for _, q := range []Queue{Priority, Bulk} {
		evs, err := s.Pending(q, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 0 {
			t.Fatalf("%s outbox holds %d events after PutVisitor: %+v", q, len(evs), evs)
		}
	}
	if p, b := s.OutboxLen(); p != 0 || b != 0 {
		t.Fatalf("OutboxLen = %d, %d", p, b)
	}
	if s.Durable() != before {
		t.Fatalf("PutVisitor used an event sequence: %d → %d", before, s.Durable())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The name is in the visitors bucket only, in no event.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if string(name) != string(bucketVisitors) && strings.Contains(string(v), "张三") {
					t.Errorf("bucket %s key %x holds the visitor's name", name, k)
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPurgeVisitors(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "gate.db"), Opts{})
	start := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	for d := range 40 {
		if _, err := s.PutVisitor(visitorAt("访客", start.AddDate(0, 0, d))); err != nil {
			t.Fatal(err)
		}
	}
	cutoff := start.AddDate(0, 0, 10) // the first 10 days go
	n, err := s.PurgeVisitors(cutoff)
	if err != nil || n != 10 {
		t.Fatalf("PurgeVisitors = %d, %v; want 10", n, err)
	}
	if got, _ := s.Visitors(start.AddDate(0, 0, 9).Format(time.DateOnly)); len(got) != 0 {
		t.Fatalf("a visitor before the cutoff survived: %+v", got)
	}
	if got, _ := s.Visitors(cutoff.Format(time.DateOnly)); len(got) != 1 {
		t.Fatalf("the visitor at the cutoff was purged: %+v", got)
	}
	if n, err := s.PurgeVisitors(cutoff); err != nil || n != 0 {
		t.Fatalf("second PurgeVisitors = %d, %v; want 0", n, err)
	}
}

func TestPurgeVisitorsRefusesAnUnsetClock(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "gate.db"), Opts{})
	if _, err := s.PutVisitor(visitorAt("张三", time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	// now - 30 days on a box that booted at 1970.
	_, err := s.PurgeVisitors(time.Unix(0, 0).Add(-30 * 24 * time.Hour))
	if !errors.Is(err, errImplausibleCutoff) {
		t.Fatalf("PurgeVisitors(1969) error = %v, want errImplausibleCutoff", err)
	}
	if got, _ := s.Visitors("2026-11-23"); len(got) != 1 {
		t.Fatalf("visitor purged by an unset clock: %+v", got)
	}
}

func TestPutVisitorValidatesDayAndClosedStore(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "gate.db"), Opts{})
	v := visitorAt("张三", time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	v.Day = "2026/11/23"
	if _, err := s.PutVisitor(v); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Fatalf("PutVisitor with a bad day: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutVisitor(visitorAt("张三", time.Now())); !errors.Is(err, ErrClosed) {
		t.Fatalf("PutVisitor after Close: %v, want ErrClosed", err)
	}
}
