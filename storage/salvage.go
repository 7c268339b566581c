package storage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Salvage: after a file was set aside, a child process (this binary
// re-executed with salvageEnv naming the file, like the checker) reads what
// it still can and streams it to the daemon, which copies it into the fresh
// file: the events still in the outbox, with their seqs (the district drops
// any it already has by id), the projections of cases, daily reports and
// calibrations, and the meta values of other components. A garbled page
// ends the bucket being read, not the salvage; a crash of the child keeps
// what it streamed before.
const salvageEnv = "GATESCREEN_STORAGE_SALVAGE"

// The salvage stream is a sequence of records: tag byte, uvarint key length,
// key, uvarint value length, value.
const (
	tagPriority    = 'p'
	tagBulk        = 'b'
	tagCase        = 'c'
	tagDaily       = 'd'
	tagCalibration = 'k'
	tagMeta        = 'm'
)

// salvageFlushEvery bounds what a crash of the child loses of its stream.
const salvageFlushEvery = 256

// runSalvage is the child's side: it streams what it can read of path to
// stdout.
func runSalvage(path string, lockTimeout time.Duration) int {
	// A fault on a garbled mapped page becomes a panic, which ends one bucket.
	debug.SetPanicOnFault(true)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return checkCorrupt
	}
	w := bufio.NewWriter(os.Stdout)
	n := 0
	emit := func(tag byte, k, v []byte) {
		var hdr [1 + 2*binary.MaxVarintLen64]byte
		hdr[0] = tag
		h := binary.AppendUvarint(hdr[:1], uint64(len(k)))
		_, _ = w.Write(h)
		_, _ = w.Write(k)
		_, _ = w.Write(binary.AppendUvarint(hdr[:0], uint64(len(v))))
		_, _ = w.Write(v)
		if n++; n%salvageFlushEvery == 0 {
			_ = w.Flush()
		}
	}
	_ = db.View(func(tx *bolt.Tx) error {
		for _, q := range []struct {
			tag    byte
			bucket []byte
		}{{tagPriority, bucketPriority}, {tagBulk, bucketBulk}} {
			salvageBucket(tx, q.bucket, func(events *bolt.Bucket, k, _ []byte) {
				if v := events.Get(k); v != nil {
					emit(q.tag, k, v)
				}
			})
		}
		for _, p := range []struct {
			tag    byte
			bucket []byte
		}{{tagCase, bucketCases}, {tagDaily, bucketDaily}, {tagCalibration, bucketCalibration}} {
			salvageBucket(tx, p.bucket, func(_ *bolt.Bucket, k, v []byte) { emit(p.tag, k, v) })
		}
		salvageBucket(tx, bucketMeta, func(_ *bolt.Bucket, k, v []byte) {
			if bytes.HasPrefix(k, []byte(metaKVPref)) {
				emit(tagMeta, k, v)
			}
		})
		return nil
	})
	_ = w.Flush()
	return checkOK
}

// salvageBucket calls fn for every pair of the bucket name that can be read,
// with the events bucket for looking records up.
func salvageBucket(tx *bolt.Tx, name []byte, fn func(events *bolt.Bucket, k, v []byte)) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "bucket %s: %v\n", name, r)
		}
	}()
	b, events := tx.Bucket(name), tx.Bucket(bucketEvents)
	if b == nil || events == nil {
		return
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		fn(events, k, v)
	}
}

// salvage copies what a child can read of the file set aside at aside into
// the fresh store and reports the number of events copied. The child is
// bounded by checkBudget.
func (s *Store) salvage(aside string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.checkBudget(aside))
	defer cancel()
	cmd := s.child(ctx, salvageEnv, aside)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("storage: salvage %s: %w", aside, err)
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("storage: salvage %s: %w", aside, err)
	}
	n, cerr := s.copySalvaged(bufio.NewReader(out))
	werr := cmd.Wait()
	if msg := firstLine(stderr.String()); msg != "" {
		s.log.Warn().Str("file", aside).Str("child", msg).Msg("salvage could not read everything")
	}
	if cerr != nil {
		return n, fmt.Errorf("storage: salvage %s: %w", aside, cerr)
	}
	if werr != nil && n == 0 {
		return 0, fmt.Errorf("storage: salvage %s: %w", aside, werr)
	}
	return n, nil
}

type salvaged struct {
	tag    byte
	k, val []byte
}

// copySalvaged reads the salvage stream until it ends or breaks and puts
// every record that decodes into the store, in transactions of a few
// hundred records.
func (s *Store) copySalvaged(r *bufio.Reader) (int, error) {
	var n int
	recs := make([]salvaged, 0, salvageFlushEvery)
	put := func() error {
		err := s.updateOpen(func(tx *bolt.Tx) error {
			events := tx.Bucket(bucketEvents)
			for _, rec := range recs {
				var b *bolt.Bucket
				switch rec.tag {
				case tagPriority, tagBulk:
					if len(rec.k) != 8 {
						continue
					}
					ev, err := decodeEvent(beUint64(rec.k), rec.val)
					if err != nil {
						continue
					}
					q := Bulk
					if rec.tag == tagPriority {
						q = Priority
					}
					if err := events.Put(rec.k, rec.val); err != nil {
						return err
					}
					if err := tx.Bucket(outboxBucket(q)).Put(rec.k, []byte{byte(ev.Kind)}); err != nil {
						return err
					}
					if seq := beUint64(rec.k); seq > events.Sequence() {
						// A lost reservation file: never hand out a salvaged seq again.
						if err := events.SetSequence(seq); err != nil {
							return err
						}
					}
					n++
					continue
				case tagCase:
					b = tx.Bucket(bucketCases)
				case tagDaily:
					b = tx.Bucket(bucketDaily)
				case tagCalibration:
					b = tx.Bucket(bucketCalibration)
				case tagMeta:
					b = tx.Bucket(bucketMeta)
				}
				if b == nil || (rec.tag != tagMeta && !validProjection(rec.val)) {
					continue
				}
				if err := b.Put(rec.k, rec.val); err != nil {
					return err
				}
			}
			return nil
		})
		recs = recs[:0]
		return err
	}
	for {
		rec, err := readSalvaged(r, s.o.MaxSize)
		if err != nil {
			break // the end, or where the child stopped
		}
		if recs = append(recs, rec); len(recs) == cap(recs) {
			if err := put(); err != nil {
				return n, err
			}
		}
	}
	if err := put(); err != nil {
		return n, err
	}
	return n, s.viewOpen(s.recount)
}

func validProjection(v []byte) bool {
	_, err := decodeProjection(v)
	return err == nil
}

var errSalvageRecord = errors.New("bad salvage record")

func readSalvaged(r *bufio.Reader, maxLen int64) (salvaged, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return salvaged{}, err
	}
	read := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > uint64(maxLen) {
			return nil, errSalvageRecord
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	k, err := read()
	if err != nil {
		return salvaged{}, err
	}
	v, err := read()
	if err != nil {
		return salvaged{}, err
	}
	return salvaged{tag: tag, k: k, val: v}, nil
}
