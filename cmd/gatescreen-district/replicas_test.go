package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/pgtest"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
	"github.com/gatescreen/gatescreen/internal/testkit/syncbuf"
)

// Three ingest replicas in one shared-subscription group write one
// PostgreSQL while the load generator (the real binary) publishes; one is
// SIGKILLed mid-batch. Mosquitto (2.0) does not hand what the killed
// member held unacknowledged to the others: its persistent session keeps
// it (and the messages the group routed to it meanwhile) until a client
// with its id connects. So the replica comes back under the same client id
// and then every published id is in the database exactly once.
func TestReplicaKilledMidBatch(t *testing.T) {
	pg := pgtest.Start(t, pgtest.Opts{})
	dsn := pg.NewDatabase(t)
	port := mosquittotest.FreePort(t)
	broker := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port)+"max_inflight_messages 200\n")
	broker.Start()
	replica := func(id string) *ingester {
		return startIngester(t, "-broker", broker.URL("tcp"), "-district", "lg", "-group", "replicas",
			"-client-id", id, "-db", dsn, "-batch", "200")
	}
	replicas := []*ingester{replica("replica-1"), replica("replica-2"), replica("replica-3")}
	db, err := store.Open(context.Background(), dsn, store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() int64 { n, _ := db.CountEvents(context.Background()); return n }

	gen := exec.Command(district.Path(t), "loadgen", "-broker", broker.URL("tcp"), "-district", "lg", "-boxes", "30",
		"-rate", "2500", "-duration", "8s", "-profile", "flat", "-flag-every", "100", "-print-seqs", "-log-format", "json")
	out, logs := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	gen.Stdout, gen.Stderr = out, logs
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if gen.ProcessState == nil {
			_ = gen.Process.Kill()
			_ = gen.Wait()
		}
	})
	poll.Until(t, 60*time.Second, "5,000 events stored", func() bool { return count() >= 5000 })
	replicas[1].kill()
	killedAt := count()
	if err := gen.Wait(); err != nil {
		t.Fatalf("loadgen: %v\n%s\n%s", err, out, logs)
	}
	last, published := lastSeqs(t, out.String())
	if killedAt >= published {
		t.Fatalf("all %d events stored before the kill: nothing tested", killedAt)
	}

	// The two left take the rest of the stream, but not the killed one's share.
	poll.Until(t, 60*time.Second, "the survivors to settle", func() bool {
		before := count()
		time.Sleep(2 * time.Second)
		return count() == before
	})
	held := published - count()
	t.Logf("killed with %d of %d events stored; %d held in the killed replica's session", killedAt, published, held)

	replicas[1] = replica("replica-2")
	poll.Until(t, 60*time.Second, "every event stored", func() bool { return count() >= published })
	time.Sleep(500 * time.Millisecond) // anything more would be a repeat

	evs, err := db.Events(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.ID]++
	}
	for box, n := range last {
		for s := int64(1); s <= n; s++ {
			if id := fmt.Sprintf("%s:%d", box, s); seen[id] != 1 {
				t.Errorf("%s stored %d times", id, seen[id])
			}
		}
	}
	if int64(len(evs)) != published {
		t.Errorf("%d events stored, %d published", len(evs), published)
	}
	if q, _ := db.Quarantine(context.Background()); len(q) != 0 {
		t.Errorf("quarantined %d, e.g. %+v", len(q), q[0])
	}
	for _, r := range replicas {
		r.cmd.Process.Signal(syscall.SIGTERM)
		if err := r.cmd.Wait(); err != nil {
			t.Errorf("SIGTERM: %v\n%s", err, r.out)
		}
	}
}

// lastSeqs reads loadgen's last_seq lines and published_ids.
func lastSeqs(t *testing.T, out string) (map[string]int64, int64) {
	t.Helper()
	last := map[string]int64{}
	var published, sum int64
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "last_seq:":
			n, _ := strconv.ParseInt(f[2], 10, 64)
			last[f[1]] = n
			sum += n
		case len(f) == 2 && f[0] == "published_ids:":
			published, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if published == 0 || sum != published {
		t.Fatalf("loadgen's output: %d published, %d in last_seq lines:\n%s", published, sum, out)
	}
	return last, published
}
