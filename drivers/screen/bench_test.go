package screen

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/pipeline"
)

func benchScreen(b *testing.B) *Screen {
	b.Helper()
	s, err := New(Opts{Lanes: testLanes, Devices: []string{"gun-a", "gate-b"}, Logger: zerolog.Nop(), MaxClients: 64})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkConsume measures the screen's hot path, the pipeline sink call.
// clients=0 is the baseline: the lane update alone, with no browser
// connected. With readers, each message is encoded once and queued to every
// client; with stuck clients every queue is full and the message is dropped
// and counted.
func BenchmarkConsume(b *testing.B) {
	m := pipeline.Measurement{Lane: 2, Verdict: pipeline.VerdictPass, BodyC: 36.6, RawC: 34.1, AmbientC: 22,
		Wall: time.Now().UnixNano()}
	m.SetPersonID("S-2024-017")
	for _, tc := range []struct {
		clients int
		reading bool
	}{{0, false}, {1, true}, {8, true}, {8, false}} {
		mode := "readers"
		if !tc.reading {
			mode = "stuck"
		}
		if tc.clients == 0 {
			mode = "baseline"
		}
		b.Run(fmt.Sprintf("clients=%d/%s", tc.clients, mode), func(b *testing.B) {
			s := benchScreen(b)
			done := make(chan struct{})
			defer close(done)
			for range tc.clients {
				c, _ := s.subscribe()
				if tc.reading {
					go func() {
						for {
							select {
							case <-c.ch:
							case <-done:
								return
							}
						}
					}()
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				s.Consume(&m)
			}
		})
	}
}

// BenchmarkSnapshot is the full state a connecting screen receives.
func BenchmarkSnapshot(b *testing.B) {
	s := benchScreen(b)
	desk := newFakeDesk()
	for i := range 400 {
		m := pipeline.Measurement{Lane: uint8(i % 4), Verdict: pipeline.VerdictPass, BodyC: 36.5, Wall: time.Now().UnixNano()}
		s.Consume(&m)
	}
	for range 5 {
		s.CaseChanged(desk.flag("A", 38, time.Now()))
	}
	b.ReportAllocs()
	for b.Loop() {
		s.snapshotMessage()
	}
}
