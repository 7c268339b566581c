package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
	"github.com/gatescreen/gatescreen/internal/testkit/pgtest"
	"github.com/gatescreen/gatescreen/internal/testkit/poll"
)

// outage is how long the database is away in the outage tests: issue #23's 30 s.
const outage = 30 * time.Second

// steady publishes one reading of box every 20 ms until stopped, as a
// box does through a database outage it knows nothing of.
type steady struct {
	box  string
	sent atomic.Int64 // seqs 1..sent are published (the broker acknowledged them)
	stop chan struct{}
	done chan struct{}
}

func publishSteadily(t *testing.T, c mqtt.Client, box string) *steady {
	p := &steady{box: box, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := int64(1); ; seq++ {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			tok := c.Publish(east+"readings", 1, false, readingsPayload(box, seq))
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				t.Errorf("publishing seq %d: %v", seq, tok.Error())
				return
			}
			p.sent.Store(seq)
		}
	}()
	t.Cleanup(p.halt)
	return p
}

func (p *steady) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// throughOutage runs a steady publisher into in, takes the database away
// with down for 30 s and brings it back with up. While it is away the
// ingester acknowledges nothing and retries at least minErrors times (its
// backoff's ceiling bounds how late it sees the database back); once it is
// back every id published is stored exactly once, and the ingester never
// stopped.
func throughOutage(t *testing.T, in *running, s *store.Store, pub mqtt.Client, minErrors int64, down, up func()) {
	t.Helper()
	p := publishSteadily(t, pub, "hd17-east")
	poll.Until(t, 30*time.Second, "ingest under way", func() bool { return in.Stats().Acked >= 25 })

	down()
	// A commit that got in before down may still be acknowledging.
	time.Sleep(200 * time.Millisecond)
	acked, published := in.Stats().Acked, p.sent.Load()
	for end := time.Now().Add(outage); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if a := in.Stats().Acked; a != acked {
			t.Fatalf("%d messages acknowledged while the database was away (%d before)", a-acked, acked)
		}
	}
	st := in.Stats()
	if st.WriteErrors < minErrors {
		t.Errorf("%d writes tried and failed in %v without the database, want at least %d: %+v", st.WriteErrors, outage, minErrors, st)
	}
	if p.sent.Load()-published < int64(outage/(40*time.Millisecond)) {
		t.Errorf("the box published %d messages during the outage: the broker was not taking them", p.sent.Load()-published)
	}

	up()
	back := time.Now()
	poll.Until(t, 60*time.Second, "acknowledgements again", func() bool { return in.Stats().Acked > acked })
	t.Logf("acknowledging again %v after the database came back; %d write errors during the outage",
		time.Since(back).Round(time.Millisecond), st.WriteErrors)
	time.Sleep(time.Second) // and the box goes on publishing
	p.halt()
	n := p.sent.Load()
	poll.Until(t, 60*time.Second, fmt.Sprintf("all %d events", n), func() bool {
		c, _ := s.CountEvents(context.Background())
		return c >= n
	})
	ids := eventIDs(t, s)
	for seq := int64(1); seq <= n; seq++ {
		if !ids[fmt.Sprintf("hd17-east:%d", seq)] {
			t.Errorf("hd17-east:%d lost", seq)
		}
	}
	if int64(len(ids)) != n {
		t.Errorf("%d events stored, %d published", len(ids), n)
	}
	if ins := in.Stats().Inserted; ins != n {
		t.Errorf("%d events inserted, %d published", ins, n)
	}
	select {
	case err := <-in.done:
		t.Fatalf("the ingester stopped: %v", err)
	default:
	}
	log := in.log.String()
	for _, want := range []string{"database unavailable", "database back"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, tail(log, 20))
		}
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// PostgreSQL stopped (immediate mode: connections cut) for 30 s under a
// steady publisher, then started again on its port.
func TestPostgresAwayThirtySeconds(t *testing.T) {
	t.Parallel()
	broker := mosquittotest.StartPlain(t)
	srv := pgtest.Start(t, pgtest.Opts{})
	s, err := store.Open(context.Background(), srv.NewDatabase(t), store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	in := start(t, Opts{Broker: broker.URL("tcp"), Store: s})
	// 100 ms doubling to the default ceiling of 2 s, jittered (each wait
	// half to all of its step): at least 15 tries in 30 s. A ceiling of
	// 10 s gives at most 12.
	throughOutage(t, in, s, publisher(t, broker.URL("tcp")), 15, srv.Stop, srv.Restart)
}

// SQLite locked for 30 s by another connection holding BEGIN IMMEDIATE (a
// `serve` or an operator's sqlite3 in a long transaction): every write of
// the ingester waits out its busy timeout and fails "database is locked".
func TestSQLiteLockedThirtySeconds(t *testing.T) {
	t.Parallel()
	broker := mosquittotest.StartPlain(t)
	path := filepath.Join(t.TempDir(), "district.db")
	s, err := store.Open(context.Background(), "sqlite:"+path, store.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(60000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	in := start(t, Opts{Broker: broker.URL("tcp"), Store: s})
	var (
		mu   sync.Mutex
		lock *sql.Tx
	)
	// Each write waits out the busy timeout (10 s) before it fails.
	throughOutage(t, in, s, publisher(t, broker.URL("tcp")), 2, func() {
		mu.Lock()
		defer mu.Unlock()
		if lock, err = other.Begin(); err != nil {
			t.Fatalf("BEGIN IMMEDIATE: %v", err)
		}
	}, func() {
		mu.Lock()
		defer mu.Unlock()
		if err := lock.Rollback(); err != nil {
			t.Fatalf("releasing the lock: %v", err)
		}
	})
}
