package storage

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// ledgerLine is one line of the JSONL ledger.
type ledgerLine struct {
	Seq         uint64          `json:"seq"`
	Kind        string          `json:"kind"`
	Time        string          `json:"time"`
	ClockSynced bool            `json:"clock_synced"`
	Drill       bool            `json:"drill,omitempty"`
	BootID      string          `json:"boot_id,omitempty"`
	Body        json.RawMessage `json:"body"`
}

// ExportJSONL writes the readings and case transitions whose wall time is
// in [from, to) as JSON lines, for machines: one object per event, with its
// payload as stored as "body" and the time as RFC 3339 in loc (nil: UTC).
// The school's registers in Chinese are written by internal/office.
func ExportJSONL(w io.Writer, s *Store, from, to time.Time, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	err := s.Scan(from, to, func(ev event.Event) error {
		if ev.Kind != event.KindReading && ev.Kind != event.KindCase {
			return nil
		}
		return enc.Encode(ledgerLine{
			Seq: ev.Seq, Kind: ev.Kind.String(),
			Time:        time.Unix(0, ev.Wall).In(loc).Format(time.RFC3339Nano),
			ClockSynced: ev.ClockSynced, Drill: ev.Drill, BootID: ev.BootID, Body: ev.Body,
		})
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("storage: export jsonl: %w", err)
	}
	return nil
}
