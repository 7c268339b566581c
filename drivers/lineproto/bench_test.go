package lineproto

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/ptyport"
	"github.com/gatescreen/gatescreen/drivers/runner"
)

var (
	benchLine = []byte("T=36.5 A=24.1")
	sink      drivers.Reading
)

func benchParse(b *testing.B, fast bool) {
	p := mustParser(b, nil)
	p.fast = fast
	b.SetBytes(int64(len(benchLine)))
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = p.Parse(benchLine)
	}
}

// BenchmarkParseLineFast is the hand parser of DefaultPattern.
func BenchmarkParseLineFast(b *testing.B) { benchParse(b, true) }

// BenchmarkParseLineRegexp is the baseline: the same pattern through regexp.
func BenchmarkParseLineRegexp(b *testing.B) { benchParse(b, false) }

// BenchmarkSplitAndParse is the whole per-line cost of a Source: splitting
// the byte stream and parsing.
func BenchmarkSplitAndParse(b *testing.B) {
	p := mustParser(b, nil)
	s := NewSplitter("\n", DefaultMaxLine)
	in := []byte("T=36.5 A=24.1\r\n")
	onLine := func(l []byte) { sink, _ = p.Parse(l) }
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s.Feed(in, onLine)
	}
}

// BenchmarkSerialThroughput pushes lines through a pseudo-terminal into a
// Source and reports lines/s and the multiple of what 115200 baud carries.
func BenchmarkSerialThroughput(b *testing.B) {
	line := []byte("T=36.5 A=24.1\r\n")
	lineRate := 115200.0 / 10 / float64(len(line))
	pair, err := ptyport.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer pair.Close()
	port, closer, err := runner.OpenSerial(pair.Path, 115200)
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	src, err := New(drivers.Device{Name: "bench"}, drivers.Conn{Port: port})
	if err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	all := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, func(r drivers.Reading) {
		if r.Flags.Invalid() {
			panic("invalid line in throughput benchmark")
		}
		if got.Add(1) == int64(b.N) {
			close(all)
		}
	})
	const perWrite = 64
	chunk := bytes.Repeat(line, perWrite)
	b.ResetTimer()
	start := time.Now()
	go func() {
		for sent := 0; sent < b.N; sent += perWrite {
			if _, err := pair.Master.Write(chunk[:min(perWrite, b.N-sent)*len(line)]); err != nil {
				return
			}
		}
	}()
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatalf("only %d of %d lines arrived", got.Load(), b.N)
	}
	perSec := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(perSec, "lines/s")
	b.ReportMetric(perSec/lineRate, "x_line_rate")
}
