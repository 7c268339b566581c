package storage

import (
	"bytes"
	"testing"

	"github.com/gatescreen/gatescreen/event"
)

// Records come off an SD card that may have lost power mid-write: decoding
// arbitrary bytes never panics, and whatever decodes encodes back to the
// same bytes (nothing is silently altered on the way to the district).
func FuzzDecodeRecord(f *testing.F) {
	ev := event.Event{Kind: event.KindReading, Urgent: true, ClockSynced: true, BootID: "b0a7",
		Mono: 123456789, Wall: 1795441955709000000, Body: []byte(`{"lane":"L1","verdict":"flag"}`)}
	f.Add(encodeEvent(nil, &ev))
	f.Add([]byte{recordV1, 1, 0})
	f.Add([]byte{recordV1, 2, 7, 0x80})
	f.Add([]byte{9, 9, 9})
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := decodeEvent(1, v)
		if err != nil {
			return
		}
		again := encodeEvent(nil, &got)
		// Varints have several encodings of one value; compare what they mean.
		back, err := decodeEvent(1, again)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if back.Kind != got.Kind || back.Wall != got.Wall || back.Mono != got.Mono || back.BootID != got.BootID ||
			back.Urgent != got.Urgent || back.Drill != got.Drill || back.ClockSynced != got.ClockSynced || !bytes.Equal(back.Body, got.Body) {
			t.Fatalf("round trip changed the event:\n%+v\n%+v", got, back)
		}
	})
}
