package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gatescreen/gatescreen/event"
)

// BenchmarkCommit compares group commit (the store's normal path) with its
// baseline, one transaction (two fdatasyncs) per event, in the same run.
func BenchmarkCommit(b *testing.B) {
	ev := reading(b, "L1", event.VerdictPass, t0)
	b.Run("group_commit", func(b *testing.B) {
		s := openStore(b, tempPath(b), Opts{})
		ctx := context.Background()
		b.ResetTimer()
		for range b.N {
			for err := s.Append(ev); err != nil; err = s.Append(ev) {
				if !errors.Is(err, ErrBusy) {
					b.Fatal(err)
				}
				if err := s.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("tx_per_event_baseline", func(b *testing.B) {
		s := openStore(b, tempPath(b), Opts{})
		ctx := context.Background()
		urgent := ev
		urgent.Urgent = true // committed at once, alone: nothing else is queued
		b.ResetTimer()
		for range b.N {
			if _, err := s.AppendWait(ctx, urgent); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAppend measures the call the pipeline makes for every reading,
// against a bare buffered channel send as the baseline.
func BenchmarkAppend(b *testing.B) {
	ev := reading(b, "L1", event.VerdictPass, t0)
	b.Run("store_append", func(b *testing.B) {
		s := openStore(b, tempPath(b), Opts{})
		var busy int
		b.ResetTimer()
		for range b.N {
			if err := s.Append(ev); errors.Is(err, ErrBusy) {
				busy++
			} else if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(busy)/float64(b.N), "busy/op")
	})
	b.Run("bare_channel_baseline", func(b *testing.B) {
		ch := make(chan request, 4096)
		done := make(chan struct{})
		go func() {
			for range ch {
			}
			close(done)
		}()
		var busy int
		for range b.N {
			select {
			case ch <- request{ev: ev}:
			default:
				busy++
			}
		}
		close(ch)
		<-done
		b.ReportMetric(float64(busy)/float64(b.N), "busy/op")
	})
}

// BenchmarkDiskBytesPerEvent measures what reaches the block layer per
// stored event (/proc/self/io write_bytes), the SD-card wear figure. At the
// gate rate of 4 events/s a commit interval of T holds about 4·T events, so
// events_per_commit=1 is the default 200 ms interval, 4 is 1 s, 20 is 5 s.
func BenchmarkDiskBytesPerEvent(b *testing.B) {
	if _, err := writeBytes(); err != nil {
		b.Skipf("no /proc/self/io: %v", err)
	}
	ev := reading(b, "L1", event.VerdictPass, t0)
	for _, perCommit := range []int{1, 4, 20, 40, 120} {
		b.Run("events_per_commit="+strconv.Itoa(perCommit), func(b *testing.B) {
			s := openStore(b, tempPath(b), Opts{CommitEvents: perCommit})
			ctx := context.Background()
			// Warm up past the file's first growth steps.
			for range 2000 {
				if err := s.Append(ev); err != nil {
					_ = s.Flush(ctx)
				}
			}
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			before, err := writeBytes()
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				if err := s.Append(ev); err != nil {
					b.Fatal(err)
				}
				if i%perCommit == 0 {
					if err := s.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			after, err := writeBytes()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(after-before)/float64(b.N), "disk-B/event")
			b.ReportMetric(float64(len(encodeEvent(nil, &ev))), "record-B")
		})
	}
}

func writeBytes() (int64, error) {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("write_bytes: ")); ok {
			return strconv.ParseInt(string(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no write_bytes in /proc/self/io")
}

// BenchmarkPendingBacklog reads a 20,000-event backlog in batches of 200,
// as the uplink drains it, and reports the cost per batch of each way of
// handling the file pages the reads map: kept mapped (the baseline, and the
// RSS problem), released after every batch, and released every
// releaseEvery records (the store's way).
func BenchmarkPendingBacklog(b *testing.B) {
	const backlog, batch = 20_000, 200
	s := openStore(b, tempPath(b), Opts{QueueLen: 8192})
	ev := reading(b, "L1", event.VerdictPass, t0)
	for range backlog {
		for err := s.Append(ev); err != nil; err = s.Append(ev) {
			if !errors.Is(err, ErrBusy) {
				b.Fatal(err)
			}
			if err := s.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		after func()
	}{
		{"pages_kept_baseline", func() { s.unreleased.Store(-1 << 62) }},
		{"release_every_batch", func() { _ = s.view(func(tx *bolt.Tx) error { releaseMapped(tx); return nil }) }},
		{"release_every_4096_records", func() {}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s.unreleased.Store(0)
			after := uint64(0)
			for range b.N {
				evs, err := s.Pending(Bulk, after, batch)
				if err != nil {
					b.Fatal(err)
				}
				if len(evs) < batch {
					after = 0 // wrap around the backlog
					continue
				}
				after = evs[len(evs)-1].Seq
				c.after()
			}
		})
	}
}
