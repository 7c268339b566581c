package serialtest

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/runner"
	"github.com/gatescreen/gatescreen/drivers/sim/ptyport"
)

// NewSource builds the driver under test on an opened port.
type NewSource func(drivers.Conn) (drivers.Source, error)

// Open makes a pseudo-terminal, opens its slave at 115200 baud and builds
// the Source on it. Both are closed when the test ends; write the device's
// bytes to pair.Master.
func Open(tb testing.TB, newSource NewSource) (*ptyport.Pair, drivers.Source) {
	tb.Helper()
	pair, err := ptyport.Open()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pair.Close() })
	port, closer, err := runner.OpenSerial(pair.Path, 115200)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { closer.Close() })
	src, err := newSource(drivers.Conn{Port: port})
	if err != nil {
		tb.Fatal(err)
	}
	return pair, src
}

// Throughput pushes b.N copies of frame through a pseudo-terminal into the
// Source as fast as the pty goes and reports <unit>/s and the multiple of
// what a 115200-baud line (8N1: 10 bits a byte) carries. Every reading must
// be valid.
func Throughput(b *testing.B, frame []byte, unit string, newSource NewSource) {
	lineRate := 115200.0 / 10 / float64(len(frame))
	pair, src := Open(b, newSource)
	var got atomic.Int64
	all := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, func(r drivers.Reading) {
		if r.Flags.Invalid() {
			panic("invalid reading in a throughput benchmark")
		}
		if got.Add(1) == int64(b.N) {
			close(all)
		}
	})
	const perWrite = 64
	chunk := bytes.Repeat(frame, perWrite)
	b.ResetTimer()
	start := time.Now()
	go func() {
		for sent := 0; sent < b.N; sent += perWrite {
			if _, err := pair.Master.Write(chunk[:min(perWrite, b.N-sent)*len(frame)]); err != nil {
				return
			}
		}
	}()
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatalf("only %d of %d %s arrived", got.Load(), b.N, unit)
	}
	perSec := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(perSec, unit+"/s")
	b.ReportMetric(perSec/lineRate, "x_line_rate")
}
