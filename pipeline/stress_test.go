package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

// orderSink checks, per device, that Mono (the producer's sequence number)
// arrives exactly once and in order. It runs on its sink goroutine only.
type orderSink struct {
	next     []int64
	errors   []string
	received atomic.Int64
}

func (s *orderSink) Consume(m *Measurement) {
	want := s.next[m.Device] + 1
	if m.Mono != want && len(s.errors) < 10 {
		s.errors = append(s.errors, fmt.Sprintf("device %d: got seq %d, want %d", m.Device, m.Mono, want))
	}
	s.next[m.Device] = m.Mono
	s.received.Add(1)
}

func TestStressEightProducers(t *testing.T) {
	const producers = 8
	perProducer := 250_000 // 2 million readings in total
	if testing.Short() {
		perProducer = 20_000
	}
	o := Opts{Logger: zerolog.Nop(), RingSize: 4096}
	for i := range producers {
		o.Devices = append(o.Devices, DeviceInfo{Name: fmt.Sprintf("gun%d", i)})
		o.Lanes = append(o.Lanes, Lane{Name: fmt.Sprintf("L%d", i), Role: "student", Device: i, Badge: -1})
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	check := &orderSink{next: make([]int64, producers)}
	// The producers keep fewer than half the sink ring in flight: with more
	// producers than cores the sink goroutine can be descheduled for long
	// stretches, and a full sink ring drops by design.
	const sinkRing = 1 << 16
	var sent atomic.Int64
	p.AddSink("order", sinkRing, check)
	p.Start(context.Background())

	var wg sync.WaitGroup
	for d := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 1; seq <= perProducer; seq++ {
				for seq%64 == 0 && sent.Load()-check.received.Load() >= sinkRing/2 {
					runtime.Gosched()
				}
				if seq%64 == 0 {
					sent.Add(64)
				}
				r := temp(35.0+float64(seq%40)/10, 22)
				r.Mono = int64(seq)
				pushRetry(p, uint16(d), &r) // the only producer of ring d
			}
		}()
	}
	wg.Wait()
	p.Close()

	for _, e := range check.errors {
		t.Error(e)
	}
	for d, last := range check.next {
		if last != int64(perProducer) {
			t.Errorf("device %d: last seq %d, want %d", d, last, perProducer)
		}
	}
	st := p.Stats()
	var total uint64
	for _, l := range st.Lanes {
		total += l.Pass + l.Flag + l.Retake + l.Invalid
	}
	if total != uint64(producers*perProducer) {
		t.Errorf("lanes counted %d measurements, want %d", total, producers*perProducer)
	}
	for name, n := range st.Overflows {
		if n != 0 {
			t.Errorf("ring %s dropped %d", name, n)
		}
	}
}
