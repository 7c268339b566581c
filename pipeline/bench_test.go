package pipeline

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
)

// benchReadings cycle through pass, flag and retake (35.0–38.9 °C) so every
// branch of classify runs and the stuck detector never fires.
func benchReadings() [40]drivers.Reading {
	var rs [40]drivers.Reading
	for i := range rs {
		rs[i] = temp(35.0+float64(i)/10, 22)
	}
	return rs
}

func benchOpts() Opts {
	return Opts{
		Devices: []DeviceInfo{{Name: "gun"}},
		Lanes:   []Lane{{Name: "L1", Role: "student", Device: 0, Badge: -1}},
		Logger:  zerolog.Nop(),
	}
}

// benchBuffer is the sink-side buffer of both BenchmarkChain variants.
const benchBuffer = 1 << 14

type countSink struct {
	n    atomic.Int64
	_    [cacheLine]byte
	sent atomic.Int64
}

func (c *countSink) Consume(*Measurement) { c.n.Add(1) }

// BenchmarkChain: readings of 1 or 4 devices (one producer goroutine each)
// through validate → … → route into one sink, per reading; the same stage
// code wired two ways: an SPSC ring per device and one per sink, or one
// buffered channel in and one out.
func BenchmarkChain(b *testing.B) {
	for _, producers := range []int{1, 4} {
		b.Run(fmt.Sprintf("rings/producers=%d", producers), func(b *testing.B) { benchRings(b, producers) })
		b.Run(fmt.Sprintf("channels/producers=%d", producers), func(b *testing.B) { benchChannels(b, producers) })
	}
}

func chainOpts(producers int) Opts {
	o := Opts{Logger: zerolog.Nop()}
	for i := range producers {
		o.Devices = append(o.Devices, DeviceInfo{Name: fmt.Sprintf("gun%d", i)})
		o.Lanes = append(o.Lanes, Lane{Name: fmt.Sprintf("L%d", i), Role: "student", Device: i, Badge: -1})
	}
	return o
}

// share splits b.N readings among the producers.
func share(n, producers, i int) int {
	if i == producers-1 {
		return n - n/producers*(producers-1)
	}
	return n / producers
}

func benchRings(b *testing.B, producers int) {
	o := chainOpts(producers)
	// Input rings hold the whole flow-control window: a producer only waits
	// (yields) for the window, never spins on a full ring, as a channel
	// sender would block instead.
	o.RingSize = benchBuffer
	p, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	cs := &countSink{}
	p.AddSink("count", benchBuffer, cs)
	p.Start(context.Background())
	rs := benchReadings()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for d := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := p.inputs[d]
			for i := range share(b.N, producers, d) {
				// Retry instead of dropping, and keep fewer than benchBuffer
				// in flight so the sink ring never drops either: both
				// variants do the same work.
				for i%256 == 0 && cs.sent.Load()-cs.n.Load() >= benchBuffer/2 {
					// Sleep, not spin: a channel sender blocks too, and a
					// spinning producer steals the core the stage needs.
					time.Sleep(20 * time.Microsecond)
				}
				for !in.tryPush(&rs[i%len(rs)]) {
					runtime.Gosched()
				}
				if i%256 == 0 {
					cs.sent.Add(256)
				}
			}
		}()
	}
	wg.Wait()
	for cs.n.Load() < int64(b.N) {
		runtime.Gosched()
	}
	b.StopTimer()
	p.Close()
}

func benchChannels(b *testing.B, producers int) {
	p, err := New(chainOpts(producers))
	if err != nil {
		b.Fatal(err)
	}
	cs := &countSink{}
	in := make(chan drivers.Reading, DefaultRingSize)
	out := make(chan Measurement, benchBuffer)
	p.benchFanout = func(m Measurement) { out <- m }
	go func() {
		for r := range in {
			p.process(&r, -1, false)
		}
		close(out)
	}()
	done := make(chan struct{})
	go func() {
		for m := range out {
			cs.Consume(&m)
		}
		close(done)
	}()
	rs := benchReadings()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for d := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range share(b.N, producers, d) {
				r := rs[i%len(rs)]
				r.Device = uint16(d)
				in <- r
			}
		}()
	}
	wg.Wait()
	close(in)
	<-done
	b.StopTimer()
	if cs.n.Load() != int64(b.N) {
		b.Fatalf("sink got %d of %d", cs.n.Load(), b.N)
	}
}

// latencySink records, per measurement, the time since its reading was
// enqueued (Mono is stamped from the same clock at push).
type latencySink struct {
	base time.Time
	lat  []int64
	n    atomic.Int64
}

func (s *latencySink) Consume(m *Measurement) {
	s.lat[s.n.Load()] = time.Since(s.base).Nanoseconds() - m.Mono
	s.n.Add(1)
}

type stallSink struct{ stalling atomic.Bool }

func (s *stallSink) Consume(*Measurement) {
	if s.stalling.Load() {
		time.Sleep(500 * time.Millisecond)
	}
}

// BenchmarkSinkLatency: enqueue-to-sink latency of a fast sink, one reading
// at a time, while a second sink is fast too or stalls 500 ms per Consume.
func BenchmarkSinkLatency(b *testing.B) {
	for _, stall := range []bool{false, true} {
		name := "all_fast"
		if stall {
			name = "one_stalled"
		}
		b.Run(name, func(b *testing.B) {
			p, err := New(benchOpts())
			if err != nil {
				b.Fatal(err)
			}
			fast := &latencySink{base: time.Now(), lat: make([]int64, b.N)}
			other := &stallSink{}
			other.stalling.Store(stall)
			p.AddSink("fast", DefaultRingSize, fast)
			p.AddSink("other", DefaultRingSize, other)
			p.Start(context.Background())
			rs := benchReadings()
			in := p.inputs[0]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := rs[i%len(rs)]
				r.Mono = time.Since(fast.base).Nanoseconds()
				for !in.tryPush(&r) {
					runtime.Gosched()
				}
				for fast.n.Load() <= int64(i) {
					runtime.Gosched()
				}
			}
			b.StopTimer()
			other.stalling.Store(false)
			p.Close()
			slices.Sort(fast.lat)
			b.ReportMetric(float64(fast.lat[len(fast.lat)/2]), "p50-ns")
			b.ReportMetric(float64(fast.lat[len(fast.lat)*99/100]), "p99-ns")
			if stall && b.N > 2*DefaultRingSize {
				if p.Stats().Overflows["sink:other"] == 0 {
					b.Fatal("the stalled sink never overflowed")
				}
			}
		})
	}
}

func ExamplePipeline() {
	p, _ := New(Opts{
		Devices: []DeviceInfo{{Name: "gun"}},
		Lanes:   []Lane{{Name: "L1", Role: "student", Device: 0, Badge: -1}},
	})
	done := make(chan Measurement, 1)
	p.AddSink("lamps", 0, SinkFunc(func(m *Measurement) { done <- *m }))
	p.Start(context.Background())
	defer p.Close()
	p.Producer(0)(drivers.NewTemperature(37.4, 22, 0))
	m := <-done
	fmt.Println(m.Verdict, m.Reason, m.BodyC)
	// Output: flag threshold 37.4
}

// BenchmarkStages: the stage chain alone on one goroutine, pushing into one
// sink ring that is drained in place: the floor under BenchmarkChain.
func BenchmarkStages(b *testing.B) {
	p, err := New(benchOpts())
	if err != nil {
		b.Fatal(err)
	}
	cs := &countSink{}
	p.AddSink("count", DefaultRingSize, cs)
	rs := benchReadings()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.process(&rs[i%len(rs)], -1, false)
		if i%consumeBatch == consumeBatch-1 {
			p.publish()
			p.sinks[0].ring.consume(consumeBatch, cs.Consume)
		}
	}
}

// segmentReadings is people passing a continuous device: per person idle
// frames, a rise, a plateau with sensor noise and a fall, at period. With
// ambient, like a GY-MCU90614 stream (0.01 °C); without, like a polled
// Modbus transmitter (0.1 °C) whose presence is measured against a baseline.
func segmentReadings(period time.Duration, ambient bool, step float64) []drivers.Reading {
	var rs []drivers.Reading
	mono := int64(0)
	add := func(v float64) {
		amb, flags := 22.0, drivers.Flags(0)
		if !ambient {
			amb, flags = math.NaN(), drivers.FlagNoAmbient
		}
		r := drivers.NewTemperature(math.Round(v/step)*step, amb, flags)
		r.Mono = mono
		mono += int64(period)
		rs = append(rs, r)
	}
	perSecond := int(time.Second / period)
	for person := range 64 {
		for range perSecond { // nobody
			add(22.3)
		}
		body := 34.0 + float64(person%8)*0.5
		for i := range perSecond * 3 / 2 { // 1.5 s in front of the sensor
			add(body + 0.05*float64(i%3))
		}
	}
	return rs
}

// BenchmarkSegment: the stages for a streamed and a polled continuous device
// (ns per reading; most readings are idle or plateau frames that make no
// measurement).
func BenchmarkSegment(b *testing.B) {
	for _, tc := range []struct {
		name string
		rs   []drivers.Reading
	}{
		{"stream", segmentReadings(70*time.Millisecond, true, 0.01)},
		{"polled", segmentReadings(250*time.Millisecond, false, 0.1)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := New(Opts{
				Devices: []DeviceInfo{{Name: "d", Continuous: true, Mode: ModeBody}},
				Lanes:   []Lane{{Name: "L1", Role: "student", Device: 0, Badge: -1}},
			})
			if err != nil {
				b.Fatal(err)
			}
			cs := &countSink{}
			p.AddSink("count", DefaultRingSize, cs)
			period := tc.rs[len(tc.rs)-1].Mono + tc.rs[1].Mono
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := tc.rs[i%len(tc.rs)]
				r.Mono += int64(i/len(tc.rs)) * period // time goes on, round after round
				p.process(&r, -1, false)
				if i%consumeBatch == consumeBatch-1 {
					p.publish()
					p.sinks[0].ring.consume(consumeBatch, cs.Consume)
				}
			}
			b.StopTimer()
			// One measurement per person, each one a decision, not per frame.
			if people := b.N / len(tc.rs) * 64; cs.n.Load() < int64(people-consumeBatch) || cs.n.Load() > int64(people+64) {
				b.Fatalf("%d measurements for %d readings, want one per person (%d)", cs.n.Load(), b.N, people)
			}
		})
	}
}

// discardStore is an Appender that keeps nothing.
type discardStore struct{}

func (discardStore) Append(event.Event) error { return nil }

// consumeByReflection is EventSink.Consume as it was before event.NewReading:
// the payload marshalled by encoding/json (the baseline of
// BenchmarkEventSink).
func consumeByReflection(s *EventSink, m *Measurement) {
	r := s.Reading(m)
	if s.o.Tag != nil {
		s.o.Tag(m, &r)
	}
	ev, err := event.New(event.KindReading, r)
	if err == nil {
		ev.Urgent, ev.Mono, ev.Wall, ev.Drill = m.Verdict == VerdictFlag, m.Mono, m.Wall, m.Drill
		if s.o.Clock != nil {
			ev.BootID, ev.ClockSynced = s.o.Clock.BootID(), s.o.Clock.Synced()
		}
		err = s.o.Store.Append(ev)
	}
	if err != nil {
		s.failed.Add(1)
	}
}

// BenchmarkEventSink: one measurement to a stored event, the storage
// sink's whole work per frame, the way before (reflection) and now, with
// the daemon's Tag (round and late) and clock.
func BenchmarkEventSink(b *testing.B) {
	o := gate()
	s, err := NewEventSink(EventSinkOpts{Store: discardStore{}, Clock: fixedClock{}, Devices: o.Devices, Lanes: o.Lanes,
		Tag: func(m *Measurement, r *event.Reading) { r.Round = "morning" }})
	if err != nil {
		b.Fatal(err)
	}
	m := Measurement{Lane: 1, Device: 1, Verdict: VerdictPass, Mono: 11, Wall: 22, RawC: 36.43, AmbientC: 23.5, BodyC: 36.43,
		Mode: ModeBody, ThresholdC: 37.3}
	m.SetPersonID("S-20231")
	b.Run("reflection", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			consumeByReflection(s, &m)
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Consume(&m)
		}
	})
}
