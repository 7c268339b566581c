package screen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
)

func benchScreen(b *testing.B) *Screen {
	b.Helper()
	s, err := New(Opts{Lanes: testLanes, Devices: testDevices("gun-a", "gate-b"), Logger: zerolog.Nop(), MaxClients: 64})
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
	}{{0, false}, {1, true}, {8, true}, {32, true}, {8, false}} {
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
			for i := range tc.clients {
				c, _ := s.subscribe(fmt.Sprintf("10.0.0.%d", i)) // one screen per tablet
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

// BenchmarkSnapshot is the full state a connecting screen receives: 4 lanes
// × 8 readings, 5 cases, and the school panels of a big school (absentees in
// all 40 classes, a daily report).
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
	var absent Absentees
	for c := range 40 {
		absent.Classes = append(absent.Classes, AbsentClass{Grade: fmt.Sprint(c / 8), Class: fmt.Sprintf("%d-%d", c/8, c%8), Names: []string{"甲", "乙"}})
	}
	s.SetAbsentees(absent)
	s.SetDaily(event.Daily{Day: "2026-11-23", Totals: event.Counts{Total: 1570, Pass: 1560, Flag: 2, Retake: 8},
		Cases: map[string]int{event.CaseCleared: 1, event.CaseReferred: 1}, Disposition: map[string]int{event.DispositionParentFeverClinic: 1}})
	b.ReportAllocs()
	for b.Loop() {
		s.snapshotMessage()
	}
}

// BenchmarkFanOut is the cost of one reading for the screens watching: the
// time from Consume until every one of n real SSE clients (HTTP over
// loopback, one address each, as tablets are) has read the lane event.
// Readings are paced one at a time, as a gate produces them, so no client
// falls behind and the figure is the whole delivery: one encoding, n
// queue sends, n stream writes and n reads.
func BenchmarkFanOut(b *testing.B) {
	m := pipeline.Measurement{Lane: 2, Verdict: pipeline.VerdictPass, BodyC: 36.6, RawC: 34.1, AmbientC: 22,
		Wall: time.Now().UnixNano()}
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			s := benchScreen(b)
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // before srv.Close: the streams end first
			var got atomic.Int64
			var ready sync.WaitGroup
			for i := range n {
				d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))}}
				client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("client %d: %v %v", i, err, resp)
				}
				ready.Add(1)
				go func() {
					defer resp.Body.Close()
					sc := bufio.NewScanner(resp.Body)
					sc.Buffer(make([]byte, 64<<10), 1<<20)
					first := true
					for sc.Scan() {
						switch {
						case first && sc.Text() == "event: state":
							first = false
							ready.Done()
						case sc.Text() == "event: lane":
							got.Add(1)
						}
					}
				}()
			}
			ready.Wait()
			b.ReportAllocs()
			var want int64
			for b.Loop() {
				s.Consume(&m)
				want += int64(n)
				for got.Load() < want {
					runtime.Gosched()
				}
			}
		})
	}
}
