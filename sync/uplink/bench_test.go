package uplink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

const backlog = 100_000

// benchBroker starts a plain local mosquitto for benchmarks.
func benchBroker(b *testing.B) *mosquittotest.Broker {
	b.Helper()
	return mosquittotest.StartPlain(b)
}

// BenchmarkDrainBacklog drains a 100,000-event backlog to a local mosquitto
// with the uplink (QoS 1, window 16, batches of 200) and, as the baseline,
// publishes the same events one message per line with
// `mosquitto_pub -l -q 1`.
func BenchmarkDrainBacklog(b *testing.B) {
	m := benchBroker(b)
	b.Run("uplink", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			ob := newMemOutbox()
			ob.add(Bulk, event.KindReading, backlog)
			u, err := New(ob, testOpts(m.URL("tcp")))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			stop := runUplink(b, u)
			waitFor(b, "the backlog to drain", func() bool { return ob.len() == 0 })
			b.StopTimer()
			stop()
			b.StartTimer()
		}
		b.ReportMetric(float64(backlog*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("mosquitto_pub", func(b *testing.B) {
		pub := mosquittotest.RequireProgram(b, "mosquitto_pub", "mosquitto-clients")
		lines := filepath.Join(b.TempDir(), "events.jsonl")
		writeEventLines(b, lines)
		for range b.N {
			in, err := os.Open(lines)
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(pub, "-h", "127.0.0.1", "-p", strconv.Itoa(m.Port), "-q", "1",
				"-t", "gatescreen/v1/haidian/school-17/east/readings", "-i", "bench-pub", "-l")
			cmd.Stdin = in
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("mosquitto_pub: %v: %s", err, out)
			}
			in.Close()
		}
		b.ReportMetric(float64(backlog*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// writeEventLines writes the backlog as the uplink encodes single events,
// one per line.
func writeEventLines(b *testing.B, path string) {
	b.Helper()
	ob := newMemOutbox()
	ob.add(Bulk, event.KindReading, backlog)
	u, err := New(ob, testOpts("tcp://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	evs := ob.pending(Bulk, 0, backlog)
	for i := range evs {
		w.Write(u.enc.single(nil, &evs[i]))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}

// BenchmarkEncodeBatch encodes one readings message of 200 events; the
// baseline merges envelope and body through maps and json.Marshal.
func BenchmarkEncodeBatch(b *testing.B) {
	ob := newMemOutbox()
	ob.add(Bulk, event.KindReading, 200)
	evs := ob.pending(Bulk, 0, 200)
	u, err := New(ob, testOpts("tcp://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for range b.N {
			buf = readingsBatch(u.enc, buf[:0], evs)
		}
		b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	// Badged readings carry person_id, replaced by a pseudonym.
	badged := make([]event.Event, len(evs))
	for i, ev := range evs {
		ev.Body = append(bytes.TrimSuffix(bytes.Clone(ev.Body), []byte("}")), fmt.Sprintf(`,"person_id":"S2024-%04d"}`, i)...)
		badged[i] = ev
	}
	pu, err := New(ob, Opts{Broker: "tcp://127.0.0.1:1", District: "d", School: "s", Gate: "g", BoxID: "hd17-east",
		Identity: IdentityPseudonym, PseudonymKey: demoKey})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoder-pseudonym", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for range b.N {
			buf = readingsBatch(pu.enc, buf[:0], badged)
		}
		b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("baseline-map-marshal", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			objs := make([]map[string]any, 0, len(evs))
			for _, ev := range evs {
				obj := map[string]any{}
				if err := json.Unmarshal(ev.Body, &obj); err != nil {
					b.Fatal(err)
				}
				obj["id"] = fmt.Sprintf("hd17-east:%d", ev.Seq)
				obj["seq"] = ev.Seq
				obj["kind"] = ev.Kind.String()
				obj["captured_at"] = time.Unix(0, ev.Wall).UTC().Format(capturedAtLayout)
				obj["clock_synced"] = ev.ClockSynced
				obj["drill"] = ev.Drill
				objs = append(objs, obj)
			}
			if _, err := json.Marshal(map[string]any{"v": 1, "box": "hd17-east", "events": objs}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// readingsBatch returns the payload of a readings message holding evs.
func readingsBatch(e *encoder, dst []byte, evs []event.Event) []byte {
	dst = e.openBatch(dst)
	for i := range evs {
		dst = e.batchEvent(dst, &evs[i], i == 0)
	}
	return e.closeBatch(dst)
}
