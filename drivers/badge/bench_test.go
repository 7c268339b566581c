package badge

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"sync/atomic"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/ptyport"
	"github.com/gatescreen/gatescreen/drivers/runner"
)

var (
	benchLine = []byte("\x0204a1b2c3d4\x03")
	sink      drivers.Reading
	uidRE     = regexp.MustCompile(`^[0-9A-F]{4,24}$`)
	unsep     = strings.NewReplacer(":", "", "-", "")
)

func BenchmarkNormalize(b *testing.B) {
	var uid [drivers.MaxFrame]byte
	b.ReportAllocs()
	for b.Loop() {
		n, _ := Normalize(benchLine, &uid)
		sink = drivers.Badge(uid[:n])
	}
}

// BenchmarkNormalizeStrings is the baseline: strings functions and a regexp.
func BenchmarkNormalizeStrings(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s := strings.ToUpper(strings.Trim(string(benchLine), "\x02\x03\r\n "))
		s = strings.TrimPrefix(unsep.Replace(s), "0X")
		if uidRE.MatchString(s) {
			sink = drivers.Badge([]byte(s))
		}
	}
}

// BenchmarkSerialThroughput pushes UIDs through a pseudo-terminal into a
// Source and reports lines/s and the multiple of what 115200 baud carries.
func BenchmarkSerialThroughput(b *testing.B) {
	line := []byte("04A1B2C3D4\r\n")
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
	go src.Run(ctx, func(drivers.Reading) {
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
