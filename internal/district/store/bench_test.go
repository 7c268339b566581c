package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gatescreen/gatescreen/internal/testkit/pgtest"
)

// BenchmarkWrite is the ingester's commit: one transaction of new events
// from one box (boxes=1), or from many (boxes=500: two events each, as a
// batch looks when 2,000 boxes publish at once), SQLite
// (synchronous=FULL) and PostgreSQL (fsync on) in the same run, each the
// other's baseline. events/s is what to compare.
//
//	go test -run '^$' -bench Write -count 5 ./internal/district/store/
func BenchmarkWrite(b *testing.B) {
	srv := pgtest.Start(b, pgtest.Opts{Durable: true})
	for _, c := range []struct{ batch, boxes int }{{200, 1}, {1000, 1}, {1000, 500}} {
		b.Run(fmt.Sprintf("sqlite/batch=%d/boxes=%d", c.batch, c.boxes), func(b *testing.B) {
			benchWrite(b, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"), c.batch, c.boxes)
		})
		b.Run(fmt.Sprintf("postgres/batch=%d/boxes=%d", c.batch, c.boxes), func(b *testing.B) {
			benchWrite(b, srv.NewDatabase(b), c.batch, c.boxes)
		})
	}
}

func benchWrite(b *testing.B, dsn string, batch, boxes int) {
	s, err := Open(context.Background(), dsn, Opts{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := `"kind":"reading","lane":"lane-1","device":"ir-1","verdict":"pass","threshold_c":37.3,"body_c":36.6`
	seq := int64(0)
	next := func() *Batch {
		bt := &Batch{}
		per := batch / boxes
		seq += int64(per)
		for x := 0; x < boxes; x++ {
			box := fmt.Sprintf("hd%03d-east", x)
			evs := make([]Event, per)
			for i := range evs {
				evs[i] = event(box, seq-int64(per)+int64(i)+1, body)
			}
			bt.Messages = append(bt.Messages, readings(Site{"hd", fmt.Sprintf("hd%03d", x), "east"}, box, evs...))
		}
		return bt
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		bt := next()
		b.StartTimer()
		if out, err := s.Write(context.Background(), bt); err != nil || out.Inserted != batch {
			b.Fatalf("%+v, %v", out, err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
