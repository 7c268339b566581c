package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
)

// Events deleted per purge transaction: big enough to be cheap, small
// enough to keep the transaction's memory bounded.
const purgeChunk = 2048

// chunkFor sizes a purge transaction to the bytes still to free, assuming
// at least 512 bytes per event, so a small store does not lose more than
// needed; goal < 0 (no goal) purges full chunks.
func (s *Store) chunkFor(goal int64) int {
	if goal < 0 {
		return purgeChunk
	}
	return int(min(max((s.usage()-goal)/512+1, 16), purgeChunk))
}

// sizeLimits derives the soft limit and the purge target from maxSize. bbolt
// grows a small file to the next power of two and a big one in steps of
// allocSize, so the largest file it will actually create under
// maxSize can be well below it; the soft limit stays under that.
func sizeLimits(maxSize int64) (soft, target int64) {
	const alloc = allocSize
	hard := int64(32 << 10)
	for hard*2 <= min(maxSize, alloc) {
		hard *= 2
	}
	hard = max(hard, maxSize-alloc)
	soft = min(maxSize*7/8, hard-hard/16)
	return soft, soft - maxSize/8
}

// usage is the number of bytes in pages that hold data (not free).
func (s *Store) usage() int64 {
	var used int64
	_ = s.view(func(tx *bolt.Tx) error {
		st := tx.DB().Stats()
		used = tx.Size() - int64(st.FreePageN+st.PendingPageN)*int64(tx.DB().Info().PageSize)
		return nil
	})
	return used
}

// diskReserve is the room on the filesystem the store keeps for
// acknowledgements, purges and the gap events they write: bbolt copies
// every page it changes, so even a delete needs free pages. A purge
// transaction touches at most about purgeChunk/15 leaf pages of events
// (≈ 550 KiB at 4 KiB pages), one of a group commit's acks less. The
// reserve is a file of its own ("<name>.reserve", allocated with
// fallocate), so another program filling the disk cannot take it; a commit
// that meets ENOSPC all the same releases it (releaseReserve) and goes
// through. Where no reserve file can be held, the store leaves as much free
// space instead.
const diskReserve = 1 << 20

// limits sets the soft limit and purge target of this commit: those of
// MaxSize, or lower when the filesystem has less to give (another program,
// logs, a small card): the bytes the file holds plus the free ones, less a
// margin (a quarter of diskReserve while the reserve file is held, else all
// of it). Its reason names the limit in gaps and health events.
func (s *Store) limits() {
	w := &s.w
	w.soft, w.target, w.limitBy = w.maxSoft, w.maxTarget, limitMaxSize
	allocated, free, err := diskRoom(s.path)
	if err != nil {
		return // MaxSize still holds
	}
	margin := int64(diskReserve)
	if w.reserveHeld {
		margin = diskReserve / 4
	}
	if room := allocated + free - margin; room < w.soft {
		w.soft, w.target, w.limitBy = max(room, 0), max(room-room/8, 0), limitDisk
	}
}

// freeingUpdate runs a transaction that frees space. On a full disk it
// releases the reserve and tries again: bbolt writes new pages even to
// delete.
func (s *Store) freeingUpdate(fn func(*bolt.Tx) error) error {
	err := s.update(fn)
	if errors.Is(err, syscall.ENOSPC) && s.releaseReserve() {
		err = s.update(fn)
	}
	return err
}

func (s *Store) reservePath() string { return s.path + ".reserve" }

// holdReserve allocates the reserve file, or keeps the one a previous run
// left: at Open, and in maintain after it was released. Writer goroutine
// only (or Open, before it starts).
func (s *Store) holdReserve() {
	if err := allocate(s.reservePath(), diskReserve); err != nil {
		s.log.Debug().Err(err).Msg("no reserve file; keeping the space free instead")
		return
	}
	s.w.reserveHeld = true
}

// releaseReserve gives the reserve file's space back to the filesystem, for
// a commit that met a full disk; it reports whether there was one to give.
func (s *Store) releaseReserve() bool {
	if !s.w.reserveHeld {
		return false
	}
	if err := os.Remove(s.reservePath()); err != nil {
		s.log.Error().Err(err).Msg("releasing the reserve file")
		return false
	}
	s.w.reserveHeld = false
	s.log.Warn().Msg("the filesystem is full: released the store's reserve so that acknowledgements and purges commit")
	return true
}

// Reasons of gaps for readings purged before upload.
const (
	limitMaxSize = "max_size"
	limitDisk    = "disk_full"
)

// makeRoomFor frees space before a commit that would pass the soft limit
// and reports whether normal readings still fit. Urgent events go in when
// they do not: the soft limit leaves them room below the hard one.
func (s *Store) makeRoomFor(reqs []request) bool {
	s.limits()
	var need int64
	for i := range reqs {
		if s.refusalOf(&reqs[i].ev, false) != "" {
			continue // never stored, so it needs no room
		}
		// Key, header, B-tree and outbox overhead: about 2× the record.
		need += 2 * int64(len(reqs[i].ev.Body)+64)
	}
	used := s.usage()
	if used+need <= s.w.soft {
		if used < s.w.target {
			s.w.nearFull, s.w.full = false, false
		}
		return true
	}
	// An oversized batch must not empty the store: free at most down to
	// half the target and let bbolt's hard limit refuse the rest.
	s.makeRoom(max(s.w.target-need, s.w.target/2))
	return s.usage()+need <= s.w.soft
}

// makeRoom frees space until usage is at most goal, in the documented order.
func (s *Store) makeRoom(goal int64) {
	if s.purgeAcked(s.retentionCutoff(), goal) {
		return
	}
	if !s.w.nearFull {
		s.w.nearFull = true
		reason := "near full"
		if s.w.limitBy == limitDisk {
			reason = "near full: the filesystem has little space left"
		}
		s.log.Warn().Int64("used", s.usage()).Int64("limit", s.w.soft).Str("by", s.w.limitBy).Msg("store near its size limit; purging uploaded events")
		s.raise(event.HealthWarning, reason, uint64(s.usage()))
	}
	if s.purgeAcked(math.MaxInt64, goal) || s.purgeDelivered(goal) {
		return
	}
	s.purgeBulk(goal)
}

// purgeDelivered deletes events the broker acknowledged whose
// acknowledgement has not been committed yet (it rides in the next commit),
// until usage ≤ goal. They were uploaded, so no gap records them; OutboxLen
// left them out at Ack already. It reports whether goal was reached.
func (s *Store) purgeDelivered(goal int64) bool {
	s.ackMu.Lock()
	seqs := make([]uint64, 0, len(s.acking))
	for seq := range s.acking {
		seqs = append(seqs, seq)
	}
	s.ackMu.Unlock()
	slices.Sort(seqs)
	for len(seqs) > 0 {
		if s.usage() <= goal {
			return true
		}
		chunk := seqs[:min(len(seqs), s.chunkFor(goal))]
		seqs = seqs[len(chunk):]
		err := s.freeingUpdate(func(tx *bolt.Tx) error {
			defer s.readMapped(tx, len(chunk))
			keys := make([][]byte, len(chunk))
			for i, seq := range chunk {
				keys[i] = seqKey(seq)
			}
			return deleteKeys(keys, tx.Bucket(bucketEvents), tx.Bucket(bucketPriority), tx.Bucket(bucketBulk))
		})
		if err != nil {
			s.log.Error().Err(err).Msg("purging delivered events")
			return false
		}
		// Gone from the outbox: the pending acknowledgement finds nothing
		// to move, and a failed one must not count them back.
		s.forgetAcking(chunk)
		s.log.Debug().Int("events", len(chunk)).Msg("purged delivered events")
	}
	return s.usage() <= goal
}

// retentionCutoff is the ack time (unix ns) before which acknowledged
// events have passed retention.
func (s *Store) retentionCutoff() int64 { return s.o.Now().Add(-s.o.Retention).UnixNano() }

// purgeAcked deletes acknowledged events, oldest sequence first: only those
// acked before cutoff (unix ns; math.MaxInt64 for all), until usage ≤ goal
// when goal ≥ 0. Acks arrive roughly in sequence order, so the scan stops at the
// first event acked after cutoff; a later one waits for it. It reports
// whether goal was reached.
func (s *Store) purgeAcked(cutoff, goal int64) bool {
	for {
		if goal >= 0 && s.usage() <= goal {
			return true
		}
		var n int
		chunk := s.chunkFor(goal)
		err := s.freeingUpdate(func(tx *bolt.Tx) error {
			acked, events := tx.Bucket(bucketAcked), tx.Bucket(bucketEvents)
			var keys [][]byte
			c := acked.Cursor()
			for k, v := c.First(); k != nil && len(keys) < chunk; k, v = c.Next() {
				if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) >= cutoff {
					break
				}
				keys = append(keys, k)
			}
			n = len(keys)
			defer s.readMapped(tx, n) // the purged records were read to delete them
			return deleteKeys(keys, events, acked)
		})
		if err != nil {
			s.log.Error().Err(err).Msg("purging acknowledged events")
			return false
		}
		if n == 0 {
			return goal >= 0 && s.usage() <= goal
		}
		s.log.Debug().Int("events", n).Bool("expired_only", cutoff != math.MaxInt64).Msg("purged acknowledged events")
	}
}

// purgeBulk deletes the oldest un-uploaded normal readings until usage ≤
// goal, recording each deleted range as an urgent Gap event in the same
// transaction, so the district learns exactly what it will never receive.
func (s *Store) purgeBulk(goal int64) {
	for s.usage() > goal {
		var gap event.Gap
		var gapSeq uint64
		var purged []uint64
		chunk := s.chunkFor(goal)
		err := s.freeingUpdate(func(tx *bolt.Tx) error {
			bulk, events := tx.Bucket(bucketBulk), tx.Bucket(bucketEvents)
			keys := s.oldestUndelivered(bulk, chunk)
			if len(keys) == 0 {
				return nil
			}
			defer s.readMapped(tx, len(keys)) // the purged records were read to delete them
			purged = purged[:0]
			for _, k := range keys {
				purged = append(purged, beUint64(k))
			}
			if err := deleteKeys(keys, events, bulk); err != nil {
				return err
			}
			gap = event.Gap{
				FromSeq: beUint64(keys[0]),
				ToSeq:   beUint64(keys[len(keys)-1]),
				Count:   uint64(len(keys)),
				Reason:  s.w.limitBy,
			}
			ev := event.Event{Kind: event.KindGap, Urgent: true, Body: mustJSON(gap)}
			s.o.Stamp(&ev)
			var err error
			gapSeq, err = s.putEvent(tx, &ev)
			return err
		})
		if err != nil {
			s.log.Error().Err(err).Msg("purging un-uploaded readings")
			if s.w.fault == nil { // a failing disk is reported once, as a write error
				s.health(event.HealthDown, "cannot free space: "+err.Error(), 0)
			}
			return
		}
		if gap.Count == 0 {
			// Reported once per episode: the health event a report may
			// cause must not feed the very condition it reports.
			if !s.w.full {
				s.w.full = true
				s.log.Error().Int64("used", s.usage()).Msg("store full of urgent events; nothing left to purge")
				s.raise(event.HealthDown, "full: only urgent events left", 0)
			}
			return
		}
		// An Ack that marked one of these after they were picked has
		// taken it out of the count already.
		raced := s.forgetAcking(purged)
		s.committed(gapSeq, 1, -int64(gap.Count)+int64(raced))
		s.log.Warn().Uint64("from_seq", gap.FromSeq).Uint64("to_seq", gap.ToSeq).Uint64("count", gap.Count).
			Msg("purged readings that were never uploaded")
		s.health(event.HealthWarning, fmt.Sprintf("gap: seq %d-%d purged before upload", gap.FromSeq, gap.ToSeq), gap.Count)
	}
}

// oldestUndelivered returns the keys of up to chunk of the oldest bulk
// readings, stopping before the first one being acknowledged.
func (s *Store) oldestUndelivered(bulk *bolt.Bucket, chunk int) [][]byte {
	var keys [][]byte
	c := bulk.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < chunk; k, _ = c.Next() {
		if s.isAcking(beUint64(k)) {
			// Delivered, so not a gap (see purgeDelivered); a gap
			// stops before it, so no reading the district received
			// lies inside a purged range.
			if len(keys) > 0 {
				break
			}
			continue
		}
		keys = append(keys, k)
	}
	return keys
}

// forgetAcking drops the purged sequences from the acknowledgements in
// flight and returns how many there were.
func (s *Store) forgetAcking(purged []uint64) (raced int) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	for _, seq := range purged {
		if _, ok := s.acking[seq]; ok {
			delete(s.acking, seq)
			raced++
		}
	}
	return raced
}

// deleteKeys deletes each key from every bucket.
func deleteKeys(keys [][]byte, buckets ...*bolt.Bucket) error {
	for _, k := range keys {
		for _, b := range buckets {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// maintain runs in the writer goroutine: the reserve, retention, then
// compaction.
func (s *Store) maintain() {
	if !s.w.reserveHeld {
		// Space may have come back (another program's files went).
		if _, free, err := diskRoom(s.path); err == nil && free >= 2*diskReserve {
			s.holdReserve()
		}
	}
	s.purgeAcked(s.retentionCutoff(), -1)
	size := s.Size()
	if size >= s.o.MaxSize/4 && s.usage() < size/2 && s.roomForCopy() {
		if err := s.compact(); err != nil {
			s.log.Error().Err(err).Msg("compaction failed")
			s.raise(event.HealthWarning, "compaction failed: "+err.Error(), 0)
		}
	}
}

// roomForCopy reports whether the filesystem can take a compacted copy of
// the file and still keep diskReserve; without it compaction would only fill
// the disk and fail.
func (s *Store) roomForCopy() bool {
	_, free, err := diskRoom(s.path)
	return err != nil || free >= s.usage()+diskReserve
}

// compact copies the live data into a new file and renames it over the old
// one, because bbolt never shrinks a file. Readers and Ack wait meanwhile;
// Append does not (the writer's queue absorbs it).
func (s *Store) compact() error {
	before := s.Size()
	tmp := s.path + ".compact"
	_ = os.Remove(tmp)
	dst, err := s.openBolt(tmp)
	if err != nil {
		return fmt.Errorf("storage: compact %s: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err = bolt.Compact(dst, s.db, 4<<20)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: compact %s: %w", s.path, err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage: compact %s: close: %w", s.path, err)
	}
	s.db = nil
	if err = os.Rename(tmp, s.path); err == nil {
		err = SyncDir(filepath.Dir(s.path))
	}
	// Reopen whichever file is now in place; the old one is intact if the
	// rename failed.
	db, oerr := s.openBolt(s.path)
	if oerr != nil {
		s.health(event.HealthDown, "reopen after compaction failed: "+oerr.Error(), 0)
		return fmt.Errorf("storage: compact %s: reopen: %w", s.path, oerr)
	}
	s.db = db
	// Compact read every live record of the old file; the new one was just
	// written and is opened without a freelist, which walks it.
	_ = db.View(func(tx *bolt.Tx) error { releaseMapped(tx); return nil })
	if err != nil {
		return fmt.Errorf("storage: compact %s: %w", s.path, err)
	}
	s.log.Info().Int64("before", before).Int64("after", s.Size()).Msg("compacted")
	return nil
}
