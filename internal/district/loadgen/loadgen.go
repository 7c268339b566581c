package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/district/simbox"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

// SeqReader is the district database as the probe needs it; *store.Store
// is one.
type SeqReader interface {
	LastSeq(ctx context.Context, box string) (int64, error)
}

// Opts configures Run; zero fields take the documented defaults.
type Opts struct {
	// Broker is the district broker's URL, e.g. tcp://127.0.0.1:1883 (required).
	Broker string
	// District is the boxes' district level; default "lg".
	District string
	// Boxes is how many boxes connect; default 100. Every GatesPerSchool of
	// them (default 2) are one school's gates.
	Boxes, GatesPerSchool int
	// Rate is the events a second of all boxes together at the profile's
	// mean; default 1000.
	Rate float64
	// Duration is how long the boxes screen; default 1 min.
	Duration time.Duration
	// Profile shapes the rate over the run; default the morning rush
	// (NewRush), each school shifted by up to ±5 % of the run.
	Profile Profile
	// Tick is how often a box's screened people become readings in its
	// outbox; default 100 ms.
	Tick time.Duration
	// Inflight is how many messages a box has unacknowledged at most (the
	// uplink's window); default 16.
	Inflight int
	// FlagEvery makes one reading in FlagEvery a flag, sent at once as the
	// box sends urgent events, and followed by its re-check case
	// (awaiting_recheck, then cleared); default 500, negative for none.
	FlagEvery int
	// ConnectRate bounds connections a second; default 200 (what the
	// broker's accept backlog takes without refusing).
	ConnectRate float64
	// ClientPrefix starts every client id and box id; default "lg".
	ClientPrefix string
	// Probe, when set, is the district's database: a probe box publishes
	// one reading every ProbeEvery (default 100 ms) and watches its
	// committed high-water mark every 5 ms.
	Probe      SeqReader
	ProbeEvery time.Duration
	// Seed seeds the readings' temperatures; default 1.
	Seed uint64
	// Log is the generator's logger; zero is no logging.
	Log zerolog.Logger
}

func (o *Opts) defaults() error {
	if o.Broker == "" {
		return errors.New("loadgen: broker URL is required")
	}
	setDefault(&o.District, "lg")
	setDefault(&o.Boxes, 100)
	setDefault(&o.GatesPerSchool, 2)
	setDefault(&o.Rate, 1000)
	setDefault(&o.Duration, time.Minute)
	setDefault(&o.Tick, 100*time.Millisecond)
	setDefault(&o.Inflight, 16)
	setDefault(&o.FlagEvery, 500)
	setDefault(&o.ConnectRate, 200)
	setDefault(&o.ClientPrefix, "lg")
	setDefault(&o.ProbeEvery, 100*time.Millisecond)
	setDefault(&o.Seed, 1)
	if o.Profile == nil {
		o.Profile = NewRush()
	}
	if o.Boxes < 0 || o.GatesPerSchool < 0 || o.Rate < 0 || o.Inflight < 0 || o.Duration < 0 {
		return fmt.Errorf("loadgen: boxes %d, gates %d, rate %g, inflight %d, duration %s: none may be negative",
			o.Boxes, o.GatesPerSchool, o.Rate, o.Inflight, o.Duration)
	}
	return nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Result is what a run sent and how the broker answered.
type Result struct {
	Boxes    int
	Messages int64 // PUBACKed, retries not counted
	Events   int64 // PUBACKed events (readings, cases, daily)
	Retries  int64 // messages sent again after a failed or timed-out publish
	Elapsed  time.Duration
	// EventsPerSec is Events over the screening time (Duration).
	EventsPerSec float64
	// PUBACK latency of every message, publish to PUBACK.
	PubackP50, PubackP99, PubackMax time.Duration
	// LastSeq is each box's last seq: its events are <box>:1 … <box>:LastSeq,
	// every one PUBACKed (the probe's apart).
	LastSeq map[string]int64
	// Probe: publish → committed of the probe's readings, and the oldest
	// probe's age not yet committed, highest per tenth of the run.
	ProbeSent            int
	CommitP50, CommitP99 time.Duration
	CommitMax            time.Duration
	OldestUnacked        []time.Duration
	ProbeMissing         int // probes never seen committed
}

// Run connects the boxes, runs the load for Duration and returns once every
// message is acknowledged and the boxes have disconnected.
func Run(ctx context.Context, o Opts) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	g := &gen{o: o, lat: newSamples()}
	boxes := make([]*sim, o.Boxes)
	for i := range boxes {
		school, gate := i/o.GatesPerSchool+1, i%o.GatesPerSchool+1
		b := &simbox.Box{District: o.District, School: fmt.Sprintf("%s%05d", o.ClientPrefix, school), Gate: fmt.Sprintf("g%d", gate)}
		b.ID, b.BootID = b.School+"-"+b.Gate, fmt.Sprintf("%s-boot-%d", o.ClientPrefix, i)
		shift := (float64(hash(b.School)%1001)/1000 - 0.5) * 0.1
		boxes[i] = &sim{g: g, box: b, shift: shift, rng: rand.New(rand.NewPCG(o.Seed, uint64(i))), slots: make(chan struct{}, o.Inflight)}
	}
	o.Log.Info().Int("boxes", o.Boxes).Float64("rate", o.Rate).Dur("duration", o.Duration).Msg("connecting")
	if err := g.connectAll(ctx, boxes); err != nil {
		disconnectAll(boxes)
		return nil, err
	}
	o.Log.Info().Msg("connected; screening")

	start := time.Now()
	end := start.Add(o.Duration)
	var probe *prober
	var wg sync.WaitGroup
	if o.Probe != nil {
		var err error
		if probe, err = g.newProber(ctx); err != nil {
			disconnectAll(boxes)
			return nil, err
		}
		wg.Add(1)
		go func() { defer wg.Done(); probe.run(ctx, start, end) }()
	}
	errs := make(chan error, len(boxes))
	for _, s := range boxes {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- s.run(ctx, start, end) }()
	}
	wg.Wait()
	close(errs)
	var first error
	for err := range errs {
		if err != nil && first == nil {
			first = err
		}
	}
	disconnectAll(boxes)
	if probe != nil {
		probe.client.Disconnect(100)
	}
	r := &Result{Boxes: o.Boxes, Messages: g.messages.Load(), Events: g.events.Load(), Retries: g.retries.Load(),
		Elapsed: time.Since(start), LastSeq: map[string]int64{}}
	r.EventsPerSec = float64(r.Events) / o.Duration.Seconds()
	r.PubackP50, r.PubackP99, r.PubackMax = g.lat.quantiles()
	for _, s := range boxes {
		r.LastSeq[s.box.ID] = s.box.Seq()
	}
	if probe != nil {
		probe.result(r)
	}
	if ctx.Err() != nil && first == nil {
		first = ctx.Err()
	}
	return r, first
}

// gen is one run's shared state.
type gen struct {
	o                         Opts
	messages, events, retries atomic.Int64
	lat                       *samples
}

// connectAll connects the boxes at ConnectRate, several at a time.
func (g *gen) connectAll(ctx context.Context, boxes []*sim) error {
	every := time.Duration(float64(time.Second) / g.o.ConnectRate)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, s := range boxes {
		select {
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.connect(ctx); err != nil {
				mu.Lock()
				first = firstErr(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func disconnectAll(boxes []*sim) {
	var wg sync.WaitGroup
	for _, s := range boxes {
		if s.client != nil && s.client.IsConnected() {
			wg.Add(1)
			go func() { defer wg.Done(); s.client.Disconnect(250) }()
		}
	}
	wg.Wait()
}

// sim is one simulated box.
type sim struct {
	g      *gen
	box    *simbox.Box
	client mqtt.Client
	shift  float64
	rng    *rand.Rand
	slots  chan struct{} // the in-flight window
	wg     sync.WaitGroup
	due    float64 // people screened but not yet read, fractional
	count  store.Counts
	flags  int
	err    atomic.Pointer[error]
}

const wait = 30 * time.Second

func (s *sim) connect(ctx context.Context) error {
	now := time.Now()
	opts := mqtt.NewClientOptions().AddBroker(s.g.o.Broker).SetClientID(s.g.o.ClientPrefix+"-"+s.box.ID).
		SetCleanSession(true). // the box's own durable queue is its outbox, not the MQTT session
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(time.Second).
		SetKeepAlive(60*time.Second).SetConnectTimeout(wait).SetWriteTimeout(wait).
		SetMaxResumePubInFlight(s.g.o.Inflight).
		SetWill(s.box.Topic("status"), string(s.box.Status("offline", "connection_lost", now)), 1, true)
	s.client = mqtt.NewClient(opts)
	tok := s.client.Connect()
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		return fmt.Errorf("loadgen box %s: connecting to %s: %v", s.box.ID, s.g.o.Broker, tok.Error())
	}
	return s.send(ctx, "status", true, s.box.Status("online", "", now), 0)
}

// run screens from start to end, then sends the daily report and the clean
// offline status, and waits for every PUBACK.
func (s *sim) run(ctx context.Context, start, end time.Time) error {
	tick := time.NewTicker(s.g.o.Tick)
	defer tick.Stop()
	perBox := s.g.o.Rate / float64(s.g.o.Boxes)
	dur := end.Sub(start)
	var pending []map[string]any
	var cases [][]byte // cases to send on the next tick: awaiting_recheck's outcome
	last := start
	for done := false; !done; {
		var now time.Time
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return ctx.Err()
		case now = <-tick.C:
		}
		if !now.Before(end) {
			now, done = end, true
		}
		// People screened since the last tick, at the profile's rate then.
		x := now.Sub(start).Seconds()/dur.Seconds() - s.shift
		x -= math.Floor(x)
		s.due += perBox * s.g.o.Profile.Rate(x) * now.Sub(last).Seconds()
		last = now
		for _, c := range cases {
			if err := s.send(ctx, "cases", false, c, 1); err != nil {
				return err
			}
		}
		cases = cases[:0]
		for ; s.due >= 1; s.due-- {
			n := int(s.count.Total)
			verdict := simbox.Verdict(n)
			if s.g.o.FlagEvery > 0 && n%s.g.o.FlagEvery == s.g.o.FlagEvery-1 {
				verdict = "flag"
			}
			if verdict != "flag" {
				pending = append(pending, s.box.Reading(now, true, verdict, "", s.rng))
				simbox.Add(&s.count, verdict)
				continue
			}
			// Urgent: the flag, then its case, before the backlog.
			if err := s.flush(ctx, pending); err != nil {
				return err
			}
			pending = pending[:0]
			s.flags++
			ticket := fmt.Sprintf("R-%03d", s.flags)
			flag := s.box.Reading(now, true, "flag", ticket, s.rng)
			simbox.Add(&s.count, "flag")
			if err := s.flush(ctx, []map[string]any{flag}); err != nil {
				return err
			}
			day := now.In(shanghai).Format("2006-01-02")
			if err := s.send(ctx, "cases", false, s.box.Case(day, ticket, "", "awaiting_recheck", "", 37.8, 0, now, now), 1); err != nil {
				return err
			}
			cases = append(cases, s.box.Case(day, ticket, "awaiting_recheck", "cleared", "", 37.8, 36.9, now, now.Add(s.g.o.Tick)))
		}
		if err := s.flush(ctx, pending); err != nil {
			return err
		}
		pending = pending[:0]
	}
	for _, c := range cases {
		if err := s.send(ctx, "cases", false, c, 1); err != nil {
			return err
		}
	}
	day := end.In(shanghai).Format("2006-01-02")
	if err := s.send(ctx, "daily", true, s.box.Daily(day, end, s.count, map[string]int{"cleared": s.flags}), 1); err != nil {
		return err
	}
	s.wg.Wait()
	if err := s.err.Load(); err != nil {
		return *err
	}
	// A clean shutdown: the retained offline status, then DISCONNECT (no
	// will). send only starts the publish: wait for its PUBACK, or the
	// DISCONNECT that follows can cut it off on a busy machine.
	if err := s.send(ctx, "status", true, s.box.Status("offline", "shutdown", end), 0); err != nil {
		return err
	}
	s.wg.Wait()
	if err := s.err.Load(); err != nil {
		return *err
	}
	return nil
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// flush sends the pending readings, BatchSize at most in a message.
func (s *sim) flush(ctx context.Context, evs []map[string]any) error {
	for len(evs) > 0 {
		n := min(len(evs), simbox.BatchSize)
		if err := s.send(ctx, "readings", false, s.box.Readings(evs[:n])[0], n); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

// send publishes once a slot of the in-flight window is free, and counts
// the PUBACK when it comes; a publish that fails is sent again, as the
// box's uplink resends what was not acknowledged.
func (s *sim) send(ctx context.Context, topic string, retained bool, payload []byte, events int) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := s.err.Load(); err != nil {
		return *err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.slots }()
		for attempt := 0; ; attempt++ {
			t0 := time.Now()
			tok := s.client.Publish(s.box.Topic(topic), 1, retained, payload)
			if tok.WaitTimeout(wait) && tok.Error() == nil {
				s.g.lat.add(time.Since(t0))
				s.g.messages.Add(1)
				s.g.events.Add(int64(events))
				return
			}
			if ctx.Err() != nil || attempt == 10 {
				err := fmt.Errorf("loadgen box %s: publishing %s: %v (%d tries)", s.box.ID, topic, tok.Error(), attempt+1)
				s.err.CompareAndSwap(nil, &err)
				return
			}
			s.g.retries.Add(1)
			time.Sleep(time.Second)
		}
	}()
	return nil
}

// hash is FNV-1a: a school's fixed shift.
func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// samples keeps latencies for quantiles.
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func newSamples() *samples { return &samples{} }

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) quantiles() (p50, p99, pmax time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s.d)
	q := func(f float64) time.Duration { return s.d[min(len(s.d)-1, int(f*float64(len(s.d))))] }
	return q(0.5), q(0.99), s.d[len(s.d)-1]
}
