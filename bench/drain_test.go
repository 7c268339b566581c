//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
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

func (o storeOutbox) Visit(q uplink.Queue, after uint64, max int, fn func(*event.Event) error) error {
	defer o.timed(time.Now(), o.pendingNs, o.pendingCalls)
	sq := storage.Bulk
	if q == uplink.Priority {
		sq = storage.Priority
	}
	return o.s.VisitPending(sq, after, max, fn)
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

// readingsTopic is where the bench's uplink publishes readings.
const readingsTopic = "gatescreen/v1/bench/bench-school/east/readings"

// TestBacklogDrain uploads a 100,000-event backlog from a real bbolt store
// (its Acks group-committed, the last commit included in the time) to a
// local mosquitto with the uplink's defaults, while mosquitto_sub records
// every readings message the broker passed on. The baseline, in the same
// round, publishes those very payloads (the uplink's batches of 200
// events) with `mosquitto_pub -l -q 1`: the same bytes in the same
// messages, with nothing read, encoded or acknowledged in a store.
// BENCH_RUNS rounds, each from a copy of the same filled store.
func TestBacklogDrain(t *testing.T) {
	broker := startMosquitto(t)
	pub := mosquittotest.RequireProgram(t, "mosquitto_pub", "mosquitto-clients")
	sub := mosquittotest.RequireProgram(t, "mosquitto_sub", "mosquitto-clients")
	host, port, _ := strings.Cut(strings.TrimPrefix(broker, "tcp://"), ":")
	filled := t.TempDir()
	fillStore(t, filled, backlogEvents)
	var ratios, cpuRatios []float64
	for run := range lanesRuns() {
		dir := t.TempDir()
		if err := copyFile(filepath.Join(filled, "events.db"), filepath.Join(dir, "events.db")); err != nil {
			t.Fatal(err)
		}
		s, err := storage.Open(filepath.Join(dir, "events.db"), storage.Opts{BoxID: "bench-east"})
		if err != nil {
			t.Fatal(err)
		}
		payloads := filepath.Join(dir, "payloads.jsonl")
		stopSub := record(t, sub, host, port, payloads)
		ob := newStoreOutbox(s)
		cpu0 := processCPU(t)
		took := drain(t, broker, s, ob)
		cpu := processCPU(t) - cpu0
		messages := stopSub()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		in, err := os.Open(payloads)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(pub, "-h", host, "-p", port, "-q", "1", "-i", "bench-pub", "-t", readingsTopic, "-l")
		cmd.Stdin = in
		pubStart := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v: %s", err, out)
		}
		pubTook := time.Since(pubStart)
		pubCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		in.Close()

		rate, baseline := backlogEvents/took.Seconds(), backlogEvents/pubTook.Seconds()
		note := fmt.Sprintf("run=%d events=%d messages=%d uplink=%v mosquitto_pub=%v load=%s", run+1, backlogEvents, messages,
			took.Round(time.Millisecond), pubTook.Round(time.Millisecond), loadAvg())
		result(t, "drain_uplink_via_store_run", rate, "events/s", note)
		result(t, "drain_mosquitto_pub_same_payloads_run", baseline, "events/s", note)
		result(t, "drain_ratio_run", rate/baseline, "x", note)
		// CPU time is what a loaded machine disturbs least: this process
		// (uplink and store) against the mosquitto_pub process.
		cpuNote := fmt.Sprintf("run=%d uplink+store=%v mosquitto_pub=%v load=%s", run+1, cpu.Round(time.Millisecond), pubCPU.Round(time.Millisecond), loadAvg())
		result(t, "drain_cpu_uplink_run", float64(cpu.Microseconds())/backlogEvents, "µs/event", cpuNote)
		result(t, "drain_cpu_ratio_run", float64(pubCPU)/float64(cpu), "x", cpuNote+" (mosquitto_pub CPU ÷ uplink CPU)")
		cpuRatios = append(cpuRatios, float64(pubCPU)/float64(cpu))
		// Acks overlap (one per PUBACK'd message, up to the in-flight
		// window), so their mean says how long each waits for bbolt's single
		// writer, not what share of the drain they take.
		result(t, "drain_ack_mean_run", ms(time.Duration(ob.ackNs.Load()/max(1, ob.acks.Load()))), "ms",
			fmt.Sprintf("run=%d Ack calls=%d (they ride in the store's group commits)", run+1, ob.acks.Load()))
		result(t, "drain_pending_mean_run", ms(time.Duration(ob.pendingNs.Load()/max(1, ob.pendingCalls.Load()))), "ms",
			fmt.Sprintf("run=%d Pending calls=%d", run+1, ob.pendingCalls.Load()))
		ratios = append(ratios, rate/baseline)
	}
	c := summarise(cpuRatios)
	result(t, "drain_cpu_ratio", c.median, "x", c.note("mosquitto_pub CPU ÷ uplink CPU"))
	r := summarise(ratios)
	result(t, "drain_ratio", r.median, "x", r.note("target>1x"))
	verdict(t, "drain_ratio", r.median > 1, fmt.Sprintf("uplink from the store ÷ mosquitto_pub of the same payloads %.2f× median, %.2f–%.2f over %d runs; target > 1×", r.median, r.min, r.max, r.n))
}

// processCPU is the user + system time this process has used.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// record runs mosquitto_sub on the readings topic, writing one payload a
// line to path, and returns a stop that waits until the file stopped
// growing, ends the subscriber and returns how many messages it got.
func record(t *testing.T, sub, host, port, path string) (stop func() int) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sub, "-h", host, "-p", port, "-q", "1", "-i", "bench-sub", "-t", readingsTopic)
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // subscribed before the first publish
	return func() int {
		for last := int64(-1); ; time.Sleep(300 * time.Millisecond) {
			fi, err := out.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() == last {
				break
			}
			last = fi.Size()
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out.Close()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(data), "\n")
	}
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
