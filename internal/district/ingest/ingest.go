package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

// Writer commits a batch in one transaction; *store.Store is one.
type Writer interface {
	Write(ctx context.Context, b *store.Batch) (store.Outcome, error)
}

// Opts configures an Ingester; zero fields take the documented defaults.
type Opts struct {
	// Broker is the MQTT 3.1.1 broker's URL: tcp://host:1883, ssl://host:8883.
	Broker string
	// District is the topic level the ingester takes: gatescreen/v1/<District>/#.
	District string
	// Group is the shared subscription's group: the ingesters of one group
	// share the messages, each message going to one of them.
	Group string
	// ClientID must be fixed and unique per ingester: the broker keeps the
	// persistent session (the subscription and every message not yet
	// acknowledged) under it.
	ClientID string
	// Username and Password, if the broker asks for them.
	Username, Password string
	// CAFile is the broker's CA certificate (PEM) for ssl:// brokers; empty
	// is the system's roots. CertFile and KeyFile are this ingester's
	// client certificate and key (PEM) for mutual TLS: both or neither. A
	// broker whose certificate the CA does not sign, or that refuses the
	// client certificate, stops Run with an error naming the file.
	CAFile, CertFile, KeyFile string
	// Store receives the batches.
	Store Writer
	// BatchEvents closes a batch at this many events (and quarantined
	// payloads); default 1000. The broker's in-flight window
	// (max_inflight_messages) bounds a batch too: it sends no more
	// unacknowledged messages than that.
	BatchEvents int
	// FlushInterval is how long a batch waits for more messages after its
	// first; default 10 ms.
	FlushInterval time.Duration
	// MaxPayload bounds a payload; default DefaultMaxPayload (1 MiB).
	MaxPayload int
	// RetryMin and RetryMax bound the backoff between failed writes;
	// default 100 ms doubling to 2 s, jittered: a database back is written
	// to within about 2 s, and one retry every 2 s is no load on it.
	RetryMin, RetryMax time.Duration
	// StatsInterval is how often the counters are logged; default 1 min.
	StatsInterval time.Duration
	// Log is the ingester's logger; zero is no logging.
	Log zerolog.Logger
}

func (o *Opts) defaults() error {
	// district and group become topic levels of the subscription.
	for _, f := range []struct{ name, value string }{{"district", o.District}, {"group", o.Group}} {
		if f.value == "" {
			return fmt.Errorf("ingest: %s is required", f.name)
		}
		if strings.ContainsAny(f.value, "/+#") {
			return fmt.Errorf("ingest: %s %q must not contain /, + or #", f.name, f.value)
		}
	}
	if o.ClientID == "" {
		return errors.New("ingest: client id is required: the broker keeps the session under it")
	}
	if o.Broker == "" {
		return errors.New("ingest: broker URL is required")
	}
	if o.Store == nil {
		return errors.New("ingest: no store")
	}
	setDefault(&o.BatchEvents, 1000)
	setDefault(&o.FlushInterval, 10*time.Millisecond)
	setDefault(&o.RetryMin, 100*time.Millisecond)
	setDefault(&o.RetryMax, 2*time.Second)
	setDefault(&o.StatsInterval, time.Minute)
	return nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Stats are an ingester's counters since it started.
type Stats struct {
	Received    int64 // messages handed over by the broker (redeliveries too)
	Acked       int64 // messages acknowledged after their commit
	Inserted    int64 // new events
	Duplicates  int64 // events the database already had
	Conflicts   int64 // events whose id was stored with another body
	Quarantined int64 // payloads kept aside
	WriteErrors int64 // failed writes, each retried
}

// Ingester is one member of the district's shared subscription.
type Ingester struct {
	opts      Opts
	tls       *tls.Config // nil: none, or the URL scheme's default
	dec       *Decoder
	log       zerolog.Logger
	qlog      zerolog.Logger // quarantine notices, sampled: a flood must not flood the log
	wlog      zerolog.Logger // repeated write failures, sampled: an outage says so every 10 s
	in        chan received
	subErr    chan error // a refused subscription or TLS handshake: Run returns it
	ready     chan struct{}
	readyOnce sync.Once

	received, acked, inserted, duplicates, conflicts, quarantined, writeErrors atomic.Int64

	mu       sync.Mutex
	byReason map[string]int64
}

// received is a message with its arrival time.
type received struct {
	msg mqtt.Message
	at  time.Time
}

// inbox holds what the broker sent and is not yet committed. The broker
// sends no more unacknowledged messages than its in-flight window, and
// MQTT has 65,535 packet ids: paho's handler never blocks on a full inbox.
const inbox = 1 << 16

// New checks opts and makes an ingester; Run starts it.
func New(opts Opts) (*Ingester, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	tc, err := tlsConfig(opts.CAFile, opts.CertFile, opts.KeyFile)
	if err != nil {
		return nil, err
	}
	dec, err := NewDecoder(opts.District, opts.MaxPayload)
	if err != nil {
		return nil, err
	}
	return &Ingester{
		opts:     opts,
		tls:      tc,
		dec:      dec,
		log:      opts.Log,
		qlog:     opts.Log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Minute}),
		wlog:     opts.Log.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Second}),
		in:       make(chan received, inbox),
		subErr:   make(chan error, 1),
		ready:    make(chan struct{}),
		byReason: map[string]int64{},
	}, nil
}

// Filter is the shared subscription: $share/<group>/gatescreen/v1/<district>/#.
func (in *Ingester) Filter() string {
	return "$share/" + in.opts.Group + "/gatescreen/v1/" + in.opts.District + "/#"
}

// Ready is closed once the subscription is in place: from then on the
// broker keeps the district's messages for this ingester's session.
func (in *Ingester) Ready() <-chan struct{} { return in.ready }

// Stats returns the counters.
func (in *Ingester) Stats() Stats {
	return Stats{
		Received: in.received.Load(), Acked: in.acked.Load(), Inserted: in.inserted.Load(),
		Duplicates: in.duplicates.Load(), Conflicts: in.conflicts.Load(),
		Quarantined: in.quarantined.Load(), WriteErrors: in.writeErrors.Load(),
	}
}

// QuarantinedBy returns the quarantine counts by reason.
func (in *Ingester) QuarantinedBy() map[string]int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return maps.Clone(in.byReason)
}
