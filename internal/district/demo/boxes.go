package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

// box is a simulated gatescreen box: it publishes what a real one does, in
// the contract's shapes (docs/mqtt.md), with one persisted-like sequence
// shared by all its topics.
type box struct {
	district, school, gate string
	id                     string
	bootID                 string
	client                 mqtt.Client
	conn                   net.Conn // to drop the connection as a crash would
	mu                     sync.Mutex
	seq                    int64
}

func (b *box) prefix() string { return "gatescreen/v1/" + b.district + "/" + b.school + "/" + b.gate }

func (b *box) next() (int64, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	return b.seq, fmt.Sprintf("%s:%d", b.id, b.seq)
}

func stamp(t time.Time) string { return t.UTC().Format(store.TimeFormat) }

// status is the box's retained status payload; online carries since.
func (b *box) status(state, reason string, since time.Time) []byte {
	m := map[string]any{"v": 1, "state": state, "box": b.id, "boot_id": b.bootID, "version": "0.1.0-demo"}
	if state == "online" {
		m["since"] = stamp(since)
	} else {
		m["reason"] = reason
	}
	p, _ := json.Marshal(m)
	return p
}

// connect connects with the last will (offline, connection_lost, retained)
// and publishes the retained online status.
func (b *box) connect(broker string, now time.Time) error {
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID("box-"+b.id).SetCleanSession(false).
		SetAutoReconnect(false).SetWill(b.prefix()+"/status", string(b.status("offline", "connection_lost", now)), 1, true).
		SetCustomOpenConnectionFn(func(uri *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			c, err := net.DialTimeout("tcp", uri.Host, 10*time.Second)
			b.conn = c
			return c, err
		})
	b.client = mqtt.NewClient(opts)
	if tok := b.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("demo box %s: connecting: %v", b.id, tok.Error())
	}
	return b.publish("status", true, b.status("online", "", now))
}

func (b *box) publish(topic string, retained bool, payload []byte) error {
	tok := b.client.Publish(b.prefix()+"/"+topic, 1, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("demo box %s: publishing %s: %v", b.id, topic, tok.Error())
	}
	return nil
}

// event is an event object: the envelope's fields, then fields.
func (b *box) event(kind string, at time.Time, synced bool, fields map[string]any) map[string]any {
	seq, id := b.next()
	e := map[string]any{"id": id, "seq": seq, "kind": kind, "captured_at": stamp(at), "clock_synced": synced, "drill": false}
	for k, v := range fields {
		e[k] = v
	}
	return e
}

// single publishes a one-event message (cases, health, daily).
func (b *box) single(topic string, retained bool, e map[string]any) error {
	e["v"], e["box"] = 1, b.id
	p, _ := json.Marshal(e)
	return b.publish(topic, retained, p)
}

// readings publishes events as readings messages of at most 200 events,
// as a box drains its store.
func (b *box) readings(evs []map[string]any) error {
	for len(evs) > 0 {
		n := min(len(evs), 200)
		p, _ := json.Marshal(map[string]any{"v": 1, "box": b.id, "events": evs[:n]})
		if err := b.publish("readings", false, p); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

// reading is a reading event with verdict; a flag carries its ticket.
func (b *box) reading(at time.Time, synced bool, verdict, ticket string, rng *rand.Rand) map[string]any {
	body := 36.2 + float64(rng.IntN(90))/100
	f := map[string]any{"lane": "lane-1", "role": "student", "device": "ir-1", "verdict": verdict, "threshold_c": 37.3, "mode": "body", "round": "morning"}
	switch verdict {
	case "flag":
		body = 37.6 + float64(rng.IntN(80))/100
		f["reason"], f["ticket"] = "threshold", ticket
	case "retake":
		body = 34.1
		f["reason"] = "below_floor"
	case "invalid":
		f["reason"] = "unstable"
	}
	f["body_c"] = float64(int(body*100)) / 100
	f["raw_c"] = f["body_c"]
	return b.event("reading", at, synced, f)
}

// morning is a box's readings: n, with the given flags (their tickets),
// a few retakes and invalid ones, captured between from and to.
func (b *box) morning(from, to time.Time, n int, tickets []string, rng *rand.Rand) ([]map[string]any, store.Counts) {
	var evs []map[string]any
	var c store.Counts
	step := to.Sub(from) / time.Duration(n+1)
	flagAt := map[int]string{}
	for i, tk := range tickets {
		flagAt[(i+1)*n/(len(tickets)+1)] = tk
	}
	for i := 0; i < n; i++ {
		verdict := "pass"
		switch {
		case flagAt[i] != "":
			verdict = "flag"
		case i%97 == 13:
			verdict = "retake"
		case i%211 == 7:
			verdict = "invalid"
		}
		evs = append(evs, b.reading(from.Add(time.Duration(i+1)*step), true, verdict, flagAt[i], rng))
		c.Total++
		switch verdict {
		case "pass":
			c.Pass++
		case "flag":
			c.Flag++
		case "retake":
			c.Retake++
		case "invalid":
			c.Invalid++
		}
	}
	return evs, c
}

// daily publishes the day's report (retained, as the box does).
func (b *box) daily(day string, at time.Time, c store.Counts, cases map[string]int) error {
	counts := map[string]any{"total": c.Total, "pass": c.Pass, "flag": c.Flag, "retake": c.Retake, "invalid": c.Invalid}
	f := map[string]any{"day": day, "zero": c.Total == 0, "totals": counts, "by_lane": map[string]any{"lane-1": counts}}
	if len(cases) > 0 {
		f["cases"] = cases
	}
	return b.single("daily", true, b.event("daily", at, true, f))
}

// caseStep publishes one transition of a re-check case.
func (b *box) caseStep(ctx context.Context, day, ticket, from, to, disposition string, flagC, recheckC float64, opened, at time.Time) error {
	f := map[string]any{"ticket": ticket, "day": day, "lane": "lane-1", "role": "student", "from": from, "state": to,
		"flag_c": flagC, "actor": "doctor", "opened_at": stamp(opened)}
	if to == "awaiting_recheck" {
		f["actor"] = "system"
	}
	if recheckC > 0 {
		f["recheck_c"] = recheckC
	}
	if disposition != "" {
		f["disposition"] = disposition
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return b.single("cases", false, b.event("case", at, true, f))
}

// drop closes the box's connection without a DISCONNECT, as a crash or a
// cut cable would: the broker then publishes its last will.
func (b *box) drop() {
	if b.conn != nil {
		b.conn.Close()
	}
}
