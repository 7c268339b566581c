package pipeline

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
)

var nan = math.NaN()

// oneLane is a pipeline of one one-shot body-mode thermometer on one student
// lane, driven synchronously: feed runs the stages on the test goroutine and
// returns what reached the sink ring, so there is no timing to wait for.
func oneLane(t *testing.T, dev DeviceInfo, prm Params) *Pipeline {
	t.Helper()
	p, err := New(Opts{
		Devices: []DeviceInfo{dev},
		Lanes:   []Lane{{Name: "L1", Role: "student", Device: 0, Badge: -1}},
		Params:  prm,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.AddSink("test", 1<<12, SinkFunc(func(*Measurement) {}))
	return p
}

// feed runs readings through the stages of an unstarted pipeline and
// returns the measurements pushed to its first sink.
func feed(p *Pipeline, rs ...drivers.Reading) []Measurement {
	for i := range rs {
		p.process(&rs[i], -1, false)
	}
	p.publish()
	var out []Measurement
	p.sinks[0].ring.consume(1<<20, func(m *Measurement) { out = append(out, *m) })
	return out
}

// SinkFunc adapts a function to Sink (tests only).
type SinkFunc func(*Measurement)

func (f SinkFunc) Consume(m *Measurement) { f(m) }

// recorder is a Sink that keeps copies and signals each arrival.
type recorder struct {
	mu  sync.Mutex
	got []Measurement
	ch  chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 1<<16)} }

func (r *recorder) Consume(m *Measurement) {
	r.mu.Lock()
	r.got = append(r.got, *m)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

// wait returns once n measurements arrived, or fails after a generous timeout.
func (r *recorder) wait(t *testing.T, n int) []Measurement {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]Measurement(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("waited for %d measurements, got %d", n, len(r.got))
		}
	}
}

func temp(obj, amb float64) drivers.Reading {
	return drivers.NewTemperature(obj, amb, 0)
}

// loadStream reads a testdata/streams file as readings of device 0.
func loadStream(t *testing.T, name string) []drivers.Reading {
	t.Helper()
	f, err := os.Open("../testdata/streams/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rs []drivers.Reading
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fs := strings.Split(text, ",")
		if len(fs) != 3 {
			t.Fatalf("%s:%d: %q: want 3 fields", name, line, text)
		}
		ms, err1 := strconv.ParseInt(fs[0], 10, 64)
		obj, err2 := strconv.ParseFloat(fs[1], 64)
		amb, flags, err3 := nan, drivers.FlagNoAmbient, error(nil)
		if fs[2] != "" {
			amb, err3 = strconv.ParseFloat(fs[2], 64)
			flags = 0
		}
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("%s:%d: %q: bad number", name, line, text)
		}
		r := drivers.NewTemperature(obj, amb, flags)
		r.Mono = ms * int64(time.Millisecond)
		r.Wall = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC).UnixNano() + r.Mono
		rs = append(rs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rs
}
