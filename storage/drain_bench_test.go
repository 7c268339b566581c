package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// drainBacklog is the backlog BenchmarkDrainStore drains per iteration.
const drainBacklog, drainBatch = 20_000, 200

// BenchmarkDrainStore drains a backlog the way the uplink does: read a batch
// of 200 pending events, acknowledge them (the acks ride in the writer's
// group commits), and so on until the outbox is empty, then Flush so the
// last acks are durable. Every iteration starts from a copy of the same
// filled file. The baseline, in the same run, is the floor of the reads
// alone: a bare bbolt cursor over the same outbox with a Get of each event
// record, nothing decoded, copied or acknowledged.
func BenchmarkDrainStore(b *testing.B) {
	filled := filledStore(b, drainBacklog)
	b.Run("pending_and_ack", func(b *testing.B) {
		var cpu time.Duration
		for range b.N {
			b.StopTimer()
			s := openStore(b, copyOf(b, filled), Opts{QueueLen: 8192})
			b.StartTimer()
			cpu0 := cpuTime(b)
			after := uint64(0)
			for {
				evs, err := s.Pending(Bulk, after, drainBatch)
				if err != nil {
					b.Fatal(err)
				}
				if len(evs) == 0 {
					break
				}
				seqs := make([]uint64, len(evs))
				for i := range evs {
					seqs[i] = evs[i].Seq
				}
				if err := s.Ack(seqs...); err != nil {
					b.Fatal(err)
				}
				after = seqs[len(seqs)-1]
			}
			if err := s.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			cpu += cpuTime(b) - cpu0
			b.StopTimer()
			if _, n := s.OutboxLen(); n != 0 {
				b.Fatalf("%d events left in the outbox", n)
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*drainBacklog), "ns/event")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*drainBacklog), "cpu-ns/event")
	})
	b.Run("bbolt_read_floor_baseline", func(b *testing.B) {
		var cpu time.Duration
		for range b.N {
			b.StopTimer()
			db, err := bolt.Open(copyOf(b, filled), 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			cpu0 := cpuTime(b)
			n := 0
			err = db.View(func(tx *bolt.Tx) error {
				events := tx.Bucket(bucketEvents)
				c := tx.Bucket(bucketBulk).Cursor()
				for k, _ := c.First(); k != nil; k, _ = c.Next() {
					if events.Get(k) != nil {
						n++
					}
				}
				return nil
			})
			cpu += cpuTime(b) - cpu0
			b.StopTimer()
			if err != nil || n != drainBacklog {
				b.Fatalf("read %d records: %v", n, err)
			}
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*drainBacklog), "ns/event")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*drainBacklog), "cpu-ns/event")
	})
}

// cpuTime is the CPU time (user + system) the process has used: the drain
// is CPU-bound, and on a shared machine its wall time is mostly the
// others' load and fsync.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// filledStore returns the path of a closed store holding n bulk readings.
func filledStore(b *testing.B, n int) string {
	b.Helper()
	path := tempPath(b)
	s := openStore(b, path, Opts{QueueLen: 8192})
	ev := reading(b, "L1", "pass", t0)
	for range n {
		for err := s.Append(ev); err != nil; err = s.Append(ev) {
			if !errors.Is(err, ErrBusy) {
				b.Fatal(err)
			}
			if err := s.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// copyOf copies the store file at path into a fresh directory.
func copyOf(b *testing.B, path string) string {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "events.db")
	in, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return dst
}
