package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/district/simbox"
)

// prober is a box of its own whose readings, one a message every
// ProbeEvery, are watched arriving in the district's database: each
// reading's publish → committed, and the age of the oldest one not yet
// committed (what the ingesters have not acknowledged, as seen from a box).
type prober struct {
	g      *gen
	box    *simbox.Box
	client mqtt.Client
	rng    *rand.Rand

	mu        sync.Mutex
	sent      []time.Time // sent[i] is when seq i+1 was published
	committed int64
	lat       *samples
	oldest    []time.Duration // per tenth of the run
	base      int64           // probes of earlier runs
}

func (g *gen) newProber(ctx context.Context) (*prober, error) {
	b := &simbox.Box{District: g.o.District, School: g.o.ClientPrefix + "probe", Gate: "g1"}
	b.ID, b.BootID = b.School+"-"+b.Gate, g.o.ClientPrefix+"-probe-boot"
	p := &prober{g: g, box: b, rng: rand.New(rand.NewPCG(g.o.Seed, 0)), lat: newSamples(), oldest: make([]time.Duration, 10)}
	opts := mqtt.NewClientOptions().AddBroker(g.o.Broker).SetClientID(g.o.ClientPrefix + "-" + b.ID).
		SetCleanSession(true).SetConnectTimeout(wait).SetAutoReconnect(true)
	p.client = mqtt.NewClient(opts)
	if tok := p.client.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		return nil, fmt.Errorf("loadgen probe: connecting to %s: %v", g.o.Broker, tok.Error())
	}
	// A probe id from an earlier run would read as committed: start after it.
	seen, err := g.o.Probe.LastSeq(ctx, b.ID)
	if err != nil {
		return nil, fmt.Errorf("loadgen probe: reading the database: %w", err)
	}
	for range seen {
		b.Event("reading", time.Now(), true, nil)
	}
	p.committed, p.base = seen, seen
	p.sent = make([]time.Time, seen)
	return p, nil
}

// run publishes until end and watches until every probe is committed or
// 30 s after end. The two run apart: under load a database read or a
// publish can take seconds, and neither may hold up the other's clock.
func (p *prober) run(ctx context.Context, start, end time.Time) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.publish(ctx, end)
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	stop := end.Add(wait)
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
		n, err := p.g.o.Probe.LastSeq(ctx, p.box.ID)
		if err != nil {
			if ctx.Err() == nil {
				p.g.o.Log.Warn().Err(err).Msg("probe: reading the database")
			}
			continue
		}
		now := time.Now() // after the read: what it saw was committed by then
		p.observe(now, n, start, end)
		if (now.After(end) && p.done()) || now.After(stop) {
			return
		}
	}
}

// publish sends one probe reading every ProbeEvery until end, each publish
// in its own goroutine so that a saturated client delays none of the
// others' timestamps.
func (p *prober) publish(ctx context.Context, end time.Time) {
	tick := time.NewTicker(p.g.o.ProbeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if now.After(end) {
				return
			}
			ev := p.box.Reading(now, true, "pass", "", p.rng)
			payload := p.box.Readings([]map[string]any{ev})[0]
			p.mu.Lock()
			p.sent = append(p.sent, time.Now())
			p.mu.Unlock()
			go func() { p.client.Publish(p.box.Topic("readings"), 1, false, payload).WaitTimeout(wait) }()
		}
	}
}

func (p *prober) observe(now time.Time, n int64, start, end time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; p.committed < n && int(p.committed) < len(p.sent); p.committed++ {
		p.lat.add(now.Sub(p.sent[p.committed]))
	}
	if int(p.committed) < len(p.sent) {
		age := now.Sub(p.sent[p.committed])
		w := min(9, int(10*now.Sub(start).Seconds()/end.Sub(start).Seconds()))
		if w >= 0 {
			p.oldest[w] = max(p.oldest[w], age)
		}
	}
}

func (p *prober) done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int(p.committed) >= len(p.sent)
}

func (p *prober) result(r *Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.ProbeSent = len(p.sent) - int(p.base)
	r.CommitP50, r.CommitP99, r.CommitMax = p.lat.quantiles()
	r.OldestUnacked = p.oldest
	r.ProbeMissing = len(p.sent) - int(p.committed)
}
