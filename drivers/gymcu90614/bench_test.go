package gymcu90614

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

// naiveDecoder is the baseline: buffer everything, bytes.Index the header,
// slice the frame off.
type naiveDecoder struct{ buf []byte }

func (d *naiveDecoder) Feed(p []byte, emit drivers.Emit) {
	d.buf = append(d.buf, p...)
	for {
		i := bytes.Index(d.buf, header[:])
		if i < 0 {
			d.buf = d.buf[max(0, len(d.buf)-len(header)+1):]
			return
		}
		if len(d.buf)-i < FrameLen {
			d.buf = d.buf[i:]
			return
		}
		f := d.buf[i : i+FrameLen]
		if checksum(f[:8]) == f[8] {
			emit(drivers.NewTemperature(Celsius(f[4], f[5]), Celsius(f[6], f[7]), 0))
		} else {
			emit(drivers.Invalid(drivers.FlagChecksum, f))
		}
		d.buf = d.buf[i+FrameLen:]
	}
}

var sink drivers.Reading

func keep(r drivers.Reading) { sink = r }

func BenchmarkDecodeFrame(b *testing.B) {
	var d Decoder
	b.SetBytes(FrameLen)
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(datasheetFrame, keep)
	}
}

func BenchmarkDecodeFrameNaiveIndex(b *testing.B) {
	var d naiveDecoder
	b.SetBytes(FrameLen)
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(datasheetFrame, keep)
	}
}

// lineRate is the most frames 115200 baud 8N1 carries: 10 bits per byte.
const lineRate = 115200.0 / 10 / FrameLen

// BenchmarkSerialThroughput pushes frames through a pseudo-terminal into a
// Source reading it with go.bug.st/serial as fast as the pty goes, and
// reports frames/s and the multiple of the 115200-baud line rate.
func BenchmarkSerialThroughput(b *testing.B) {
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
		if r.Flags != 0 {
			panic("invalid frame in throughput benchmark")
		}
		if got.Add(1) == int64(b.N) {
			close(all)
		}
	})
	chunk := bytes.Repeat(datasheetFrame, 64)
	b.ResetTimer()
	start := time.Now()
	go func() {
		for sent := 0; sent < b.N; sent += 64 {
			n := min(64, b.N-sent)
			if _, err := pair.Master.Write(chunk[:n*FrameLen]); err != nil {
				return
			}
		}
	}()
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatalf("only %d of %d frames arrived", got.Load(), b.N)
	}
	perSec := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(perSec, "frames/s")
	b.ReportMetric(perSec/lineRate, "x_line_rate")
}
