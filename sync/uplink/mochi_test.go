package uplink

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/gatescreen/gatescreen/event"
)

// fault is what faultHook does to one publish from the box.
type fault int

const (
	pass    fault = iota
	reject        // swallow it: no PUBACK, connection stays up
	hangUp        // drop the connection instead of sending the PUBACK
	holdOne       // hold the client's read loop until release is closed
)

// faultHook injects broker faults into publishes on the readings topic.
type faultHook struct {
	mqtt.HookBase
	decide  func(n int) fault // n counts readings publishes from 1
	n       atomic.Int32
	release chan struct{}
}

func (h *faultHook) ID() string { return "fault-injection" }

func (h *faultHook) Provides(b byte) bool { return b == mqtt.OnPublish }

func (h *faultHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || !strings.HasSuffix(pk.TopicName, "/readings") {
		return pk, nil
	}
	switch h.decide(int(h.n.Add(1))) {
	case reject:
		return pk, packets.ErrRejectPacket
	case hangUp:
		cl.Stop(errors.New("fault injection: connection dropped before PUBACK"))
		return pk, packets.ErrRejectPacket
	case holdOne:
		<-h.release
	}
	return pk, nil
}

// startMochi runs an in-process broker on a free loopback port with hook,
// and an inline consumer feeding c.
func startMochi(t *testing.T, hook *faultHook, c *collector) string {
	t.Helper()
	s := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddHook(hook, nil); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddListener(listeners.NewNet("t", l)); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Subscribe("gatescreen/v1/#", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		c.record(pk.TopicName, pk.Payload, false)
	}); err != nil {
		t.Fatal(err)
	}
	return "tcp://" + l.Addr().String()
}

func TestMochiNothingAckedWithoutPuback(t *testing.T) {
	var rejecting atomic.Bool
	rejecting.Store(true)
	hook := &faultHook{decide: func(int) fault {
		if rejecting.Load() {
			return reject
		}
		return pass
	}}
	c := newCollector()
	url := startMochi(t, hook, c)
	ob := newMemOutbox()
	seqs := ob.add(Bulk, event.KindReading, 50)
	o := testOpts(url)
	o.BatchSize = 10
	o.Timeout = 300 * time.Millisecond
	u := newUplink(t, ob, o)
	runUplink(t, u)

	waitFor(t, "a PUBACK timeout", func() bool { return strings.Contains(u.Status().LastError, "PUBACK") })
	if acked := ob.ackedSet(); len(acked) != 0 || ob.len() != 50 {
		t.Fatalf("acked %v without a PUBACK", acked)
	}
	if c.distinct() != 0 {
		t.Fatalf("a rejected publish reached a subscriber")
	}
	waitFor(t, "the offline status of the abandoned connection", func() bool {
		s, ok := c.lastStatus()
		return ok && s.State == StateOffline && s.Reason == reasonConnectionLost
	})
	rejecting.Store(false)
	waitFor(t, "all acked", func() bool { return ob.len() == 0 })
	waitFor(t, "all received", func() bool { return c.distinct() == len(seqs) })
	expectIDs(t, c, "hd17-east", seqs)
	expectAckedOnce(t, ob, seqs)
	if st := u.Status(); st.Unconfirmed < 10 || st.Connects < 2 {
		t.Fatalf("status %+v: want the timed-out window counted and a reconnect", st)
	}
}

func TestMochiConnectionDroppedBeforePuback(t *testing.T) {
	hook := &faultHook{decide: func(n int) fault {
		if n == 3 {
			return hangUp
		}
		return pass
	}}
	c := newCollector()
	url := startMochi(t, hook, c)
	ob := newMemOutbox()
	seqs := ob.add(Bulk, event.KindReading, 100)
	o := testOpts(url)
	o.BatchSize = 10
	u := newUplink(t, ob, o)
	runUplink(t, u)

	waitFor(t, "all acked", func() bool { return ob.len() == 0 })
	waitFor(t, "all received", func() bool { return c.distinct() == len(seqs) })
	expectIDs(t, c, "hd17-east", seqs)
	expectAckedOnce(t, ob, seqs)
	st := u.Status()
	if st.Connects != 2 || st.Unconfirmed < 10 {
		t.Fatalf("status %+v: want one reconnect and the dropped message counted", st)
	}
	if uint64(c.duplicates()) > st.Unconfirmed {
		t.Fatalf("%d duplicates > %d unconfirmed", c.duplicates(), st.Unconfirmed)
	}
}

func TestMochiInflightWindow(t *testing.T) {
	hook := &faultHook{decide: func(n int) fault {
		if n == 1 {
			return holdOne
		}
		return pass
	}, release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(hook.release) }) }
	t.Cleanup(release)
	c := newCollector()
	url := startMochi(t, hook, c)
	ob := newMemOutbox()
	seqs := ob.add(Bulk, event.KindReading, 40)
	o := testOpts(url)
	o.BatchSize = 2
	o.MaxInflight = 3
	u := newUplink(t, ob, o)
	runUplink(t, u)

	waitFor(t, "the window to fill", func() bool { return u.Status().SentMessages == 3 })
	time.Sleep(200 * time.Millisecond) // room for a wrong fourth publish to show
	if st := u.Status(); st.SentMessages != 3 || st.AckedEvents != 0 {
		t.Fatalf("window of 3 exceeded or acked early: %+v", st)
	}
	release()
	waitFor(t, "all acked", func() bool { return ob.len() == 0 })
	expectAckedOnce(t, ob, seqs)
	if st := u.Status(); st.SentMessages != 20 || st.Connects != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestMochiPriorityBeforeBacklog(t *testing.T) {
	hook := &faultHook{decide: func(int) fault { return pass }}
	c := newCollector()
	url := startMochi(t, hook, c)
	ob := newMemOutbox()
	seqs := ob.add(Bulk, event.KindReading, 100)
	seqs = append(seqs, ob.add(Priority, event.KindCase, 3)...)
	seqs = append(seqs, ob.add(Priority, event.KindDaily, 1)...)
	o := testOpts(url)
	o.BatchSize = 10
	u := newUplink(t, ob, o)
	runUplink(t, u)
	waitFor(t, "all received", func() bool { return c.distinct() == len(seqs) })
	c.mu.Lock()
	topics := append([]string(nil), c.topics...)
	c.mu.Unlock()
	var order []string
	for _, tp := range topics {
		order = append(order, tp[strings.LastIndex(tp, "/")+1:])
	}
	want := []string{"status", "cases", "cases", "cases", "daily", "readings"}
	if len(order) < len(want) || strings.Join(order[:len(want)], ",") != strings.Join(want, ",") {
		t.Fatalf("publish order %v, want it to start %v", order, want)
	}
}

// fakeToken is a paho token that has already completed.
type fakeToken struct {
	done chan struct{}
	err  error
}

func completed(err error) *fakeToken {
	t := &fakeToken{done: make(chan struct{}), err: err}
	close(t.done)
	return t
}

func (t *fakeToken) Wait() bool                     { return true }
func (t *fakeToken) WaitTimeout(time.Duration) bool { return true }
func (t *fakeToken) Done() <-chan struct{}          { return t.done }
func (t *fakeToken) Error() error                   { return t.err }

// A token that completes without error after its connection was replaced
// (paho's auto-reconnect does this) must not ack anything.
func TestConfirmCountsOnlyTheSameConnection(t *testing.T) {
	ob := newMemOutbox()
	seqs := ob.add(Bulk, event.KindReading, 2)
	u := newUplink(t, ob, testOpts("tcp://127.0.0.1:1"))
	newSession := func() *session {
		return &session{u: u, epoch: u.epoch.Add(1), done: make(chan struct{}), slots: make(chan struct{}, 1)}
	}
	confirm := func(s *session, seq uint64, err error) {
		s.slots <- struct{}{}
		s.inflight.Add(1)
		s.confirm(completed(err), nil, []uint64{seq})
	}

	old := newSession()
	_ = newSession() // the reconnect
	confirm(old, seqs[0], nil)
	if len(ob.ackedSet()) != 0 {
		t.Fatal("a PUBACK of an earlier connection acked an event")
	}
	cur := newSession()
	confirm(cur, seqs[0], errors.New("connection lost before Publish completed"))
	if len(ob.ackedSet()) != 0 {
		t.Fatal("a failed publish acked an event")
	}
	cur = newSession()
	confirm(cur, seqs[1], nil)
	if acked := ob.ackedSet(); acked[seqs[1]] != 1 || len(acked) != 1 {
		t.Fatalf("acked %v, want only seq %d", acked, seqs[1])
	}
}

func TestMochiUsernamePassword(t *testing.T) {
	s := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.AddHook(new(auth.Hook), &auth.Options{Ledger: &auth.Ledger{
		Auth: auth.AuthRules{{Username: "hd17-east", Password: "s3cret", Allow: true}},
	}}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddListener(listeners.NewNet("t", l)); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	ob := newMemOutbox()
	ob.add(Priority, event.KindHealth, 1)
	o := testOpts("tcp://" + l.Addr().String())
	o.Username, o.Password = "hd17-east", "wrong"
	u := newUplink(t, ob, o)
	stop := runUplink(t, u)
	waitFor(t, "a refused connection", func() bool { return strings.Contains(u.Status().LastError, "connect") })
	stop()
	if st := u.Status(); st.Connects != 0 || ob.len() != 1 {
		t.Fatalf("connected with a wrong password: %+v", st)
	}

	o.Password = "s3cret"
	u = newUplink(t, ob, o)
	runUplink(t, u)
	waitFor(t, "the event acked", func() bool { return ob.len() == 0 })
}
