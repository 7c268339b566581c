//go:build bench

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/mosquittotest"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/uplink"
)

// storeOutbox is the daemon's adapter of the store to the uplink, timing
// the two store calls so a slow drain can be blamed on the right side.
type storeOutbox struct {
	s                  *storage.Store
	pendingNs, ackNs   *atomic.Int64
	pendingCalls, acks *atomic.Int64
}

func newStoreOutbox(s *storage.Store) storeOutbox {
	return storeOutbox{s, new(atomic.Int64), new(atomic.Int64), new(atomic.Int64), new(atomic.Int64)}
}

func (o storeOutbox) Pending(q uplink.Queue, after uint64, max int) ([]event.Event, error) {
	defer o.timed(time.Now(), o.pendingNs, o.pendingCalls)
	sq := storage.Bulk
	if q == uplink.Priority {
		sq = storage.Priority
	}
	return o.s.Pending(sq, after, max)
}

func (o storeOutbox) Ack(seqs ...uint64) error {
	defer o.timed(time.Now(), o.ackNs, o.acks)
	return o.s.Ack(seqs...)
}

func (o storeOutbox) Notify() <-chan struct{} { return o.s.Notify() }

func (o storeOutbox) timed(start time.Time, ns, calls *atomic.Int64) {
	ns.Add(int64(time.Since(start)))
	calls.Add(1)
}

// TestBacklogDrain uploads a 100,000-event backlog from a real bbolt store
// (its Acks group-committed, the last commit included in the time) to a
// local mosquitto with the uplink's defaults,
// and, as the baseline in the same run, publishes the same events one
// QoS 1 message per line with `mosquitto_pub -l -q 1`.
func TestBacklogDrain(t *testing.T) {
	broker := startMosquitto(t)
	pub := mosquittotest.RequireProgram(t, "mosquitto_pub", "mosquitto-clients")
	dir := t.TempDir()
	fillStore(t, dir, backlogEvents)
	s, err := storage.Open(filepath.Join(dir, "events.db"), storage.Opts{BoxID: "bench-east"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lines := filepath.Join(dir, "events.jsonl")
	writeLines(t, s, lines)

	ob := newStoreOutbox(s)
	took := drain(t, broker, s, ob)

	in, err := os.Open(lines)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	host, port, _ := strings.Cut(strings.TrimPrefix(broker, "tcp://"), ":")
	cmd := exec.Command(pub, "-h", host, "-p", port, "-q", "1", "-i", "bench-pub",
		"-t", "gatescreen/v1/bench/bench-school/east/readings", "-l")
	cmd.Stdin = in
	pubStart := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
	pubTook := time.Since(pubStart)

	rate, baseline := backlogEvents/took.Seconds(), backlogEvents/pubTook.Seconds()
	note := fmt.Sprintf("events=%d uplink=%v mosquitto_pub=%v", backlogEvents, took.Round(time.Millisecond), pubTook.Round(time.Millisecond))
	result(t, "drain_uplink_via_store", rate, "events/s", note)
	result(t, "drain_mosquitto_pub_baseline", baseline, "events/s", note)
	result(t, "drain_ratio", rate/baseline, "x", "target>1x")
	// Acks overlap (one per PUBACK'd message, up to the in-flight window),
	// so their mean time says how long each waits for bbolt's single
	// writer and its fsync, not what share of the drain they take.
	result(t, "drain_ack_mean", ms(time.Duration(ob.ackNs.Load()/max(1, ob.acks.Load()))), "ms",
		fmt.Sprintf("Ack calls=%d (they ride in the store's group commits)", ob.acks.Load()))
	result(t, "drain_pending_mean", ms(time.Duration(ob.pendingNs.Load()/max(1, ob.pendingCalls.Load()))), "ms",
		fmt.Sprintf("Pending calls=%d", ob.pendingCalls.Load()))
}

// drain runs an uplink on ob until the store's bulk outbox is empty and
// returns how long it took.
func drain(t *testing.T, broker string, s *storage.Store, ob uplink.Outbox) time.Duration {
	t.Helper()
	u, err := uplink.New(ob, uplink.Opts{
		Broker: broker, District: "bench", School: "bench-school", Gate: "east", BoxID: "bench-east",
		BootID: "bench-boot", Version: "bench", Identity: uplink.IdentityNone, Logger: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- u.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if _, bulk := s.OutboxLen(); bulk == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog not drained in 5 minutes: %+v", u.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The last acknowledgements are durable only after their commit.
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	cancel()
	<-done
	if st := u.Status(); st.AckedEvents < backlogEvents {
		t.Fatalf("uplink acked %d events, want %d", st.AckedEvents, backlogEvents)
	}
	return took
}

// writeLines writes every backlog event as one JSON object per line, the
// size of the uplink's single-event message.
func writeLines(t *testing.T, s *storage.Store, path string) {
	t.Helper()
	evs, err := s.Pending(storage.Bulk, 0, backlogEvents)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	for _, ev := range evs {
		b, err := json.Marshal(map[string]any{
			"id": fmt.Sprintf("bench-east:%d", ev.Seq), "seq": ev.Seq, "kind": "reading",
			"captured_at": time.Unix(0, ev.Wall).UTC().Format(time.RFC3339Nano), "clock_synced": ev.ClockSynced,
			"body": ev.Body,
		})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}
