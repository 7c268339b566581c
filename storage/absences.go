package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketAbsences holds the class teachers' absence follow-up (因病缺勤追踪):
// "<day>/<person id>" → JSON Absence. Like the visitor book it is personal
// data that stays on the box: not an event, never in the outbox; the daily
// report uploads counts of it only. Created by the first PutAbsence.
var bucketAbsences = []byte("absences")

// Absence reasons and symptoms.
const (
	AbsenceIllness  = "illness"
	AbsenceLeave    = "personal_leave"
	AbsenceUnknown  = "unknown"
	SymptomFever    = "fever"
	SymptomCough    = "cough"
	SymptomOther    = "other"
	maxAbsenceNote  = 200
	maxAbsenceActor = 64
)

// Absence is what a class teacher recorded about one student absent on one
// day: the follow-up is recorded again each day until the student is back.
type Absence struct {
	Day      string `json:"day"` // local date, "2006-01-02"
	PersonID string `json:"person_id"`
	// Reason is illness, personal_leave or unknown.
	Reason string `json:"reason"`
	// Symptoms (fever, cough, other) and SeenDoctor are asked for illness.
	Symptoms   []string `json:"symptoms,omitempty"`
	SeenDoctor bool     `json:"seen_doctor,omitempty"`
	Note       string   `json:"note,omitempty"`
	// By is who recorded it ("teacher", "doctor"); At when (wall clock).
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Validate checks a record before it is stored.
func (a *Absence) Validate() error {
	if _, err := time.Parse(time.DateOnly, a.Day); err != nil {
		return fmt.Errorf("day %q: want YYYY-MM-DD", a.Day)
	}
	if a.PersonID == "" {
		return fmt.Errorf("no person id")
	}
	switch a.Reason {
	case AbsenceIllness:
	case AbsenceLeave, AbsenceUnknown:
		if len(a.Symptoms) > 0 || a.SeenDoctor {
			return fmt.Errorf("symptoms and seen by a doctor are for reason illness, not %s", a.Reason)
		}
	default:
		return fmt.Errorf("reason %q: want illness, personal_leave or unknown", a.Reason)
	}
	for _, s := range a.Symptoms {
		if s != SymptomFever && s != SymptomCough && s != SymptomOther {
			return fmt.Errorf("symptom %q: want fever, cough or other", s)
		}
	}
	if len(a.Note) > maxAbsenceNote {
		return fmt.Errorf("note longer than %d bytes", maxAbsenceNote)
	}
	if len(a.By) > maxAbsenceActor {
		return fmt.Errorf("recorded by a name longer than %d bytes", maxAbsenceActor)
	}
	return nil
}

// PutAbsence stores (or replaces) the record of a.PersonID on a.Day.
func (s *Store) PutAbsence(a Absence) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("storage: %s: put absence: %w", s.path, err)
	}
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	err = s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAbsences)
		if err != nil {
			return err
		}
		return b.Put([]byte(a.Day+"/"+a.PersonID), data)
	})
	if err != nil {
		return fmt.Errorf("storage: %s: put absence: %w", s.path, err)
	}
	return nil
}

// Absences returns the records of a local day ("2006-01-02") by person id.
func (s *Store) Absences(day string) (map[string]Absence, error) {
	prefix := []byte(day + "/")
	out := map[string]Absence{}
	err := s.view(func(tx *bolt.Tx) error {
		return eachWithPrefix(tx, bucketAbsences, prefix, func(k, data []byte) error {
			var a Absence
			if err := json.Unmarshal(data, &a); err != nil {
				return fmt.Errorf("%w: absence %s: %v", ErrCorruptRecord, k, err)
			}
			out[a.PersonID] = a
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %s: absences of %s: %w", s.path, day, err)
	}
	return out, nil
}

// eachWithPrefix calls fn for each key of bucket that starts with prefix,
// in key order; a bucket not created yet has none.
func eachWithPrefix(tx *bolt.Tx, bucket, prefix []byte, fn func(k, v []byte) error) error {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// PurgeAbsences deletes the records of the days before the local day
// before ("2006-01-02"; the daemon passes the day of now minus the
// retention) and returns how many it deleted. A day before 2000 comes from
// an unset clock and is refused.
func (s *Store) PurgeAbsences(before string) (int, error) {
	if d, err := time.Parse(time.DateOnly, before); err != nil || d.Year() < 2000 {
		return 0, fmt.Errorf("storage: %s: purge absences before %q: %w", s.path, before, errImplausibleCutoff)
	}
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketAbsences)
		if b == nil {
			return nil
		}
		// Keys start with the day, so the old ones come first.
		c := b.Cursor()
		for k, _ := c.First(); k != nil && string(k) < before; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: %s: purge absences: %w", s.path, err)
	}
	return n, nil
}
