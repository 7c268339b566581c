package storage

import (
	"bytes"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
)

// Linking a case to the flagged reading that opened it.
//
// The pipeline appends the flagged reading (EventSink) and the case's
// opening transition (Cases) from two sinks with rings of their own, so
// either may reach the writer first, and only the writer knows the
// reading's seq. Both events are stamped with the same measurement's times
// and carry its ticket, so the writer links them by (ticket, wall, mono):
// exact, and independent of the local day (the store does not know the
// school's timezone, and a case's Day follows the ticket counter, not the
// reading's wall clock, when the clock was set back across midnight).
//
//   - A flagged reading with a ticket is remembered with its seq (the last
//     linkCap of them; a case comes within milliseconds of its reading).
//   - A case's opening transition whose reading was stored already is
//     stored at once with ReadingSeq set. Otherwise it is held, with every
//     later transition of the same case behind it, until the reading is
//     appended (then both commit together, reading first), or
//     Opts.ReadingWait passes, or a Flush or Close; then it is stored
//     without ReadingSeq and a warning is logged.
//   - A later transition gets ReadingSeq from the stored case, so every
//     uploaded transition carries it.

// linkCap bounds the flagged readings remembered for linking.
const linkCap = 256

// linkKey is what a flagged reading and the case it opened share.
type linkKey struct {
	ticket     string
	wall, mono int64
}

// linkTable remembers the seqs of the last linkCap flagged readings.
type linkTable struct {
	seq  map[linkKey]uint64
	fifo []linkKey // ring of the keys in seq, oldest at next once full
	next int
}

func (t *linkTable) get(k linkKey) (uint64, bool) {
	seq, ok := t.seq[k]
	return seq, ok
}

func (t *linkTable) put(k linkKey, seq uint64) {
	if t.seq == nil {
		t.seq = make(map[linkKey]uint64, linkCap)
		t.fifo = make([]linkKey, 0, linkCap)
	}
	if _, ok := t.seq[k]; !ok {
		if len(t.fifo) < linkCap {
			t.fifo = append(t.fifo, k)
		} else {
			delete(t.seq, t.fifo[t.next])
			t.fifo[t.next] = k
			t.next = (t.next + 1) % linkCap
		}
	}
	t.seq[k] = seq
}

type linkEntry struct {
	key linkKey
	seq uint64
}

// heldCase is a case event waiting at the writer (see above).
type heldCase struct {
	r       request
	caseKey string // "<day>/<ticket>", as in the cases bucket
	// opening: the case's first transition, waiting for the reading with
	// key until deadline; otherwise a later transition of a held case.
	opening  bool
	key      linkKey
	deadline time.Time
}

// readingLink returns the link key of a flagged reading that opened a case.
func readingLink(ev *event.Event) (linkKey, bool) {
	if ev.Kind != event.KindReading || !ev.Urgent || !bytes.Contains(ev.Body, []byte(`"ticket"`)) {
		return linkKey{}, false
	}
	var r struct {
		Ticket string `json:"ticket"`
	}
	if json.Unmarshal(ev.Body, &r) != nil || r.Ticket == "" {
		return linkKey{}, false
	}
	return linkKey{ticket: r.Ticket, wall: ev.Wall, mono: ev.Mono}, true
}

// opening reports whether c is the transition that opened its case and
// does not know its reading yet.
func opening(c *event.Case) bool {
	return c.State == event.CaseAwaitingRecheck && c.From == "" && c.ReadingSeq == 0
}

// caseOf decodes a case event's payload; ok is false for one the cases
// bucket cannot hold (project logs those).
func caseOf(ev *event.Event) (event.Case, bool) {
	var c event.Case
	if json.Unmarshal(ev.Body, &c) != nil || c.Ticket == "" || c.Day == "" {
		return event.Case{}, false
	}
	return c, true
}

// addLinked takes the writer's share of linking for an event request and
// reports whether it was added (held or batched) and whether it must be
// committed at once. Events that take no part are left to add.
func (s *Store) addLinked(r request) (handled, now bool) {
	w := &s.w
	switch r.ev.Kind {
	case event.KindReading:
		key, ok := readingLink(&r.ev)
		if !ok {
			return false, false
		}
		w.batch = append(w.batch, r)
		w.batchLinks = append(w.batchLinks, key)
		s.release(func(h *heldCase) bool { return h.key == key }, "")
		return true, true
	case event.KindCase:
		c, ok := caseOf(&r.ev)
		if !ok {
			return false, false
		}
		ck := c.Day + "/" + c.Ticket
		for i := range w.held {
			if w.held[i].caseKey == ck {
				// Behind its held opening, in order.
				w.held = append(w.held, heldCase{r: r, caseKey: ck})
				return true, false
			}
		}
		if !opening(&c) {
			return false, false
		}
		key := linkKey{ticket: c.Ticket, wall: r.ev.Wall, mono: r.ev.Mono}
		if _, stored := w.links.get(key); stored || w.batchHas(key) {
			return false, false
		}
		w.held = append(w.held, heldCase{r: r, caseKey: ck, opening: true, key: key,
			deadline: time.Now().Add(s.o.ReadingWait)})
		s.armHold()
		return true, false
	}
	return false, false
}

func (w *writerState) batchHas(k linkKey) bool {
	for _, b := range w.batchLinks {
		if b == k {
			return true
		}
	}
	return false
}

// release moves the held openings match selects, each with the later
// transitions of its case, into the batch in order. why, when not empty,
// says why an opening goes without its reading; that is logged.
func (s *Store) release(match func(*heldCase) bool, why string) bool {
	w := &s.w
	if len(w.held) == 0 {
		return false
	}
	var released map[string]bool
	kept := w.held[:0]
	for i := range w.held {
		h := &w.held[i]
		switch {
		case h.opening && match(h):
			if released == nil {
				released = map[string]bool{}
			}
			released[h.caseKey] = true
			if why != "" {
				s.log.Warn().Str("case", h.caseKey).Int64("wall", h.key.wall).Int64("mono", h.key.mono).
					Str("why", why).Msg("case stored without the seq of its flagged reading: the reading was not appended")
			}
		case !h.opening && released[h.caseKey]:
		default:
			kept = append(kept, *h)
			continue
		}
		w.batch = append(w.batch, h.r)
	}
	clear(w.held[len(kept):])
	w.held = kept
	return released != nil
}

// releaseExpired releases the openings whose ReadingWait has passed.
func (s *Store) releaseExpired() bool {
	now := time.Now()
	return s.release(func(h *heldCase) bool { return !now.Before(h.deadline) }, "waited "+s.o.ReadingWait.String())
}

// releaseAll releases every held case (Flush, Close).
func (s *Store) releaseAll(why string) bool {
	return s.release(func(*heldCase) bool { return true }, why)
}

// armHold sets the hold timer to the earliest deadline of a held opening.
func (s *Store) armHold() {
	w := &s.w
	if w.holdOn {
		w.hold.Stop()
		w.holdOn = false
	}
	for i := range w.held {
		if w.held[i].opening { // deadlines grow in the order of held
			w.hold.Reset(time.Until(w.held[i].deadline))
			w.holdOn = true
			return
		}
	}
}

// noteReading remembers, for the transaction under way, the seq of a
// flagged reading that opened a case.
func (s *Store) noteReading(ev *event.Event) {
	if key, ok := readingLink(ev); ok {
		s.w.txLinks = append(s.w.txLinks, linkEntry{key, ev.Seq})
	}
}

// readingSeq finds the seq of the reading with key: stored in this
// transaction or in an earlier one.
func (w *writerState) readingSeq(k linkKey) (uint64, bool) {
	for i := len(w.txLinks) - 1; i >= 0; i-- {
		if w.txLinks[i].key == k {
			return w.txLinks[i].seq, true
		}
	}
	return w.links.get(k)
}

// linkCase completes a case event before it is stored: the seq of its
// flagged reading (from the link table for an opening, else from the stored
// case), and the drill mark, which a case never loses. ev is the copy that
// is stored; the request keeps the original, so a retried transaction
// links again.
func (s *Store) linkCase(tx *bolt.Tx, ev *event.Event) {
	c, ok := caseOf(ev)
	if !ok {
		return
	}
	var prev event.Case
	prevDrill, hasPrev := false, false
	if v := tx.Bucket(bucketCases).Get([]byte(c.Day + "/" + c.Ticket)); v != nil {
		if pev, err := decodeProjection(v); err == nil && json.Unmarshal(pev.Body, &prev) == nil {
			prevDrill, hasPrev = pev.Drill, true
		}
	}
	if prevDrill && !ev.Drill {
		s.log.Warn().Uint64("seq", ev.Seq).Str("ticket", c.Ticket).Str("day", c.Day).
			Msg("transition of a drill case appended without the drill mark; stored as drill")
		ev.Drill = true
	}
	if c.ReadingSeq != 0 {
		return
	}
	switch {
	case opening(&c):
		c.ReadingSeq, _ = s.w.readingSeq(linkKey{ticket: c.Ticket, wall: ev.Wall, mono: ev.Mono})
	case hasPrev:
		c.ReadingSeq = prev.ReadingSeq
	}
	if c.ReadingSeq != 0 {
		ev.Body = mustJSON(c)
	}
}
