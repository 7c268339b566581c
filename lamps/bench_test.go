package lamps

import (
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/pipeline"
)

func benchLamps(b *testing.B, lane string) *Lamps {
	b.Helper()
	pins, err := RegisterSimPins(lane)
	if err != nil {
		b.Fatal(err)
	}
	l, err := New(&Opts{Lane: lane, Pins: pins, Hold: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// verdicts alternates so that every Consume switches lamps and re-arms the
// pattern timer: the worst case, two or more pin writes per call.
var verdicts = [...]*pipeline.Measurement{
	{Verdict: pipeline.VerdictPass},
	{Verdict: pipeline.VerdictFlag},
	{Verdict: pipeline.VerdictRetake},
	{Verdict: pipeline.VerdictInvalid},
}

// BenchmarkConsume is the time from a measurement to its lamp being set:
// Consume writes the pin itself. The baselines hand the measurement to a
// lamp goroutine over a channel instead: "handoff" is the sender's cost
// only, "handoff-until-lit" the round trip until that goroutine has set the
// lamp — the latency a person would see with that design.
func BenchmarkConsume(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		l := benchLamps(b, "bench_direct")
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.Consume(verdicts[i%len(verdicts)])
			i++
		}
	})
	b.Run("baseline-handoff", func(b *testing.B) {
		l := benchLamps(b, "bench_handoff")
		ch := make(chan pipeline.Measurement, 1024)
		done := make(chan struct{})
		go func() {
			for m := range ch {
				l.Consume(&m)
			}
			close(done)
		}()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			ch <- *verdicts[i%len(verdicts)]
			i++
		}
		close(ch)
		<-done
	})
	b.Run("baseline-handoff-until-lit", func(b *testing.B) {
		l := benchLamps(b, "bench_roundtrip")
		ch := make(chan pipeline.Measurement)
		lit := make(chan struct{})
		go func() {
			for m := range ch {
				l.Consume(&m)
				lit <- struct{}{}
			}
		}()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			ch <- *verdicts[i%len(verdicts)]
			<-lit
			i++
		}
		close(ch)
	})
}
