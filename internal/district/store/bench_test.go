package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gatescreen/gatescreen/internal/testkit/pgtest"
)

// BenchmarkWrite is the ingester's commit: one transaction of new events
// from one box, SQLite (synchronous=FULL) and PostgreSQL (fsync on) in the
// same run, each the other's baseline. events/s is what to compare.
//
//	go test -run '^$' -bench Write -count 5 ./internal/district/store/
func BenchmarkWrite(b *testing.B) {
	srv := pgtest.Start(b, pgtest.Opts{Durable: true})
	for _, batch := range []int{200, 1000} {
		b.Run(fmt.Sprintf("sqlite/batch=%d", batch), func(b *testing.B) {
			benchWrite(b, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"), batch)
		})
		b.Run(fmt.Sprintf("postgres/batch=%d", batch), func(b *testing.B) {
			benchWrite(b, srv.NewDatabase(b), batch)
		})
	}
}

func benchWrite(b *testing.B, dsn string, batch int) {
	s, err := Open(context.Background(), dsn, Opts{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := `"kind":"reading","lane":"lane-1","device":"ir-1","verdict":"pass","threshold_c":37.3,"body_c":36.6`
	seq := int64(0)
	next := func() *Batch {
		evs := make([]Event, batch)
		for i := range evs {
			seq++
			evs[i] = event("hd17-east", seq, body)
		}
		return &Batch{Messages: []Message{readings(east, "hd17-east", evs...)}}
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
