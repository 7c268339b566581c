package runner

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
)

var sink drivers.Reading

func keep(r drivers.Reading) { sink = r }

// BenchmarkEmitDirect is the baseline: the driver calling the pipeline's
// producer itself.
func BenchmarkEmitDirect(b *testing.B) {
	r := drivers.NewTemperature(36.5, 24.1, 0)
	b.ReportAllocs()
	for b.Loop() {
		keep(r)
	}
}

// BenchmarkEmitThroughRunner adds what the runner does per reading: stamp
// (with the default clock), index and count.
func BenchmarkEmitThroughRunner(b *testing.B) {
	m := &monitor{s: &supervisor{o: Opts{Emit: keep, Stamp: systemStamp(), Index: 1}, log: zerolog.Nop()}, answer: make(chan struct{})}
	r := drivers.NewTemperature(36.5, 24.1, 0)
	b.ReportAllocs()
	for b.Loop() {
		m.emit(r)
	}
}

// BenchmarkClockRead is the part of the runner's cost that is the clock:
// one time.Now per reading.
func BenchmarkClockRead(b *testing.B) {
	var t int64
	for b.Loop() {
		t += time.Now().UnixNano()
	}
	sink.Wall = t
}
