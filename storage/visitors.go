package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketVisitors holds the visitor book: "<day>/<seq>" → JSON Visitor. It is
// personal data that stays on the box: it is not an event, never enters the
// outbox and is never uploaded. It is created by the first PutVisitor, so
// files without visitors do not have it.
var bucketVisitors = []byte("visitors")

// Visitor is one entry of the visitor book (来访登记): who came, to see whom,
// and the temperature reading that admitted them.
type Visitor struct {
	// ID is assigned by PutVisitor.
	ID uint64 `json:"id"`
	// Time is when the visitor was registered (wall clock); Day is its
	// local date, "2006-01-02".
	Time    time.Time `json:"time"`
	Day     string    `json:"day"`
	Name    string    `json:"name"`
	Phone   string    `json:"phone"`
	Purpose string    `json:"purpose"`
	Host    string    `json:"host"`
	// Lane, BodyC and Verdict are the reading the visitor was admitted on.
	Lane    string  `json:"lane"`
	BodyC   float64 `json:"body_c"`
	Verdict string  `json:"verdict"`
}

// PutVisitor stores v durably in the visitor book and returns its id.
func (s *Store) PutVisitor(v Visitor) (id uint64, err error) {
	if _, err := time.Parse(time.DateOnly, v.Day); err != nil {
		return 0, fmt.Errorf("storage: %s: put visitor: day %q: want YYYY-MM-DD", s.path, v.Day)
	}
	err = s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketVisitors)
		if err != nil {
			return err
		}
		if id, err = b.NextSequence(); err != nil {
			return err
		}
		v.ID = id
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return b.Put(visitorKey(v.Day, id), data)
	})
	if err != nil {
		return 0, fmt.Errorf("storage: %s: put visitor: %w", s.path, err)
	}
	return id, nil
}

// Visitors returns the visitors registered on a local day ("2006-01-02"), in
// the order they were registered.
func (s *Store) Visitors(day string) ([]Visitor, error) {
	prefix := []byte(day + "/")
	var out []Visitor
	err := s.view(func(tx *bolt.Tx) error {
		return eachWithPrefix(tx, bucketVisitors, prefix, func(k, data []byte) error {
			var v Visitor
			if err := json.Unmarshal(data, &v); err != nil {
				return fmt.Errorf("%w: visitor %s: %v", ErrCorruptRecord, k, err)
			}
			out = append(out, v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %s: visitors of %s: %w", s.path, day, err)
	}
	return out, nil
}

// errImplausibleCutoff refuses a purge whose cutoff is not after 2000: the
// clock of a box without a real-time clock has not been set, and visitors
// registered since would all look old once it is.
var errImplausibleCutoff = errors.New("cutoff before 2000: clock not set")

// PurgeVisitors deletes the visitors registered before the given time (the
// daemon calls it daily with now minus the retention) and returns how many
// it deleted. A cutoff before 2000 is refused: it comes from an unset clock.
func (s *Store) PurgeVisitors(before time.Time) (int, error) {
	if before.Year() < 2000 {
		return 0, fmt.Errorf("storage: %s: purge visitors before %s: %w", s.path, before.Format(time.RFC3339), errImplausibleCutoff)
	}
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketVisitors)
		if b == nil {
			return nil
		}
		var old [][]byte
		err := b.ForEach(func(k, data []byte) error {
			var v Visitor
			// An undecodable record is kept for inspection, like the outbox.
			if json.Unmarshal(data, &v) == nil && v.Time.Before(before) {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Deleting while iterating with ForEach is not allowed in bbolt.
		if err := deleteKeys(old, b); err != nil {
			return err
		}
		n = len(old)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: %s: purge visitors: %w", s.path, err)
	}
	return n, nil
}

// visitorKey sorts a day's visitors together and in registration order.
func visitorKey(day string, id uint64) []byte {
	k := make([]byte, 0, len(day)+1+8)
	k = append(k, day...)
	k = append(k, '/')
	return binary.BigEndian.AppendUint64(k, id)
}
