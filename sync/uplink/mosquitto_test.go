package uplink

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/testkit/mosquittotest"
)

// expectIDs checks that the consumer received exactly the events produced.
func expectIDs(t *testing.T, c *collector, box string, seqs []uint64) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	want := make(map[string]bool, len(seqs))
	for _, s := range seqs {
		want[fmt.Sprintf("%s:%d", box, s)] = true
	}
	for id := range c.ids {
		if !want[id] {
			t.Errorf("received unexpected id %s", id)
		}
	}
	for id := range want {
		if c.ids[id] == 0 {
			t.Errorf("id %s never received", id)
		}
	}
}

func expectAckedOnce(t *testing.T, ob *memOutbox, seqs []uint64) {
	t.Helper()
	acked := ob.ackedSet()
	for _, s := range seqs {
		if acked[s] != 1 {
			t.Fatalf("seq %d acked %d times", s, acked[s])
		}
	}
}

// A consumer with a persistent session is registered, then the broker goes
// away; the box starts with no broker, queues, and delivers everything once
// the broker is back.
func TestMosquittoAbsentAtStartup(t *testing.T) {
	port := mosquittotest.FreePort(t)
	m := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port))
	m.Start()
	c := newCollector()
	sub := subscribe(t, m.URL("tcp"), "district-consumer", "gatescreen/v1/#", false, nil, c)
	sub.Disconnect(100)
	m.Stop(syscall.SIGTERM)

	ob := newMemOutbox()
	seqs := append(ob.add(Bulk, event.KindReading, 450), ob.add(Priority, event.KindCase, 5)...)
	u := newUplink(t, ob, testOpts(m.URL("tcp")))
	stop := runUplink(t, u)
	waitFor(t, "a failed connection attempt", func() bool { return u.Status().LastError != "" })
	if u.Status().Connected || ob.len() != len(seqs) {
		t.Fatalf("with no broker: status %+v, outbox %d", u.Status(), ob.len())
	}

	m.Start()
	waitFor(t, "the backlog to be acked", func() bool { return ob.len() == 0 })
	seqs = append(seqs, ob.add(Bulk, event.KindReading, 3)...) // live events after the drain
	waitFor(t, "live events to be acked", func() bool { return ob.len() == 0 })
	subscribe(t, m.URL("tcp"), "district-consumer", "gatescreen/v1/#", false, nil, c)
	waitFor(t, "the consumer to receive every event", func() bool { return c.distinct() == len(seqs) })
	expectIDs(t, c, "hd17-east", seqs)
	expectAckedOnce(t, ob, seqs)
	st := u.Status()
	if st.AckedEvents != uint64(len(seqs)) || st.Connects != 1 {
		t.Fatalf("status %+v", st)
	}
	stop()
	if st := u.Status(); st.Connected {
		t.Fatal("still connected after stop")
	}
}

// The broker stops in the middle of a rate-limited drain and comes back:
// the consumer gets the set of ids produced, duplicates only from the
// in-flight window, and the uplink counts them.
func TestMosquittoRestartMidDrain(t *testing.T) {
	port := mosquittotest.FreePort(t)
	m := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port))
	m.Start()
	c := newCollector()
	subscribe(t, m.URL("tcp"), "district-consumer", "gatescreen/v1/#", false, nil, c)

	ob := newMemOutbox()
	seqs := ob.add(Bulk, event.KindReading, 3000)
	o := testOpts(m.URL("tcp"))
	o.BatchSize = 20
	o.RateLimit = 100 // 150 messages: 1.5 s, so the restart lands mid-drain
	u := newUplink(t, ob, o)
	runUplink(t, u)

	waitFor(t, "part of the backlog acked", func() bool { return u.Status().AckedEvents >= 600 })
	m.Stop(syscall.SIGTERM)
	waitFor(t, "the uplink to notice", func() bool { return !u.Status().Connected })
	if ob.len() == 0 {
		t.Fatal("backlog drained before the broker stopped; the test proves nothing")
	}
	seqs = append(seqs, ob.add(Priority, event.KindHealth, 2)...) // produced while the broker is down
	m.Start()
	waitFor(t, "the backlog to be acked", func() bool { return ob.len() == 0 })
	waitFor(t, "the consumer to receive every event", func() bool { return c.distinct() == len(seqs) })
	expectIDs(t, c, "hd17-east", seqs)
	expectAckedOnce(t, ob, seqs)
	st := u.Status()
	if st.Connects < 2 {
		t.Fatalf("Connects = %d, want a reconnect", st.Connects)
	}
	if d := c.duplicates(); uint64(d) > st.Unconfirmed {
		t.Fatalf("%d duplicate deliveries, but the uplink counted only %d unconfirmed events", d, st.Unconfirmed)
	}
	if max := uint64(o.BatchSize * 16); st.Unconfirmed > max {
		t.Fatalf("Unconfirmed %d exceeds the in-flight window (%d events)", st.Unconfirmed, max)
	}
	t.Logf("duplicates %d, unconfirmed %d, connects %d", c.duplicates(), st.Unconfirmed, st.Connects)
}

const childEnv = "GATESCREEN_UPLINK_TEST_CHILD_BROKER"

// TestUplinkChildProcess is the box process of TestMosquittoLastWill; it
// only runs in the child, which the test SIGKILLs.
func TestUplinkChildProcess(t *testing.T) {
	broker := os.Getenv(childEnv)
	if broker == "" {
		t.Skip("runs only as the child of TestMosquittoLastWill")
	}
	o := testOpts(broker)
	o.BootID = "boot-child"
	u := newUplink(t, newMemOutbox(), o)
	runUplink(t, u)
	time.Sleep(long) // until killed
	t.Fatal("child was not killed")
}

// The box process dies without a word: the broker publishes its retained
// offline last will.
func TestMosquittoLastWill(t *testing.T) {
	port := mosquittotest.FreePort(t)
	m := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port))
	m.Start()
	c := newCollector()
	subscribe(t, m.URL("tcp"), "watcher", "gatescreen/v1/haidian/school-17/east/status", true, nil, c)

	child := exec.Command(os.Args[0], "-test.run=^TestUplinkChildProcess$", "-test.count=1")
	child.Env = append(os.Environ(), childEnv+"="+m.URL("tcp"))
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	waitFor(t, "the child's online status", func() bool {
		s, ok := c.lastStatus()
		return ok && s.State == StateOnline && s.BootID == "boot-child"
	})
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the last will", func() bool {
		s, ok := c.lastStatus()
		return ok && s.State == StateOffline
	})
	s, _ := c.lastStatus()
	if s.Reason != reasonConnectionLost || s.BootID != "boot-child" || s.Box != "hd17-east" {
		t.Fatalf("last will %+v", s)
	}
	// Retained: a consumer connecting later sees the box offline.
	late := newCollector()
	subscribe(t, m.URL("tcp"), "late", "gatescreen/v1/+/+/+/status", true, nil, late)
	waitFor(t, "the retained status", func() bool { s, ok := late.lastStatus(); return ok && s.State == StateOffline })
}

// A clean stop replaces the retained status with offline/shutdown.
func TestMosquittoCleanShutdown(t *testing.T) {
	port := mosquittotest.FreePort(t)
	m := mosquittotest.New(t, port, mosquittotest.PlainConf(t, port))
	m.Start()
	ob := newMemOutbox()
	u := newUplink(t, ob, testOpts(m.URL("tcp")))
	stop := runUplink(t, u)
	waitFor(t, "connected", func() bool { return u.Status().Connected })
	stop()
	c := newCollector()
	subscribe(t, m.URL("tcp"), "late", "gatescreen/v1/+/+/+/status", true, nil, c)
	waitFor(t, "the retained status", func() bool { _, ok := c.lastStatus(); return ok })
	s, _ := c.lastStatus()
	if s.State != StateOffline || s.Reason != reasonShutdown || s.Since == "" {
		t.Fatalf("retained status after shutdown: %+v", s)
	}
}
