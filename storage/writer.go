package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gatescreen/gatescreen/event"
)

// writerState is owned by the writer goroutine.
type writerState struct {
	batch []request
	acks  []ackBatch // acknowledgements riding in the next commit
	// ackSeqs counts the seqs in acks (see ackCommitSeqs).
	ackSeqs int
	flushes []chan error
	timer   *time.Timer
	timerOn bool
	// failed is the first write error since the last Flush.
	failed error
	// fault is the error of the commits failing since the last good one.
	// Their batch and acknowledgements are kept and committed again after
	// backoff, which doubles up to maxBackoff; faults counts the tries.
	fault   error
	faults  int
	backoff time.Duration
	// raised holds health events the store raised itself, stored with the
	// next commit (see raise).
	raised []request
	// soft is the bytes in use above which a commit first frees space;
	// target is where freeing stops (hysteresis, so it does not run at
	// every commit). They are those of MaxSize (maxSoft, maxTarget) or
	// lower when the filesystem has less room, set before each commit
	// (limits); limitBy names the one in force.
	soft, target       int64
	maxSoft, maxTarget int64
	limitBy            string
	// nearFull and full remember what was reported, until usage is back
	// under target; refusing, until a commit refuses nothing.
	nearFull, full, refusing bool
	// reserveHeld: the reserve file (see diskReserve) is on disk.
	reserveHeld bool

	// Linking cases to their flagged readings (link.go): the readings
	// committed lately, those of the batch and of the transaction under
	// way, and the case events held for their reading.
	links      linkTable
	batchLinks []linkKey
	txLinks    []linkEntry
	held       []heldCase
	hold       *time.Timer
	holdOn     bool
}

func (w *writerState) init(s *Store) {
	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	w.hold = time.NewTimer(time.Hour)
	w.hold.Stop()
	w.maxSoft, w.maxTarget = sizeLimits(s.o.MaxSize)
	w.soft, w.target, w.limitBy = w.maxSoft, w.maxTarget, limitMaxSize
}

// add queues r and reports whether it must be committed at once.
func (s *Store) add(r request) bool {
	w := &s.w
	if r.flush != nil {
		w.flushes = append(w.flushes, r.flush)
		return true
	}
	if r.acks.seqs != nil {
		w.acks = append(w.acks, r.acks)
		w.ackSeqs += len(r.acks.seqs)
		return false
	}
	// Only flagged readings and case events take part in linking; the
	// normal reading pays for one comparison.
	if r.ev.Urgent || r.ev.Kind == event.KindCase {
		if handled, now := s.addLinked(r); handled {
			return now
		}
	}
	w.batch = append(w.batch, r)
	return isPriority(&r.ev)
}

func isPriority(ev *event.Event) bool { return ev.Urgent || ev.Kind != event.KindReading }

// run is the single writer goroutine: it batches appended events and
// commits them (group commit), and runs retention and compaction.
func (s *Store) run() {
	defer close(s.done)
	w := &s.w
	maint := time.NewTicker(s.o.MaintenanceInterval)
	defer maint.Stop()
	for {
		queue := s.queue
		if w.fault != nil && len(w.batch)+len(w.acks) >= s.o.QueueLen {
			// What a failing disk cannot take waits in the queue (Append
			// says ErrBusy) instead of growing the batch without bound.
			queue = nil
		}
		select {
		case r := <-queue:
			now := s.add(r)
			// Whatever else is already waiting rides in the same commit.
			for n := len(queue); n > 0; n-- {
				now = s.add(<-queue) || now
			}
			switch {
			case w.fault != nil:
				// The retry timer runs; trying sooner would only hammer
				// the failing disk.
			case now || len(w.batch) >= s.o.CommitEvents || len(w.acks) >= s.o.CommitEvents || w.ackSeqs >= ackCommitSeqs:
				s.commitBatch()
			case !w.timerOn:
				w.timer.Reset(s.o.CommitInterval)
				w.timerOn = true
			}
		case <-w.timer.C:
			w.timerOn = false
			s.commitBatch()
		case <-w.hold.C:
			w.holdOn = false
			if s.releaseExpired() {
				s.commitBatch()
			}
			s.armHold()
		case <-maint.C:
			s.commitBatch() // retention counts committed acknowledgements
			s.maintain()
		case <-s.stop:
			for n := len(s.queue); n > 0; n-- {
				s.add(<-s.queue)
			}
			s.releaseAll("close")
			s.commitBatch()
			if w.fault != nil {
				s.log.Error().Err(w.fault).Int("events", len(w.batch)).Msg("closing with events the disk did not take")
			}
			return
		}
	}
}

// ackCommitSeqs is how many acknowledged seqs make the writer commit
// without waiting for CommitInterval. bbolt holds the keys a transaction
// adds to a leaf in one growing slice until the commit splits it: a drain
// that acked its 256 messages (51,200 seqs) in one commit spent a fifth
// of its CPU growing and searching that slice. 4,096 is about 20 messages
// of a drain, one commit (two fsyncs) per 4,096 events.
const ackCommitSeqs = 4096

// Backoff between the tries of a failing commit.
const (
	minBackoff = 20 * time.Millisecond
	maxBackoff = 2 * time.Second
)

func (s *Store) commitBatch() {
	w := &s.w
	if w.timerOn {
		w.timer.Stop()
		w.timerOn = false
	}
	if len(w.flushes) > 0 && s.releaseAll("flush") {
		s.armHold()
	}
	s.ackMu.Lock()
	w.acks = append(w.acks, s.lateAcks...)
	s.lateAcks = nil
	s.ackMu.Unlock()
	var err error
	// A second round stores the health events the first one raised (near
	// full, recovery): they are urgent, and a Flush covers them too.
	for range 2 {
		w.batch = append(w.batch, w.raised...)
		clear(w.raised)
		w.raised = w.raised[:0]
		if len(w.batch) == 0 && len(w.acks) == 0 {
			break
		}
		if err = s.commit(w.batch); err != nil {
			break
		}
		clear(w.batch)
		w.batch, w.acks, w.ackSeqs = w.batch[:0], w.acks[:0], 0
		clear(w.batchLinks)
		w.batchLinks = w.batchLinks[:0]
		if len(w.raised) == 0 {
			break
		}
	}
	for _, f := range w.flushes {
		f <- w.failed
	}
	if len(w.flushes) > 0 {
		w.failed = nil
	}
	w.flushes = w.flushes[:0]
	switch {
	case err != nil:
		// Nothing is dropped: the batch, its waiters and the
		// acknowledgements stay for the next try.
		w.timer.Reset(w.backoff)
		w.timerOn = true
		w.backoff = min(2*w.backoff, maxBackoff)
	case len(w.raised) > 0:
		w.timer.Reset(0)
		w.timerOn = true
	}
}

// commit makes reqs durable in one transaction and tells the waiters. When
// it fails, it tells nobody and the caller keeps reqs for another try.
func (s *Store) commit(reqs []request) error {
	w := &s.w
	full := !s.makeRoomFor(reqs)
	refused, err := s.write(reqs, full)
	if errors.Is(err, syscall.ENOSPC) && s.releaseReserve() {
		// Another program took the free space: the reserve lets the
		// purges that make room, and then this commit, go through.
		full = !s.makeRoomFor(reqs)
		refused, err = s.write(reqs, full)
	}
	if errors.Is(err, berrors.ErrMaxSizeReached) {
		// The hard guard of bbolt: free down to the target and retry once,
		// keeping only urgent events if that is all that fits.
		s.log.Warn().Int("events", len(reqs)).Msg("file reached its maximum size; freeing space")
		s.makeRoom(w.target / 2)
		refused, err = s.write(reqs, true)
	}
	if err != nil {
		err = fmt.Errorf("storage: %s: commit %d events, %d acknowledgement batches: %w", s.path, len(reqs), len(w.acks), err)
		if w.failed == nil {
			w.failed = err
		}
		w.faults++
		if w.fault == nil {
			w.fault, w.backoff = err, minBackoff
			s.log.Error().Err(err).Msg("commit failed; keeping the events and trying again")
			// Stamped now, stored with the batch once the disk takes
			// writes again: the district learns of the fault and its time.
			h := event.Health{Component: "storage", State: event.HealthDown, Reason: "write error: " + err.Error(), Count: uint64(len(reqs))}
			s.o.OnHealth(h)
			w.batch = append(w.batch, s.healthRequest(h))
		}
		return err
	}
	for _, b := range w.acks {
		s.acked(b.seqs)
	}
	if w.fault != nil {
		s.log.Info().Int("failed_tries", w.faults).Msg("commits work again")
		s.raise(event.HealthUp, fmt.Sprintf("writes work again after %d failed commits", w.faults), uint64(w.faults))
		w.fault, w.faults = nil, 0
	}
	if len(refused) > 0 {
		s.refused(reqs, refused)
	} else if !full {
		w.refusing = false
	}
	for i := range reqs {
		if reqs[i].done != nil {
			reqs[i].done <- result{seq: reqs[i].ev.Seq}
		}
	}
	return nil
}

// refused tells the waiters of refused events and reports the refusal;
// their gap event is stored already.
func (s *Store) refused(reqs []request, refused []refusal) {
	w := &s.w
	for _, r := range refused {
		err := fmt.Errorf("%w: seq %d: %s", ErrRefused, reqs[r.idx].ev.Seq, r.reason)
		if w.failed == nil {
			w.failed = err
		}
		if d := reqs[r.idx].done; d != nil {
			d <- result{seq: reqs[r.idx].ev.Seq, err: err}
			reqs[r.idx].done = nil
		}
	}
	s.log.Debug().Int("events", len(refused)).Str("reason", refused[0].reason).Msg("events refused; a gap records them")
	if !w.refusing { // once per episode, not at every commit while full
		w.refusing = true
		s.log.Warn().Int("events", len(refused)).Str("reason", refused[0].reason).Msg("refusing events; gaps record them")
		s.health(event.HealthWarning, fmt.Sprintf("refused %d event(s) (%s); a gap records them", len(refused), refused[0].reason), uint64(len(refused)))
	}
}

// Reasons a gap gives for events the store refused instead of storing.
const (
	refusedFull     = "store_full" // only urgent events left: normal readings are refused
	refusedTooLarge = "too_large"  // one event bigger than the store could ever hold
)

// refusal is an event of a batch that was not stored: its seq is used up
// and a gap event of the same transaction records it.
type refusal struct {
	idx    int
	reason string
}

// refusalOf says why ev is refused, "" when it is stored. full: normal
// readings do not fit (see makeRoomFor).
func (s *Store) refusalOf(ev *event.Event, full bool) string {
	switch {
	case int64(len(ev.Body)) > s.o.MaxSize/16:
		return refusedTooLarge
	case full && !isPriority(ev):
		return refusedFull
	}
	return ""
}

// write commits reqs and the pending acknowledgements in one transaction.
// Refused events (see refusalOf) are returned; each takes a seq, and one
// urgent gap event records them.
func (s *Store) write(reqs []request, full bool) ([]refusal, error) {
	var last uint64
	var nP, nB int64
	var refused []refusal
	err := s.update(func(tx *bolt.Tx) error {
		nP, nB, refused = 0, 0, refused[:0]
		clear(s.w.txLinks)
		s.w.txLinks = s.w.txLinks[:0]
		if len(s.w.acks) > 0 {
			if err := s.applyAcks(tx, s.w.acks); err != nil {
				return err
			}
		}
		for i := range reqs {
			if why := s.refusalOf(&reqs[i].ev, full); why != "" {
				seq, err := s.nextSeq(tx)
				if err != nil {
					return err
				}
				reqs[i].ev.Seq = seq
				refused = append(refused, refusal{i, why})
				continue
			}
			seq, err := s.putEvent(tx, &reqs[i].ev)
			if err != nil {
				return err
			}
			if reqs[i].ev.Urgent {
				nP++
			} else {
				nB++
			}
			last = seq
		}
		if len(refused) > 0 {
			// One gap per commit, so gap ranges never overlap; it names
			// the store being full if that refused any.
			gap := event.Gap{FromSeq: reqs[refused[0].idx].ev.Seq, ToSeq: reqs[refused[len(refused)-1].idx].ev.Seq,
				Count: uint64(len(refused)), Reason: refusedTooLarge}
			for _, r := range refused {
				if r.reason == refusedFull {
					gap.Reason = refusedFull
				}
			}
			ev := event.Event{Kind: event.KindGap, Urgent: true, Body: mustJSON(gap)}
			s.o.Stamp(&ev)
			seq, err := s.putEvent(tx, &ev)
			if err != nil {
				return err
			}
			nP++
			last = seq
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range s.w.txLinks {
		s.w.links.put(l.key, l.seq)
	}
	if nP+nB > 0 {
		s.committed(last, nP, nB)
	}
	return refused, nil
}

// nextSeq uses up the next sequence number, reserved, inside tx.
func (s *Store) nextSeq(tx *bolt.Tx) (uint64, error) {
	seq, err := tx.Bucket(bucketEvents).NextSequence()
	if err != nil {
		return 0, err
	}
	return seq, s.seqs.ensure(seq)
}

// committed publishes a commit: durable seq, counters, Notify.
func (s *Store) committed(last uint64, nP, nB int64) {
	s.durable.Store(last)
	s.nPriority.Add(nP)
	s.nBulk.Add(nB)
	if nP+nB > 0 {
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// appendFill packs pages full: keys only ever grow, so bbolt's default of
// half-full pages after a split would just double the file.
const appendFill = 0.95

// putEvent stores ev with the next sequence, queues it in the outbox and
// updates the projections, all inside tx.
func (s *Store) putEvent(tx *bolt.Tx, ev *event.Event) (uint64, error) {
	events := tx.Bucket(bucketEvents)
	events.FillPercent = appendFill
	seq, err := s.nextSeq(tx)
	if err != nil {
		return 0, err
	}
	ev.Seq = seq
	ev.Urgent = isPriority(ev)
	q := Bulk
	if ev.Urgent {
		q = Priority
	}
	switch {
	case ev.Kind == event.KindCase:
		linked := *ev
		s.linkCase(tx, &linked)
		ev = &linked
	case ev.Urgent && ev.Kind == event.KindReading:
		s.noteReading(ev)
	}
	key, val := keyAndRecord(seq, ev)
	if err := events.Put(key, val); err != nil {
		return 0, err
	}
	outbox := tx.Bucket(outboxBucket(q))
	outbox.FillPercent = appendFill
	if err := outbox.Put(key, outboxValue(ev.Kind)); err != nil {
		return 0, err
	}
	if err := s.project(tx, ev); err != nil {
		return 0, err
	}
	return seq, tx.Bucket(bucketMeta).Put(metaLastSeq, key)
}

// project keeps the latest state of cases, daily reports and calibrations.
// A payload that does not decode is stored as an event but not projected.
func (s *Store) project(tx *bolt.Tx, ev *event.Event) error {
	var bucket, key []byte
	stored := *ev
	switch ev.Kind {
	case event.KindCase:
		var c event.Case
		if err := json.Unmarshal(ev.Body, &c); err != nil || c.Ticket == "" || c.Day == "" {
			s.log.Warn().Uint64("seq", ev.Seq).Msg("case event without day/ticket; not projected")
			return nil
		}
		bucket, key = bucketCases, []byte(c.Day+"/"+c.Ticket)
		// A transition may carry only what changed: lay it over the
		// previous state, so the projection is the whole case.
		if prev := tx.Bucket(bucket).Get(key); prev != nil {
			if pev, err := decodeProjection(prev); err == nil {
				var pc event.Case
				if json.Unmarshal(pev.Body, &pc) == nil {
					stored.Body = mustJSON(mergeCase(pc, c))
				}
			}
		}
	case event.KindDaily:
		var d event.Daily
		if err := json.Unmarshal(ev.Body, &d); err != nil || d.Day == "" {
			s.log.Warn().Uint64("seq", ev.Seq).Msg("daily event without day; not projected")
			return nil
		}
		bucket, key = bucketDaily, []byte(d.Day)
	case event.KindCalibration:
		var c event.Calibration
		if err := json.Unmarshal(ev.Body, &c); err != nil || c.Device == "" {
			s.log.Warn().Uint64("seq", ev.Seq).Msg("calibration event without device; not projected")
			return nil
		}
		bucket, key = bucketCalibration, []byte(c.Device)
	default:
		return nil
	}
	return tx.Bucket(bucket).Put(key, encodeEvent(seqKey(ev.Seq), &stored))
}

// mergeCase lays transition next over the case state prev: fields next
// leaves empty keep their earlier value (a case never un-learns its lane or
// flag temperature).
func mergeCase(prev, next event.Case) event.Case {
	keep := func(dst *string, old string) {
		if *dst == "" {
			*dst = old
		}
	}
	keep(&next.Lane, prev.Lane)
	keep(&next.Role, prev.Role)
	keep(&next.From, prev.From)
	keep(&next.State, prev.State)
	keep(&next.Disposition, prev.Disposition)
	keep(&next.Outcome, prev.Outcome)
	keep(&next.Actor, prev.Actor)
	keep(&next.PersonID, prev.PersonID)
	if next.ReadingSeq == 0 {
		next.ReadingSeq = prev.ReadingSeq
	}
	if next.FlagC == nil {
		next.FlagC = prev.FlagC
	}
	if next.RecheckC == nil {
		next.RecheckC = prev.RecheckC
	}
	if next.ContactHistory == nil {
		next.ContactHistory = prev.ContactHistory
	}
	if next.OpenedAt == 0 {
		next.OpenedAt = prev.OpenedAt
	}
	return next
}

// decodeProjection reads a projection value: seq, then a record.
func decodeProjection(v []byte) (event.Event, error) {
	if len(v) < 8 {
		return event.Event{}, fmt.Errorf("%w: short projection", ErrCorruptRecord)
	}
	return decodeEvent(beUint64(v), v[8:])
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("storage: marshal %T: %v", v, err)) // only our own payload types
	}
	return b
}
