package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
)

// OpenCases returns the latest state of every case that is not cleared or
// closed, oldest day and ticket first. Drill is set for a drill's case.
func (s *Store) OpenCases() ([]event.Case, error) {
	return s.cases(nil, func(c *event.Case) bool {
		return c.State != event.CaseCleared && c.State != event.CaseClosed
	})
}

// CasesOn returns the latest state of every case of a local day
// ("2006-01-02"), in ticket order. Drill is set for a drill's case.
func (s *Store) CasesOn(day string) ([]event.Case, error) {
	return s.cases([]byte(day+"/"), func(*event.Case) bool { return true })
}

func (s *Store) cases(prefix []byte, keep func(*event.Case) bool) ([]event.Case, error) {
	var out []event.Case
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCases).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			ev, err := decodeProjection(v)
			if err != nil {
				return fmt.Errorf("case %s: %w", k, err)
			}
			var cs event.Case
			if err := ev.Decode(&cs); err != nil {
				return err
			}
			cs.Drill = ev.Drill
			if keep(&cs) {
				out = append(out, cs)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %s: cases: %w", s.path, err)
	}
	return out, nil
}

// Daily returns the latest daily report stored for day.
func (s *Store) Daily(day string) (event.Daily, bool, error) {
	var d event.Daily
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDaily).Get([]byte(day))
		if v == nil {
			return nil
		}
		ev, err := decodeProjection(v)
		if err != nil {
			return err
		}
		found = true
		return ev.Decode(&d)
	})
	if err != nil {
		return event.Daily{}, false, fmt.Errorf("storage: %s: daily %s: %w", s.path, day, err)
	}
	return d, found, nil
}

// Calibrations returns the latest calibration of each device; a record's
// ID is the sequence number of the event that stored it.
func (s *Store) Calibrations() (map[string]event.Calibration, error) {
	out := map[string]event.Calibration{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCalibration).ForEach(func(k, v []byte) error {
			ev, err := decodeProjection(v)
			if err != nil {
				return fmt.Errorf("calibration %s: %w", k, err)
			}
			var c event.Calibration
			if err := ev.Decode(&c); err != nil {
				return err
			}
			if c.ID == 0 { // the record is known by the seq that stored it
				c.ID = ev.Seq
			}
			out[string(k)] = c
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %s: calibrations: %w", s.path, err)
	}
	return out, nil
}

// Scan calls fn, in sequence order, for every stored event whose wall time
// is in [from, to). Events keep their recorded wall time, which is wrong
// for events captured before the clock was synced (see Event.ClockSynced).
// It walks the whole events bucket, filtering on the record header, so it is
// meant for exports and reports, not hot paths. It reads in short
// transactions and calls fn outside them, so a slow consumer (an export to
// a USB stick) never holds the file and stalls the writer.
func (s *Store) Scan(from, to time.Time, fn func(event.Event) error) error {
	return s.ScanAfter(0, from, to, fn)
}

// ScanAfter is Scan over the events with Seq > after only, so a caller that
// keeps a running tally reads each event once.
func (s *Store) ScanAfter(after uint64, from, to time.Time, fn func(event.Event) error) error {
	lo, hi := from.UnixNano(), to.UnixNano()
	const perTx = 4096 // records examined per read transaction
	next := after + 1  // first seq not yet examined
	for done := false; !done; {
		var batch []event.Event
		err := s.view(func(tx *bolt.Tx) error {
			n := 0                                 // records examined
			defer func() { s.readMapped(tx, n) }() // a scan reads each page once
			c := tx.Bucket(bucketEvents).Cursor()
			k, v := c.Seek(seqKey(next))
			for ; n < perTx; n++ {
				if k == nil {
					done = true
					return nil
				}
				seq := binary.BigEndian.Uint64(k)
				next = seq + 1
				h, err := parseRecord(v)
				if err != nil {
					return fmt.Errorf("seq %d: %w", seq, err)
				}
				if h.wall >= lo && h.wall < hi {
					batch = append(batch, h.event(seq))
				}
				k, v = c.Next()
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("storage: %s: scan: %w", s.path, err)
		}
		for _, ev := range batch {
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
	return nil
}
