package storage

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/event"
)

// keyAndRecord writes what seqKey and encodeEvent write, in one
// allocation, for the extremes of every varint and a long body; appending
// to the key never reaches the record.
func TestKeyAndRecord(t *testing.T) {
	for _, ev := range []event.Event{
		{Kind: event.KindReading},
		{Kind: event.KindCase, Urgent: true, ClockSynced: true, Drill: true, BootID: "b0a7", Mono: math.MaxInt64, Wall: math.MinInt64,
			Body: []byte(`{"ticket":"R-001"}`)},
		{Kind: event.KindGap, BootID: strings.Repeat("x", 300), Mono: -1, Wall: 1795441955709000000, Body: bytes.Repeat([]byte("y"), 5000)},
	} {
		for _, seq := range []uint64{1, 1 << 40, math.MaxUint64} {
			key, val := keyAndRecord(seq, &ev)
			if !bytes.Equal(key, seqKey(seq)) || !bytes.Equal(val, encodeEvent(nil, &ev)) {
				t.Fatalf("seq %d: key %x record %x, want %x %x", seq, key, val, seqKey(seq), encodeEvent(nil, &ev))
			}
			before := append([]byte(nil), val...)
			_ = append(key, 0xee)
			if !bytes.Equal(val, before) {
				t.Fatal("appending to the key overwrote the record")
			}
			if n := testing.AllocsPerRun(10, func() { keyAndRecord(seq, &ev) }); n != 1 {
				t.Errorf("%v allocations, want 1", n)
			}
		}
	}
	for k := event.KindReading; k <= event.KindCalibration; k++ {
		if v := outboxValue(k); len(v) != 1 || v[0] != byte(k) || cap(v) != 1 {
			t.Errorf("outbox value of %s: %v (cap %d)", k, v, cap(v))
		}
	}
}
