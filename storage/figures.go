package storage

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OldestPending returns the capture time of the oldest event the district
// has not acknowledged yet; ok is false when nothing waits. It reads the
// first key of each outbox queue: a few page lookups, cheap enough for a
// scrape.
func (s *Store) OldestPending() (wall time.Time, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		for _, q := range []Queue{Priority, Bulk} {
			// An outbox key whose event was purged under the disk limit (a
			// gap event says so) is skipped, a bounded number of them:
			// under disk pressure is when the age matters most.
			c := tx.Bucket(outboxBucket(q)).Cursor()
			k, _ := c.First()
			var v []byte
			for n := 0; k != nil && n < oldestScan; k, _ = c.Next() {
				if v = events.Get(k); v != nil {
					break
				}
				n++
			}
			if v == nil {
				continue
			}
			ev, err := decodeEvent(beUint64(k), v)
			if err != nil {
				return err
			}
			if t := time.Unix(0, ev.Wall); !ok || t.Before(wall) {
				wall, ok = t, true
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("storage: %s: oldest pending event: %w", s.path, err)
	}
	return wall, ok, nil
}

// oldestScan bounds the purged outbox keys OldestPending steps over.
const oldestScan = 4096

// Room returns the bytes the store file holds on disk and the bytes its
// filesystem can still give it.
func (s *Store) Room() (allocated, free int64, err error) { return diskRoom(s.path) }
