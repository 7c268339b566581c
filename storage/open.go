package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gatescreen/gatescreen/event"
)

// SchemaVersion is the layout this binary writes. Bump it with an entry in
// upgrades when the buckets or the record format change.
const SchemaVersion = 1

// upgrades[v] moves a file from schema v to v+1 inside one transaction.
// Version 1 is the first layout, so there is nothing to upgrade yet; files
// without a schema key are new and get version 1 directly.
var upgrades = map[uint32]func(*bolt.Tx) error{}

// corruptError marks a file that must be quarantined, as opposed to a file
// that cannot be opened for another reason (permissions, lock, newer schema).
type corruptError struct{ err error }

func (e *corruptError) Error() string { return e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

// Open opens or creates the store at path, checks its integrity, moves a
// corrupt file aside and starts a fresh one, and starts the writer
// goroutine. It returns once the file is open: Start and Wait.
func Open(path string, o Opts) (*Store, error) {
	s := Start(path, o)
	if err := s.Wait(context.Background()); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Start is Open without the wait: the check, the quarantine of a corrupt
// file and the open run in the background, and the store takes events at
// once. Append queues them in memory (Opts.QueueLen of them; ErrBusy beyond)
// and the writer stores them in order once the file is open. Every read
// waits for the open. Wait tells how the opening ended; when it failed,
// reads and AppendWait return its error and what was queued is not stored.
// So a gate whose store is big (a 256 MiB file takes seconds to check on a
// cold SD card) lights its first lamp without waiting for it.
func Start(path string, o Opts) *Store {
	o = o.withDefaults()
	s := &Store{
		path:   path,
		o:      o,
		log:    o.Logger.With().Str("component", "storage").Str("file", path).Logger(),
		queue:  make(chan request, o.QueueLen),
		acking: map[uint64]Queue{},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		notify: make(chan struct{}, 1),
		ready:  make(chan struct{}),
	}
	go func() {
		s.openErr = s.open()
		close(s.ready)
		if s.openErr != nil {
			s.refuseQueued()
			return
		}
		s.run()
	}()
	return s
}

// Wait returns when the opening started by Start ended, with its error, or
// with ctx's.
func (s *Store) Wait(ctx context.Context) error {
	select {
	case <-s.ready:
		return s.openErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// opened waits for the opening and returns its error.
func (s *Store) opened() error {
	<-s.ready
	return s.openErr
}

// refuseQueued stands in for the writer of a store that did not open: it
// answers what waits for an answer with the opening's error until Close.
func (s *Store) refuseQueued() {
	defer close(s.done)
	for {
		select {
		case r := <-s.queue:
			switch {
			case r.done != nil:
				r.done <- result{err: s.openErr}
			case r.flush != nil:
				r.flush <- s.openErr
			}
		case <-s.stop:
			return
		}
	}
}

// open is the opening: check, quarantine, open, prepare, salvage.
func (s *Store) open() error {
	path := s.path
	var err error
	if s.seqs, err = loadSeqReserve(path + ".seq"); errors.Is(err, errBadReservation) {
		// Not worth refusing to start over: the store file's own sequence
		// still holds for anything but a quarantine.
		s.log.Warn().Err(err).Msg("ignoring unreadable sequence reservation")
		s.raise(event.HealthWarning, err.Error(), 0)
	} else if err != nil {
		return err
	}
	db, err := s.openChecked()
	var corrupt *corruptError
	quarantined := ""
	if errors.As(err, &corrupt) {
		if quarantined, err = s.quarantine(corrupt); err != nil {
			return err
		}
		db, err = s.openChecked()
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.db = db
	s.mu.Unlock()
	if err := s.prepare(quarantined); err != nil {
		return err
	}
	if quarantined != "" {
		n, err := s.salvage(quarantined)
		if err != nil {
			s.log.Error().Err(err).Msg("salvage failed")
		}
		s.log.Warn().Int("events", n).Str("from", quarantined).Msg("salvaged the outbox of the file set aside")
		h := event.Health{Component: "storage", State: event.HealthDegraded, Reason: fmt.Sprintf("salvaged %d events from %s", n, quarantined), Count: uint64(n)}
		s.o.OnHealth(h)
		r := s.healthRequest(h)
		if err := s.updateOpen(func(tx *bolt.Tx) error { _, err := s.putEvent(tx, &r.ev); return err }); err != nil {
			return fmt.Errorf("storage: %s: store the salvage report: %w", path, err)
		}
		if err := s.viewOpen(s.recount); err != nil {
			return err
		}
	}
	s.w.init(s)
	s.holdReserve()
	return nil
}

// allocSize is how much bbolt grows a big file at a time (its default,
// set explicitly because sizeLimits depends on it).
const allocSize = 16 << 20

func (s *Store) openBolt(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: s.o.LockTimeout,
		// The freelist is not written at every commit: one page less of
		// SD-card wear per commit. The integrity checker writes it before
		// the daemon's open (see writeFreelist); without it, open rebuilds
		// it by walking the file.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		MaxSize:        int(s.o.MaxSize),
	})
	if err != nil {
		return nil, err
	}
	db.AllocSize = allocSize
	return db, nil
}

// openChecked runs the integrity check and opens the file. Errors that mean
// the file is damaged are returned as *corruptError.
func (s *Store) openChecked() (db *bolt.DB, err error) {
	if err := s.checkInChild(); err != nil {
		return nil, err
	}
	defer func() {
		// bbolt panics on some garbled pages; that is damage, not a bug here.
		if r := recover(); r != nil {
			if db != nil {
				_ = db.Close()
			}
			db, err = nil, &corruptError{fmt.Errorf("storage: %s: panic while opening: %v", s.path, r)}
		}
	}()
	db, err = s.openBolt(s.path)
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s", ErrLocked, s.path)
	case errors.As(err, new(*fs.PathError)):
		return nil, fmt.Errorf("storage: open %s: %w", s.path, err)
	case err != nil:
		return nil, &corruptError{fmt.Errorf("storage: open %s: %w", s.path, err)}
	}
	if err := db.View(s.checkSchema); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func (s *Store) checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if tx.Bucket(bucketEvents) != nil {
			return &corruptError{fmt.Errorf("storage: %s: events without meta bucket", s.path)}
		}
		return nil // new file
	}
	v := meta.Get(metaSchema)
	if v == nil {
		return nil
	}
	if len(v) != 4 {
		return &corruptError{fmt.Errorf("storage: %s: bad schema version record (%d bytes)", s.path, len(v))}
	}
	if ver := binary.BigEndian.Uint32(v); ver > SchemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this binary supports up to %d (run the newer gatescreen, or move the file aside)",
			ErrNewerSchema, s.path, ver, SchemaVersion)
	}
	return nil
}

// quarantine moves the damaged file aside and reports it.
func (s *Store) quarantine(cause *corruptError) (string, error) {
	aside := s.path + ".corrupt-" + s.o.Now().UTC().Format("20060102T150405Z")
	// Never overwrite an earlier quarantined file (two faults in a second).
	for n := 2; ; n++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.corrupt-%s-%d", s.path, s.o.Now().UTC().Format("20060102T150405Z"), n)
	}
	unlock, err := lockFile(s.path, s.o.LockTimeout)
	if err != nil {
		return "", err
	}
	defer unlock()
	if err := os.Rename(s.path, aside); err != nil {
		return "", fmt.Errorf("storage: quarantine %s: %w (cause: %v)", s.path, err, cause)
	}
	if err := SyncDir(filepath.Dir(s.path)); err != nil {
		return "", fmt.Errorf("storage: quarantine %s: %w", s.path, err)
	}
	s.log.Error().Err(cause).Str("moved_to", aside).Msg("corrupt store quarantined; starting a fresh file")
	s.health(event.HealthDegraded, "quarantined: "+aside, 1)
	return aside, nil
}

// prepare creates buckets, upgrades the schema, records meta, restores the
// in-memory counters and, after a quarantine, stores the health event.
func (s *Store) prepare(quarantined string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		ver := uint32(SchemaVersion)
		if v := meta.Get(metaSchema); v != nil {
			ver = binary.BigEndian.Uint32(v)
		}
		for ; ver < SchemaVersion; ver++ {
			up := upgrades[ver]
			if up == nil {
				return fmt.Errorf("no upgrade from schema %d", ver)
			}
			if err := up(tx); err != nil {
				return fmt.Errorf("upgrade from schema %d: %w", ver, err)
			}
		}
		if err := meta.Put(metaSchema, binary.BigEndian.AppendUint32(nil, SchemaVersion)); err != nil {
			return err
		}
		s.boxID = string(meta.Get(metaBoxID))
		if s.o.BoxID != "" && s.o.BoxID != s.boxID {
			if s.boxID != "" {
				s.log.Warn().Str("old", s.boxID).Str("new", s.o.BoxID).Msg("box id changed")
			}
			s.boxID = s.o.BoxID
			if err := meta.Put(metaBoxID, []byte(s.boxID)); err != nil {
				return err
			}
		}
		events := tx.Bucket(bucketEvents)
		// A fresh file (or one far behind the reservation) continues above
		// every sequence the previous file could have handed out.
		if seq := events.Sequence(); seq == 0 || seq+seqBlock < s.seqs.reserved {
			if err := events.SetSequence(s.seqs.reserved); err != nil {
				return err
			}
		}
		if quarantined != "" {
			ev := event.Event{Kind: event.KindHealth, Urgent: true}
			s.o.Stamp(&ev)
			ev.Body = mustJSON(event.Health{Component: "storage", State: event.HealthDegraded, Reason: "quarantined: " + quarantined, Count: 1})
			if _, err := s.putEvent(tx, &ev); err != nil {
				return err
			}
		}
		if _, v := tx.Bucket(bucketAcked).Cursor().Last(); len(v) == 8 {
			s.ackHighWater.Store(int64(binary.BigEndian.Uint64(v)))
		}
		return s.recount(tx)
	})
	if err != nil {
		return fmt.Errorf("storage: %s: prepare: %w", s.path, err)
	}
	return nil
}

// recount restores the in-memory counters from the file.
func (s *Store) recount(tx *bolt.Tx) error {
	s.durable.Store(tx.Bucket(bucketEvents).Sequence())
	s.nPriority.Store(countKeys(tx, bucketPriority))
	s.nBulk.Store(countKeys(tx, bucketBulk))
	return nil
}

// countReleaseEvery is how many keys countKeys counts between two releases
// of the pages it mapped: about 0.8 MiB of outbox pages (8-byte keys, empty
// values; 48 MiB for a million). A release walks the page tables of the
// whole mapping, 0.2 ms for a 256 MiB file even with nothing to drop, so
// releasing every 4,096 keys doubled the count's CPU time (25–55 ms for
// 900,000 keys) during the start, when the lamps want the CPU.
const countReleaseEvery = 16384

// countKeys counts the keys of a bucket of tx, releasing the pages it
// mapped as it goes (releaseMapped): the outbox of a full store is tens of
// MiB of pages, and counted in one go they all stayed mapped, and counted in
// the daemon's peak RSS, until the end.
func countKeys(tx *bolt.Tx, bucket []byte) int64 {
	var n int64
	c := tx.Bucket(bucket).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if n++; n%countReleaseEvery == 0 {
			releaseMapped(tx)
		}
	}
	releaseMapped(tx)
	return n
}

// SyncDir makes the renames and creations in dir durable: after a power
// cut the directory holds the names it held when SyncDir returned. The
// store's own writes use it, and so does every file the commands write
// beside it (exports, reports, backups).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
