package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
)

// Queue selects one of the store's two outbox queues.
type Queue int

const (
	// Priority holds urgent events: cases, health, gaps, flags, daily
	// reports, calibration. It always drains first.
	Priority Queue = iota
	// Bulk holds normal readings.
	Bulk
)

// Outbox is what the uplink needs from the store.
type Outbox interface {
	// Visit calls fn with up to max un-acked events of q with Seq > after,
	// in sequence order, and returns fn's first error. The event and its
	// Body are lent for the call only (the store's mapped file): the
	// uplink copies them into a payload as it goes, and never keeps them.
	Visit(q Queue, after uint64, max int, fn func(ev *event.Event) error) error
	// Ack removes delivered events from the outbox.
	Ack(seqs ...uint64) error
	// Notify is signalled after commits that add outbox entries.
	Notify() <-chan struct{}
}

// Clock corrects the wall time of events captured before NTP synced
// (sync/clock.Clock).
type Clock interface {
	Correct(bootID string, mono, wall int64, synced bool) (wall2 int64, synced2 bool)
}

// Opts configures an Uplink. Zero values take the documented defaults.
type Opts struct {
	// Broker is the broker URL: tcp://host:1883, ssl://host:8883, ws://…
	Broker string
	// ClientID; default "gatescreen-<BoxID>". It must be unique per box.
	ClientID string
	Username string
	// Password is the secret itself, already read from its file.
	Password string
	// TLS for ssl:// and wss:// brokers; see TLSConfig.
	TLS *tls.Config
	// District, School and Gate name the topic prefix
	// gatescreen/v1/<district>/<school>/<gate>; BoxID is the first half of
	// every event id. All required, without '/', '+' or '#'.
	District, School, Gate, BoxID string
	// BootID and Version go into the status message.
	BootID, Version string
	// Identity is none, pseudonym (default) or id.
	Identity string
	// PseudonymKey is the school's HMAC key, required for pseudonym.
	PseudonymKey []byte
	// Clock corrects captured_at of events stamped before sync; optional.
	Clock Clock
	// BatchSize is the most events in one readings message; default 200.
	BatchSize int
	// MaxInflight bounds messages published and not yet acknowledged by the
	// broker; default 16.
	MaxInflight int
	// RateLimit bounds bulk readings messages per second while a backlog
	// drains; 0 means unlimited. Urgent messages are never held back.
	RateLimit float64
	// Keepalive; default 30s.
	Keepalive time.Duration
	// Timeout bounds every wait on the broker (connect, PUBACK, ping);
	// default 10s. A PUBACK that does not come in time ends the connection
	// and its messages are resent on the next.
	Timeout time.Duration
	// MaxBackoff caps the wait between connection attempts; default 60s.
	// Waits start at min(1s, MaxBackoff), double, and are jittered.
	MaxBackoff time.Duration
	Logger     zerolog.Logger
}

// Status is a snapshot for the screen and /metrics.
type Status struct {
	Connected bool
	// Since is when the current state (connected or not) began.
	Since       time.Time
	LastError   string
	LastErrorAt time.Time
	// Connects counts successful connections.
	Connects uint64
	// SentMessages and SentEvents count publishes; AckedEvents counts
	// events removed from the outbox after their PUBACK.
	SentMessages uint64
	SentEvents   uint64
	AckedEvents  uint64
	// Unconfirmed counts events that were published but whose PUBACK did
	// not arrive on their connection; they are resent, so the district may
	// receive each of them twice (it drops duplicates by id).
	Unconfirmed uint64
	// Malformed counts events whose body was not a JSON object; they are
	// sent with the body as a string in "body_raw".
	Malformed uint64
	// LastAckAt is when the broker last acknowledged events; zero if never.
	LastAckAt time.Time
}

// Uplink publishes the outbox to the district broker.
type Uplink struct {
	ob     Outbox
	o      Opts
	enc    *encoder
	log    zerolog.Logger
	prefix string

	// epoch numbers connections; a PUBACK counts only for the epoch that
	// published the message.
	epoch atomic.Uint64

	// payloads are the buffers of acknowledged messages, for the next ones
	// (see batcher). Paho does not copy a payload, so a buffer comes back
	// only after the PUBACK of its message: paho wrote it and dropped it.
	payloadMu sync.Mutex
	payloads  [][]byte

	mu sync.Mutex
	st Status
}

const topicRoot = "gatescreen/v1"

// New checks o and returns an Uplink; Run connects.
func New(ob Outbox, o Opts) (*Uplink, error) {
	if ob == nil {
		return nil, errors.New("uplink: nil outbox")
	}
	if o.Broker == "" {
		return nil, errors.New("uplink: no broker URL")
	}
	for _, f := range []struct{ name, v string }{
		{"district", o.District}, {"school", o.School}, {"gate", o.Gate}, {"box id", o.BoxID},
	} {
		if f.v == "" || strings.ContainsAny(f.v, "/+#\x00") {
			return nil, fmt.Errorf("uplink: %s %q: must be non-empty without '/', '+', '#'", f.name, f.v)
		}
	}
	if o.Identity == "" {
		o.Identity = IdentityPseudonym
	}
	if o.ClientID == "" {
		o.ClientID = "gatescreen-" + o.BoxID
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 200
	}
	if o.MaxInflight <= 0 {
		o.MaxInflight = 16
	}
	if o.Keepalive <= 0 {
		o.Keepalive = 30 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 60 * time.Second
	}
	if o.RateLimit < 0 {
		return nil, fmt.Errorf("uplink: rate limit %v: must be ≥ 0", o.RateLimit)
	}
	enc, err := newEncoder(o.BoxID, o.Identity, o.PseudonymKey, o.Clock)
	if err != nil {
		return nil, err
	}
	return &Uplink{
		ob:     ob,
		o:      o,
		enc:    enc,
		log:    o.Logger,
		prefix: strings.Join([]string{topicRoot, o.District, o.School, o.Gate}, "/"),
	}, nil
}

// Topic returns the full topic of a leaf: status, readings, cases, daily or
// health.
func (u *Uplink) Topic(leaf string) string { return u.prefix + "/" + leaf }

// Status returns a snapshot of the connection and counters.
func (u *Uplink) Status() Status {
	u.mu.Lock()
	st := u.st
	u.mu.Unlock()
	st.Malformed = u.enc.malformed.Load()
	return st
}

// Run connects, publishes the outbox and reconnects until ctx is done; then
// it publishes the retained offline status and disconnects. It returns nil
// on cancellation: there is no fatal error, the outbox keeps everything.
func (u *Uplink) Run(ctx context.Context) error {
	u.mu.Lock()
	u.st.Since = time.Now()
	u.mu.Unlock()
	bo := newBackoff(min(time.Second, u.o.MaxBackoff), u.o.MaxBackoff)
	for {
		lasted, err := u.connection(ctx)
		if ctx.Err() != nil {
			return nil
		}
		u.noteError(err)
		if lasted >= stableConnection {
			bo.reset()
		}
		wait := bo.next()
		u.log.Warn().Err(err).Dur("retry_in", wait).Msg("uplink disconnected")
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (u *Uplink) noteError(err error) {
	if err == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.st.LastError = err.Error()
	u.st.LastErrorAt = time.Now()
}

func (u *Uplink) setConnected(on bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.st.Connected == on {
		return
	}
	u.st.Connected = on
	u.st.Since = time.Now()
	if on {
		u.st.Connects++
	}
}

// stableConnection is how long a connection must last before the backoff
// starts again from its minimum: a broker that accepts and then drops a box
// at once must not make it reconnect in a tight loop.
const stableConnection = 30 * time.Second

// connection runs one MQTT connection from connect to its end and reports
// how long it was up (0 if it never got as far as the online status).
func (u *Uplink) connection(ctx context.Context) (lasted time.Duration, err error) {
	s := &session{u: u, epoch: u.epoch.Add(1), done: make(chan struct{}), slots: make(chan struct{}, u.o.MaxInflight)}
	will := statusPayload(u.o.BoxID, StateOffline, u.o.BootID, u.o.Version, time.Time{}, reasonConnectionLost)
	opts := paho.NewClientOptions().
		AddBroker(u.o.Broker).
		SetClientID(u.o.ClientID).
		SetUsername(u.o.Username).
		SetPassword(u.o.Password).
		SetTLSConfig(u.o.TLS).
		SetCleanSession(true).
		SetAutoReconnect(false). // our own loop: jitter, and a new client (and epoch) per connection
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetKeepAlive(u.o.Keepalive).
		SetPingTimeout(u.o.Timeout).
		SetConnectTimeout(u.o.Timeout).
		SetWriteTimeout(u.o.Timeout).
		SetBinaryWill(u.Topic("status"), will, 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.stop(fmt.Errorf("uplink: connection to %s lost: %w", u.o.Broker, err))
		})
	client := paho.NewClient(opts)
	if err := u.wait(ctx, client.Connect()); err != nil {
		client.Disconnect(0)
		return 0, fmt.Errorf("uplink: connect %s: %w", u.o.Broker, err)
	}
	s.client = client
	since := time.Now()
	online := statusPayload(u.o.BoxID, StateOnline, u.o.BootID, u.o.Version, since, "")
	if err := u.wait(ctx, client.Publish(u.Topic("status"), 1, true, online)); err != nil {
		s.stop(err)
		client.Disconnect(0)
		return 0, fmt.Errorf("uplink: publish online status to %s: %w", u.o.Broker, err)
	}
	u.setConnected(true)
	u.log.Info().Str("broker", u.o.Broker).Uint64("epoch", s.epoch).Msg("uplink connected")

	err = s.drain(ctx)
	if ctx.Err() != nil {
		u.shutdown(s)
	} else {
		s.stop(err)
		u.abandon(client)
	}
	s.inflight.Wait()
	u.setConnected(false)
	if n := s.sentEvents.Load() - s.ackedEvents.Load(); n > 0 {
		u.mu.Lock()
		u.st.Unconfirmed += n
		u.mu.Unlock()
	}
	return time.Since(since), s.err()
}

// shutdown lets the messages in flight get their PUBACK (bounded by
// Timeout), then replaces the retained status with offline and disconnects
// cleanly, which tells the broker not to publish the will.
func (u *Uplink) shutdown(s *session) {
	waited := make(chan struct{})
	go func() { s.inflight.Wait(); close(waited) }()
	t := time.NewTimer(u.o.Timeout)
	select {
	case <-waited:
	case <-t.C:
	case <-s.done:
	}
	t.Stop()
	s.stop(context.Canceled)
	offline := statusPayload(u.o.BoxID, StateOffline, u.o.BootID, u.o.Version, time.Now(), reasonShutdown)
	if err := u.wait(context.Background(), s.client.Publish(u.Topic("status"), 1, true, offline)); err != nil {
		u.log.Warn().Err(err).Msg("publishing offline status; the broker will publish the last will")
	}
	s.client.Disconnect(uint(min(u.o.Timeout, time.Second) / time.Millisecond))
	u.log.Info().Msg("uplink stopped")
}

// abandon ends a connection the uplink gave up on (no PUBACK in time, a
// failed publish). Paho cannot drop a socket without sending DISCONNECT,
// which would cancel the last will, so the offline status is published
// first if the connection still carries anything.
func (u *Uplink) abandon(client paho.Client) {
	if client.IsConnectionOpen() {
		offline := statusPayload(u.o.BoxID, StateOffline, u.o.BootID, u.o.Version, time.Now(), reasonConnectionLost)
		tok := client.Publish(u.Topic("status"), 1, true, offline)
		tok.WaitTimeout(min(u.o.Timeout, time.Second))
	}
	client.Disconnect(0)
}

var errTimeout = errors.New("timed out")

// wait waits for a paho token, at most Timeout: paho tokens can hang.
func (u *Uplink) wait(ctx context.Context, tok paho.Token) error {
	t := time.NewTimer(u.o.Timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-t.C:
		return fmt.Errorf("waiting %v for the broker: %w", u.o.Timeout, errTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// session is the state of one connection.
type session struct {
	u      *Uplink
	epoch  uint64
	client paho.Client
	// slots holds one token per message in flight.
	slots    chan struct{}
	inflight sync.WaitGroup
	// after is the last seq published per queue on this connection; a new
	// connection starts from 0, so all un-acked events are resent.
	after    [2]uint64
	nextBulk time.Time

	sentEvents, ackedEvents atomic.Uint64

	stopOnce sync.Once
	done     chan struct{}
	cause    error
}

func (s *session) stop(err error) {
	s.stopOnce.Do(func() {
		s.cause = err
		close(s.done)
	})
}

func (s *session) err() error {
	<-s.done
	return s.cause
}

// current reports whether the session's connection is still the live one.
func (s *session) current() bool {
	select {
	case <-s.done:
		return false
	default:
		return s.u.epoch.Load() == s.epoch
	}
}

// outboxRetry is how long to wait after an outbox read error.
const outboxRetry = time.Second

// drain publishes the outbox until the connection ends or ctx is done.
func (s *session) drain(ctx context.Context) error {
	for {
		notify := s.u.ob.Notify() // before reading, so no commit is missed
		sent, err := s.step(ctx)
		if err != nil {
			if ctx.Err() != nil || !s.current() {
				return err
			}
			s.u.noteError(err)
			s.u.log.Error().Err(err).Msg("reading the outbox")
			if !sleep(ctx, s.done, outboxRetry) {
				return ctx.Err()
			}
			continue
		}
		if sent {
			continue
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return s.cause
		}
	}
}

// step publishes one read of the priority queue or, if it is empty, one
// batch of bulk readings. It reports whether anything was published. The
// read encodes the events straight from the store's pages into payloads;
// the publishing, which waits for slots in the window, comes after it.
func (s *session) step(ctx context.Context) (bool, error) {
	for _, q := range []Queue{Priority, Bulk} {
		b := s.u.newBatcher()
		if err := s.u.ob.Visit(q, s.after[q], s.u.o.BatchSize, b.add); err != nil {
			return false, fmt.Errorf("uplink: outbox queue %d: %w", q, err)
		}
		msgs := b.finish()
		if len(msgs) == 0 {
			continue
		}
		for _, m := range msgs {
			if q == Bulk {
				if err := s.rateLimit(ctx); err != nil {
					return false, err
				}
			}
			if err := s.publish(ctx, m); err != nil {
				return false, err
			}
		}
		s.after[q] = b.last
		return true, nil
	}
	return false, nil
}

func (s *session) rateLimit(ctx context.Context) error {
	if s.u.o.RateLimit == 0 {
		return nil
	}
	now := time.Now()
	if wait := s.nextBulk.Sub(now); wait > 0 {
		if !sleep(ctx, s.done, wait) {
			return s.stopped(ctx)
		}
		now = s.nextBulk
	}
	s.nextBulk = now.Add(time.Duration(float64(time.Second) / s.u.o.RateLimit))
	return nil
}

func (s *session) stopped(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return s.cause
}

// message is one MQTT publish and the events it carries.
type message struct {
	topic    string
	retained bool
	payload  []byte
	seqs     []uint64
}

// batcher turns the events of one outbox read, as they are lent, into
// messages: consecutive readings and gaps share a readings message, every
// other event is a message of its own.
type batcher struct {
	u    *Uplink
	msgs []message
	// open: the last message is a readings message still taking events.
	open bool
	last uint64
}

func (u *Uplink) newBatcher() *batcher { return &batcher{u: u} }

// add encodes ev into the messages; it keeps nothing of ev.
func (b *batcher) add(ev *event.Event) error {
	b.last = ev.Seq
	topic := ev.Kind.Topic()
	if topic != "readings" {
		b.close()
		b.msgs = append(b.msgs, message{
			topic:    b.u.Topic(topic),
			retained: ev.Kind == event.KindDaily,
			payload:  b.u.enc.single(b.u.payload(), ev),
			seqs:     []uint64{ev.Seq},
		})
		return nil
	}
	if b.open && len(b.msgs[len(b.msgs)-1].seqs) >= b.u.o.BatchSize {
		b.close()
	}
	if !b.open {
		b.msgs = append(b.msgs, message{topic: b.u.Topic("readings"),
			payload: b.u.enc.openBatch(b.u.payload()), seqs: make([]uint64, 0, b.u.o.BatchSize)})
		b.open = true
	}
	m := &b.msgs[len(b.msgs)-1]
	m.payload = b.u.enc.batchEvent(m.payload, ev, len(m.seqs) == 0)
	m.seqs = append(m.seqs, ev.Seq)
	return nil
}

func (b *batcher) close() {
	if b.open {
		m := &b.msgs[len(b.msgs)-1]
		m.payload = b.u.enc.closeBatch(m.payload)
		b.open = false
	}
}

// finish returns the messages, complete.
func (b *batcher) finish() []message {
	b.close()
	return b.msgs
}

// payload returns an empty buffer for a message, one of an acknowledged
// message if there is one: a drain then writes its payloads into the same
// few buffers instead of growing a new one for each message.
func (u *Uplink) payload() []byte {
	u.payloadMu.Lock()
	defer u.payloadMu.Unlock()
	if n := len(u.payloads); n > 0 {
		p := u.payloads[n-1]
		u.payloads = u.payloads[:n-1]
		return p[:0]
	}
	return nil
}

// recycle takes back the buffer of a message whose PUBACK came. It keeps
// as many as the in-flight window can use at once.
func (u *Uplink) recycle(p []byte) {
	u.payloadMu.Lock()
	defer u.payloadMu.Unlock()
	if len(u.payloads) <= u.o.MaxInflight {
		u.payloads = append(u.payloads, p)
	}
}

// publish sends m once a slot in the in-flight window is free; a goroutine
// acks its events when the PUBACK comes on this same connection.
func (s *session) publish(ctx context.Context, m message) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return s.cause
	}
	tok := s.client.Publish(m.topic, 1, m.retained, m.payload)
	s.sentEvents.Add(uint64(len(m.seqs)))
	s.u.mu.Lock()
	s.u.st.SentMessages++
	s.u.st.SentEvents += uint64(len(m.seqs))
	s.u.mu.Unlock()
	s.inflight.Add(1)
	go s.confirm(tok, m.payload, m.seqs)
	return nil
}

// confirm waits for the PUBACK of a message and acks its events. Only
// then is its payload recycled: a message that timed out may still sit in
// paho's outgoing queue.
func (s *session) confirm(tok paho.Token, payload []byte, seqs []uint64) {
	defer s.inflight.Done()
	ok := s.puback(tok)
	// The window bounds what the broker has not answered: the next message
	// goes out while the store records this one's acks.
	<-s.slots
	if !ok {
		return
	}
	s.u.recycle(payload)
	if !s.current() {
		return // the PUBACK's connection is gone; the events are resent
	}
	if err := s.u.ob.Ack(seqs...); err != nil {
		s.u.noteError(err)
		s.u.log.Error().Err(err).Uint64("first_seq", seqs[0]).Int("events", len(seqs)).Msg("acking delivered events; they will be sent again")
		return
	}
	s.ackedEvents.Add(uint64(len(seqs)))
	s.u.mu.Lock()
	s.u.st.AckedEvents += uint64(len(seqs))
	s.u.st.LastAckAt = time.Now()
	s.u.mu.Unlock()
}

// puback waits for tok, at most Timeout, and reports whether the broker
// acknowledged the message; if not, the session ends (unless it did
// already).
func (s *session) puback(tok paho.Token) bool {
	t := time.NewTimer(s.u.o.Timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
	case <-t.C:
		s.stop(fmt.Errorf("uplink: no PUBACK from %s within %v: %w", s.u.o.Broker, s.u.o.Timeout, errTimeout))
		return false
	case <-s.done:
		return false
	}
	if err := tok.Error(); err != nil {
		s.stop(fmt.Errorf("uplink: publish to %s: %w", s.u.o.Broker, err))
		return false
	}
	return true
}

// sleep waits d; false if ctx or stop ended the wait first.
func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}

// backoff doubles from lo to hi; each wait is drawn from [d/2, d] so that
// boxes that lost the same broker do not come back in step.
type backoff struct{ lo, hi, d time.Duration }

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{lo: lo, hi: hi, d: lo} }

func (b *backoff) reset() { b.d = b.lo }

func (b *backoff) next() time.Duration {
	d := b.d
	b.d = min(2*b.d, b.hi)
	return d/2 + rand.N(d/2+1)
}
