package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/gatescreen/gatescreen/event"
)

// Record format, version 1 (the seq is the key, not part of the value):
//
//	byte    format version (1)
//	byte    kind
//	byte    flags: 1 urgent, 2 clock synced, 4 drill
//	varint  wall (unix ns)
//	varint  mono (ns of the boot)
//	uvarint len(boot id), boot id bytes
//	rest    JSON body
//
// A compact header keeps the per-event bytes (and SD-card wear) small and
// lets Scan filter by wall time without parsing JSON.
const recordV1 = 1

const (
	flagUrgent = 1 << iota
	flagSynced
	flagDrill
)

func encodeEvent(dst []byte, ev *event.Event) []byte {
	var flags byte
	if ev.Urgent {
		flags |= flagUrgent
	}
	if ev.ClockSynced {
		flags |= flagSynced
	}
	if ev.Drill {
		flags |= flagDrill
	}
	dst = append(dst, recordV1, byte(ev.Kind), flags)
	dst = binary.AppendVarint(dst, ev.Wall)
	dst = binary.AppendVarint(dst, ev.Mono)
	dst = binary.AppendUvarint(dst, uint64(len(ev.BootID)))
	dst = append(dst, ev.BootID...)
	return append(dst, ev.Body...)
}

// keyAndRecord returns ev's key and record in one allocation (bbolt keeps
// both until the commit; they were two, and the outbox value a third, per
// stored event).
func keyAndRecord(seq uint64, ev *event.Event) (key, val []byte) {
	n := 8 + 3 + 3*binary.MaxVarintLen64 + len(ev.BootID) + len(ev.Body)
	buf := binary.BigEndian.AppendUint64(make([]byte, 0, n), seq)
	// The key's capacity ends where the record starts.
	return buf[:8:8], encodeEvent(buf[8:8], ev)
}

// kindBytes backs outboxValue: never written, so bbolt may keep the slices.
var kindBytes = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// outboxValue is an outbox entry's value, the event's kind, without an
// allocation.
func outboxValue(k event.Kind) []byte { return kindBytes[k : k+1 : k+1] }

// recordHeader is the part of a record Scan needs before deciding to decode.
type recordHeader struct {
	kind  event.Kind
	flags byte
	wall  int64
	mono  int64
	boot  []byte // aliases the record
	body  []byte // aliases the record
}

func parseRecord(v []byte) (recordHeader, error) {
	var h recordHeader
	if len(v) < 3 || v[0] != recordV1 {
		return h, fmt.Errorf("%w: unknown record format", ErrCorruptRecord)
	}
	h.kind, h.flags = event.Kind(v[1]), v[2]
	rest := v[3:]
	var n int
	if h.wall, n = binary.Varint(rest); n <= 0 {
		return h, fmt.Errorf("%w: wall time", ErrCorruptRecord)
	}
	rest = rest[n:]
	if h.mono, n = binary.Varint(rest); n <= 0 {
		return h, fmt.Errorf("%w: monotonic time", ErrCorruptRecord)
	}
	rest = rest[n:]
	bootLen, n := binary.Uvarint(rest)
	if n <= 0 || bootLen > uint64(len(rest)-n) {
		return h, fmt.Errorf("%w: boot id", ErrCorruptRecord)
	}
	rest = rest[n:]
	h.boot, h.body = rest[:bootLen], rest[bootLen:]
	return h, nil
}

// decodeEvent copies the record into an Event (bbolt values die with the tx).
func decodeEvent(seq uint64, v []byte) (event.Event, error) {
	h, err := parseRecord(v)
	if err != nil {
		return event.Event{}, fmt.Errorf("seq %d: %w", seq, err)
	}
	return h.event(seq), nil
}

func (h recordHeader) event(seq uint64) event.Event {
	return event.Event{
		Seq:         seq,
		Kind:        h.kind,
		Urgent:      h.flags&flagUrgent != 0,
		BootID:      string(h.boot),
		Mono:        h.mono,
		Wall:        h.wall,
		ClockSynced: h.flags&flagSynced != 0,
		Drill:       h.flags&flagDrill != 0,
		Body:        append([]byte(nil), h.body...),
	}
}

// lend fills ev with the record, its Body aliasing the record (see
// VisitPending). BootID, the same for long runs of events, is copied only
// when it changes from the one ev holds.
func (h recordHeader) lend(ev *event.Event, seq uint64) {
	boot := ev.BootID
	if string(h.boot) != boot {
		boot = string(h.boot)
	}
	*ev = event.Event{
		Seq:         seq,
		Kind:        h.kind,
		Urgent:      h.flags&flagUrgent != 0,
		BootID:      boot,
		Mono:        h.mono,
		Wall:        h.wall,
		ClockSynced: h.flags&flagSynced != 0,
		Drill:       h.flags&flagDrill != 0,
		Body:        h.body,
	}
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
