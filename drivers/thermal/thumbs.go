package thermal

import (
	"sync"

	"github.com/gatescreen/gatescreen/drivers"
)

// thumbsKept is how many of a device's last measured frames a Thumbs keeps:
// enough for the screen's sink to lag a few readings behind the device.
const thumbsKept = 4

// Thumb is the frame one reading of a thermal array was measured from.
type Thumb struct {
	// W, H and C are as in Frame (NaN a failed pixel).
	W, H int
	C    []float64
	// Mono is the reading's capture time (drivers.Reading.Mono).
	Mono int64
}

// Thumbs holds the frames the last readings of one thermal array were
// measured from, for the gate screen's thumbnail. A thermal image of a
// child's face is more sensitive than the number: it never enters a
// drivers.Reading, so it is never stored or uploaded, and only the last
// few are kept, in memory.
//
// The Source hands the frame of a measurement over just before it emits
// the reading; Emit, which the daemon puts after the runner's stamping,
// files the frame under the reading's capture time, the key the screen
// finds it by. Thumbs is safe for concurrent use; the zero value is ready.
type Thumbs struct {
	mu          sync.Mutex
	pending     Thumb // the next reading's frame, while havePending
	havePending bool
	kept        [thumbsKept]Thumb
	next        int
}

// hold takes the frame of the reading the Source emits next.
func (h *Thumbs) hold(w, ht int, c []float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cap(h.pending.C) < len(c) {
		h.pending.C = make([]float64, len(c))
	}
	h.pending.W, h.pending.H, h.pending.C = w, ht, h.pending.C[:len(c)]
	copy(h.pending.C, c)
	h.havePending = true
}

// Emit returns an Emit that files the frame handed over for each reading
// under the reading's Mono, then passes the reading to next. It must see
// the readings after they are stamped (runner.Opts.Emit); a reading with
// no frame (an invalid one) files nothing.
func (h *Thumbs) Emit(next drivers.Emit) drivers.Emit {
	return func(r drivers.Reading) {
		h.file(r.Mono)
		next(r)
	}
}

func (h *Thumbs) file(mono int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.havePending {
		return
	}
	h.havePending = false
	// Swap buffers: the slot's old frame becomes the next pending buffer.
	h.pending.Mono = mono
	h.kept[h.next], h.pending = h.pending, h.kept[h.next]
	h.next = (h.next + 1) % thumbsKept
}

// Get returns a copy of the frame the reading captured at mono was
// measured from, if it is one of the last few.
func (h *Thumbs) Get(mono int64) (Thumb, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.kept {
		if t.C != nil && t.Mono == mono {
			t.C = append([]float64(nil), t.C...)
			return t, true
		}
	}
	return Thumb{}, false
}
