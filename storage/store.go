package storage

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
)

// Opts configures a Store. The zero value of every field means its default.
type Opts struct {
	// CommitInterval bounds how long a normal reading waits to become
	// durable; default 200ms. Urgent events commit at once.
	CommitInterval time.Duration
	// CommitEvents commits early when this many events wait; default 256.
	CommitEvents int
	// MaxSize bounds the file in bytes; default 256 MiB (safe for the 32-bit
	// mmap of Raspberry Pi OS). See the package doc for the overflow policy.
	MaxSize int64
	// Retention keeps acknowledged events this long after their Ack, by the
	// store's clock; default 30 days.
	Retention time.Duration
	// Now is the store's clock; default time.Now.
	Now func() time.Time
	// Logger receives storage logs; the zero value logs nothing.
	Logger zerolog.Logger
	// OnHealth is told about quarantines, a store near its size limit, gaps,
	// refusals and write errors; default: nothing. The store keeps each of
	// these as a health event itself (a write error once the disk takes
	// writes again), or as the gap or quarantine event that records it, so
	// OnHealth must not store them again. It is called on the writer
	// goroutine (or inside Open), so it must not block: Append is fine,
	// AppendWait or Flush would wait for itself.
	OnHealth func(event.Health)
	// Stamp fills the time fields (BootID, Mono, Wall, ClockSynced) of the
	// events the store makes itself (gaps, quarantine health); default sets
	// Wall from Now.
	Stamp func(*event.Event)
	// BoxID is recorded in meta; see Store.BoxID.
	BoxID string
	// QueueLen is the capacity of the writer's queue; default 4096 (about
	// 17 minutes at gate rate). Append returns ErrBusy when it is full.
	QueueLen int
	// LockTimeout is how long Open waits for another process's file lock;
	// default 2s.
	LockTimeout time.Duration
	// CheckTimeout bounds the integrity check at Open, and the salvage after
	// a file was set aside. A check that takes longer, or cannot be started,
	// ends like a failed one: the file is set aside, never opened unchecked.
	// Default 20 s plus 1 s per MiB of the file (checkBudget).
	CheckTimeout time.Duration
	// MaintenanceInterval is how often retention and compaction run;
	// default 10 minutes.
	MaintenanceInterval time.Duration
	// ReadingWait bounds how long a case's opening transition waits at the
	// writer for the flagged reading that opened it, which another sink
	// appends in no fixed order, so that the case carries the reading's
	// seq (see link.go); default 500ms. It is the most an urgent case
	// event is delayed, and only when its reading is late or lost.
	ReadingWait time.Duration
	// CommitHook, when set, runs inside every write transaction just before
	// it commits, holding bbolt's writer lock. It is a test seam: benchmarks
	// delay it to stand in for a slow SD card's fsync. Default: nothing.
	CommitHook func()
}

func (o Opts) withDefaults() Opts {
	if o.CommitInterval <= 0 {
		o.CommitInterval = 200 * time.Millisecond
	}
	if o.CommitEvents <= 0 {
		o.CommitEvents = 256
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 256 << 20
	}
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnHealth == nil {
		o.OnHealth = func(event.Health) {}
	}
	if o.Stamp == nil {
		now := o.Now
		o.Stamp = func(ev *event.Event) { ev.Wall = now().UnixNano() }
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 4096
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.ReadingWait <= 0 {
		o.ReadingWait = 500 * time.Millisecond
	}
	if o.MaintenanceInterval <= 0 {
		o.MaintenanceInterval = 10 * time.Minute
	}
	return o
}

// Queue selects one of the two outbox queues.
type Queue uint8

const (
	// Priority holds urgent events: cases, health, gaps, flagged readings,
	// daily reports, calibrations. Never purged before upload.
	Priority Queue = iota
	// Bulk holds normal readings; the oldest may be purged (with a Gap event)
	// when the store is full.
	Bulk
)

func (q Queue) String() string {
	if q == Priority {
		return "priority"
	}
	return "bulk"
}

var (
	bucketEvents      = []byte("events")
	bucketPriority    = []byte("outbox/priority")
	bucketBulk        = []byte("outbox/bulk")
	bucketAcked       = []byte("acked")
	bucketCases       = []byte("cases")
	bucketDaily       = []byte("daily")
	bucketCalibration = []byte("calibration")
	bucketMeta        = []byte("meta")

	allBuckets = [][]byte{bucketEvents, bucketPriority, bucketBulk, bucketAcked,
		bucketCases, bucketDaily, bucketCalibration, bucketMeta}

	metaSchema  = []byte("schema")
	metaBoxID   = []byte("box_id")
	metaLastSeq = []byte("last_seq")
	metaKVPref  = "kv/"
)

func outboxBucket(q Queue) []byte {
	if q == Priority {
		return bucketPriority
	}
	return bucketBulk
}

// Store is the durable event store. All methods are safe for concurrent use.
type Store struct {
	path string
	// unreleased counts the records read since the pages they mapped were
	// last released (see readMapped).
	unreleased atomic.Int64
	o          Opts
	log        zerolog.Logger

	// mu guards db: every transaction holds it for reading; compaction, which
	// swaps the file, holds it for writing.
	mu sync.RWMutex
	db *bolt.DB

	// closeMu orders Append against Close so nothing is enqueued after the
	// writer stopped.
	closeMu sync.RWMutex
	closed  bool
	queue   chan request
	stop    chan struct{}
	done    chan struct{}

	durable   atomic.Uint64
	notify    chan struct{}
	nPriority atomic.Int64
	nBulk     atomic.Int64
	// ackHighWater is the latest ack time recorded (unix ns).
	ackHighWater atomic.Int64
	// acking holds seqs acknowledged but not yet committed (they ride in
	// the writer's next group commit) with the queue they leave; Pending
	// and OutboxLen leave them out already. ackMu is only ever taken inside
	// a read transaction or with none open, never held while one begins: a
	// commit waiting to remap the file blocks new readers, and Pending
	// takes ackMu inside its transaction.
	ackMu  sync.Mutex
	acking map[uint64]Queue
	// lateAcks holds ack batches that found the writer's queue full; the
	// writer's next commit takes them (ackMu guards it).
	lateAcks []ackBatch
	boxID    string

	// ready is closed when the opening in the background (Start) ended;
	// openErr is its error, nil when the file is open.
	ready   chan struct{}
	openErr error

	seqs *seqReserve // used by the writer goroutine only (and Open)
	w    writerState // owned by the writer goroutine
}

type request struct {
	ev    event.Event
	done  chan result // nil for Append
	flush chan error  // set for a Flush marker instead of an event
	acks  ackBatch    // set for acknowledgements instead of an event
}

// ackBatch is one Ack call: its seqs and when they were acknowledged.
type ackBatch struct {
	seqs []uint64
	at   int64 // unix ns, never earlier than a previous batch's
}

type result struct {
	seq uint64
	err error
}

// Append hands ev to the writer and returns at once. It never blocks: when
// the queue is full it returns ErrBusy. The event is durable once Durable()
// reaches its sequence; Notify tells when that may have happened.
func (s *Store) Append(ev event.Event) error {
	if !ev.Kind.Valid() {
		return fmt.Errorf("storage: append: invalid event kind %d", ev.Kind)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.queue <- request{ev: ev}:
		return nil
	default:
		return ErrBusy
	}
}

// AppendWait appends ev and returns its sequence once it is durable. If ctx
// ends first the event may still be stored; the caller just stops waiting.
func (s *Store) AppendWait(ctx context.Context, ev event.Event) (uint64, error) {
	if !ev.Kind.Valid() {
		return 0, fmt.Errorf("storage: append: invalid event kind %d", ev.Kind)
	}
	done := make(chan result, 1)
	if err := s.enqueue(ctx, request{ev: ev, done: done}); err != nil {
		return 0, err
	}
	select {
	case r := <-done:
		return r.seq, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Flush returns when everything appended before it is durable, or with the
// first write error since the previous Flush.
func (s *Store) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	if err := s.enqueue(ctx, request{flush: done}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) enqueue(ctx context.Context, r request) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Durable is the highest sequence whose transaction has committed.
func (s *Store) Durable() uint64 { return s.durable.Load() }

// Notify is signalled (capacity 1, never closed) after every commit that
// added outbox entries, so an uploader can sleep until there is work.
func (s *Store) Notify() <-chan struct{} { return s.notify }

// BoxID is the box id recorded in the file: Opts.BoxID, or the one stored by
// an earlier run when Opts.BoxID is empty.
// It waits for the file to be open (see Start); "" when it failed to open.
func (s *Store) BoxID() string {
	if s.opened() != nil {
		return ""
	}
	return s.boxID
}

// view runs fn in a read transaction once the file is open.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	if err := s.opened(); err != nil {
		return err
	}
	return s.viewOpen(fn)
}

// viewOpen is view for the opening itself, which the ready file waits for.
func (s *Store) viewOpen(fn func(*bolt.Tx) error) error {
	return s.withDB(func(db *bolt.DB) error { return db.View(fn) })
}

// update runs fn in a write transaction once the file is open.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	if err := s.opened(); err != nil {
		return err
	}
	return s.updateOpen(fn)
}

// updateOpen is update for the opening itself.
func (s *Store) updateOpen(fn func(*bolt.Tx) error) error {
	if hook := s.o.CommitHook; hook != nil {
		inner := fn
		fn = func(tx *bolt.Tx) error {
			if err := inner(tx); err != nil {
				return err
			}
			hook()
			return nil
		}
	}
	return s.withDB(func(db *bolt.DB) error { return db.Update(fn) })
}

// withDB runs fn on the database, which stays open meanwhile.
func (s *Store) withDB(fn func(*bolt.DB) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return fn(s.db)
}

// releaseEvery is how many records the store's reads take (about 1 MiB of
// pages) before the pages they mapped are released (see readMapped). Each
// release costs the next reads their page faults: after every 200-event
// backlog batch it made Pending 1.3–1.5× slower (BenchmarkPendingBacklog).
const releaseEvery = 4096

// readMapped counts n records read by tx and releases the mapped pages
// once releaseEvery have been read since the last release.
func (s *Store) readMapped(tx *bolt.Tx, n int) {
	if s.unreleased.Add(int64(n)) >= releaseEvery {
		s.unreleased.Store(0)
		releaseMapped(tx)
	}
}

// Pending returns up to limit un-acknowledged events of queue q with Seq >
// after, in sequence order. A record that cannot be decoded is logged and
// skipped. The events are copies: see VisitPending for the read that copies
// nothing.
func (s *Store) Pending(q Queue, after uint64, limit int) ([]event.Event, error) {
	var out []event.Event
	err := s.VisitPending(q, after, limit, func(ev *event.Event) error {
		c := *ev
		c.Body = bytes.Clone(ev.Body)
		out = append(out, c)
		return nil
	})
	return out, err
}

// VisitPending calls fn for up to limit un-acknowledged events of queue q
// with Seq > after, in sequence order, inside one read transaction. A
// record that cannot be decoded is logged and skipped.
//
// ev and its Body are lent: Body aliases the file's mapped pages, which
// are unmapped or reused once the transaction ends, so fn must copy what
// it keeps and never retain ev or Body after it returns. This spares the
// uploader a copy of every body it sends. fn runs inside the transaction:
// it must not call the store (a commit waiting to remap the file would
// deadlock with it) and should be quick. An error from fn ends the visit
// and is returned as it is.
func (s *Store) VisitPending(q Queue, after uint64, limit int, fn func(ev *event.Event) error) error {
	return s.view(func(tx *bolt.Tx) error {
		n := 0
		defer func() { s.readMapped(tx, n) }()
		// The outbox keys are a subset of the event keys, in the same
		// order and mostly consecutive: a second cursor stepping along the
		// events finds each record with one step instead of a search from
		// the root.
		ec := tx.Bucket(bucketEvents).Cursor()
		var ek, ev []byte
		var lent event.Event
		c := tx.Bucket(outboxBucket(q)).Cursor()
		for k, _ := c.Seek(seqKey(after + 1)); k != nil && n < limit; k, _ = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			if s.isAcking(seq) {
				continue // delivered; its removal rides in the next commit
			}
			if ek != nil {
				ek, ev = ec.Next()
			}
			if !bytes.Equal(ek, k) {
				ek, ev = ec.Seek(k)
			}
			var h recordHeader
			var err error
			if !bytes.Equal(ek, k) {
				err = fmt.Errorf("seq %d: %w: no event record", seq, ErrCorruptRecord)
			} else if h, err = parseRecord(ev); err != nil {
				err = fmt.Errorf("seq %d: %w", seq, err)
			}
			if err != nil {
				// One damaged record must not stop the upload of the rest;
				// it stays in the outbox (and in OutboxLen) for inspection.
				s.log.Error().Err(err).Stringer("queue", q).Msg("skipping undecodable outbox event")
				continue
			}
			h.lend(&lent, seq)
			n++
			if err := fn(&lent); err != nil {
				return err
			}
		}
		return nil
	})
}

// Ack removes seqs from the outbox once the district acknowledged them. The
// events stay until retention purges them. Unknown or already acknowledged
// seqs are ignored, so Ack is idempotent.
//
// The removal rides in the writer's next group commit (within
// CommitInterval, or the next commit when the writer's queue is full), so a drain of many messages costs a few commits, not one
// per message; Pending and OutboxLen leave the seqs out at once.
// A power cut before that commit only means the district gets them again,
// which at-least-once delivery allows (consumers drop duplicates by id).
func (s *Store) Ack(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.markAcking(seqs); err != nil {
		return err
	}
	batch := ackBatch{seqs: seqs, at: s.ackTime()}
	select {
	case s.queue <- request{acks: batch}:
	default:
		// The writer is swamped (a slow card): its next commit takes the
		// batch from here. Committing it in this goroutine could fail on
		// its own, and waiting would stall the uplink.
		s.ackMu.Lock()
		s.lateAcks = append(s.lateAcks, batch)
		s.ackMu.Unlock()
	}
	return nil
}

// ackTime is the time an acknowledgement is recorded with; retention
// counts from it. Ack times never go backwards, so a box that boots at 1970
// and syncs later neither purges early nor keeps data forever.
func (s *Store) ackTime() int64 {
	now := s.o.Now().UnixNano()
	for {
		hw := s.ackHighWater.Load()
		if now <= hw {
			return hw
		}
		if s.ackHighWater.CompareAndSwap(hw, now) {
			return now
		}
	}
}

// applyAcks moves the seqs of a commit's ack batches from the outbox to
// the acked bucket inside tx, each with its batch's ack time (markAcking
// already counted them out). The seqs go in sequence order: a drain
// acknowledges whole leaves from the front of a queue, and bbolt deletes a
// key by shifting the rest of its leaf left, so they are deleted from the
// highest down (nothing left to shift in a leaf emptied from its end) and
// added to the acked bucket from the lowest up (each an append at its end).
func (s *Store) applyAcks(tx *bolt.Tx, batches []ackBatch) error {
	type ack struct {
		seq uint64
		at  int64
	}
	var acks []ack
	for _, b := range batches {
		for _, seq := range b.seqs {
			acks = append(acks, ack{seq, b.at})
		}
	}
	slices.SortFunc(acks, func(a, b ack) int { return cmp.Compare(a.seq, b.seq) })
	// A cursor's Seek and Delete find the key once; Get then Delete
	// would search for it twice.
	queues := [...]*bolt.Cursor{tx.Bucket(bucketBulk).Cursor(), tx.Bucket(bucketPriority).Cursor()}
	acked := tx.Bucket(bucketAcked)
	acked.FillPercent = appendFill
	// The found acks are packed at the end of acks, in order: w never
	// passes i.
	w := len(acks)
	var key [8]byte
	prev := uint64(0) // seqs start at 1
	for i := len(acks) - 1; i >= 0; i-- {
		if acks[i].seq == prev {
			continue // acknowledged twice in this commit
		}
		prev = acks[i].seq
		binary.BigEndian.PutUint64(key[:], acks[i].seq)
		for _, c := range queues {
			if k, _ := c.Seek(key[:]); bytes.Equal(k, key[:]) {
				if err := c.Delete(); err != nil {
					return err
				}
				w--
				acks[w] = acks[i]
				break
			}
		}
		// Neither: unknown, or acknowledged by an earlier commit.
	}
	for _, a := range acks[w:] {
		if err := acked.Put(seqKey(a.seq), binary.BigEndian.AppendUint64(nil, uint64(a.at))); err != nil {
			return err
		}
	}
	return nil
}

// markAcking takes seqs out of Pending and OutboxLen at once: each seq
// still in an outbox queue, and not already being acknowledged, is noted
// with its queue and leaves that queue's count.
func (s *Store) markAcking(seqs []uint64) error {
	return s.view(func(tx *bolt.Tx) error {
		s.ackMu.Lock() // inside the transaction: see ackMu
		defer s.ackMu.Unlock()
		queues := [...]*bolt.Bucket{Priority: tx.Bucket(bucketPriority), Bulk: tx.Bucket(bucketBulk)}
		counts := [...]*atomic.Int64{Priority: &s.nPriority, Bulk: &s.nBulk}
		// The queue of the previous seq is looked in first: an ack batch
		// is one message, nearly always of a single queue.
		first := Bulk
		var k [8]byte
		for _, seq := range seqs {
			if _, dup := s.acking[seq]; dup {
				continue
			}
			binary.BigEndian.PutUint64(k[:], seq)
			for _, q := range [...]Queue{first, 1 - first} {
				if queues[q].Get(k[:]) != nil {
					s.acking[seq] = q
					counts[q].Add(-1)
					first = q
					break
				}
			}
		}
		return nil
	})
}

// acked forgets seqs whose acknowledgement was committed.
func (s *Store) acked(seqs []uint64) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	for _, seq := range seqs {
		delete(s.acking, seq)
	}
}

// isAcking reports whether seq waits for its acknowledgement's commit.
func (s *Store) isAcking(seq uint64) bool {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	_, ok := s.acking[seq]
	return ok
}

// OutboxLen is the number of un-acknowledged events in each queue.
func (s *Store) OutboxLen() (priority, bulk int) {
	return int(s.nPriority.Load()), int(s.nBulk.Load())
}

// Meta returns the value another component stored under key, or nil.
func (s *Store) Meta(key string) ([]byte, error) {
	var v []byte
	err := s.view(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketMeta).Get([]byte(metaKVPref + key)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %s: meta %q: %w", s.path, key, err)
	}
	return v, nil
}

// SetMeta stores a small value for another component, durably; nil deletes.
func (s *Store) SetMeta(key string, v []byte) error {
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v == nil {
			return b.Delete([]byte(metaKVPref + key))
		}
		return b.Put([]byte(metaKVPref+key), bytes.Clone(v))
	})
	if err != nil {
		return fmt.Errorf("storage: %s: set meta %q: %w", s.path, key, err)
	}
	return nil
}

// Size is the size of the file on disk in bytes.
func (s *Store) Size() int64 {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Close flushes, stops the writer and closes the file. It is called last at
// shutdown, after everything that appends has stopped.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	<-s.done
	// Set only when the last try failed too: events that are not stored.
	werr := s.w.fault
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return werr
	}
	err := s.db.Close()
	s.db = nil
	if err != nil {
		return fmt.Errorf("storage: %s: close: %w", s.path, err)
	}
	return werr
}

// health tells OnHealth of a condition another stored event records
// already (a gap, a quarantine) or that cannot be stored.
func (s *Store) health(state, reason string, count uint64) {
	s.o.OnHealth(event.Health{Component: "storage", State: state, Reason: reason, Count: count})
}

// raise tells OnHealth and stores the health event with the next commit,
// so the district hears of it too. Writer goroutine only (or Open, before
// the writer starts).
func (s *Store) raise(state, reason string, count uint64) {
	h := event.Health{Component: "storage", State: state, Reason: reason, Count: count}
	s.o.OnHealth(h)
	s.w.raised = append(s.w.raised, s.healthRequest(h))
}

// healthRequest is h as an urgent event the writer stores.
func (s *Store) healthRequest(h event.Health) request {
	ev := event.Event{Kind: event.KindHealth, Urgent: true, Body: mustJSON(h)}
	s.o.Stamp(&ev)
	return request{ev: ev}
}
