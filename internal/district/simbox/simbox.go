package simbox

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

// BatchSize is the most events a box puts in one readings message
// (uplink.batch_size's default).
const BatchSize = 200

// Box is a simulated box: its place, its id and its sequence.
type Box struct {
	District, School, Gate string
	ID, BootID             string
	Version                string // the status's version; default "0.1.0-sim"

	mu  sync.Mutex
	seq int64
}

// Prefix is the box's topic prefix gatescreen/v1/<district>/<school>/<gate>.
func (b *Box) Prefix() string { return "gatescreen/v1/" + b.District + "/" + b.School + "/" + b.Gate }

// Topic is the box's topic of the given last level (status, readings, …).
func (b *Box) Topic(last string) string { return b.Prefix() + "/" + last }

// Seq is the last sequence number handed out: the box's events are
// <ID>:1 … <ID>:Seq().
func (b *Box) Seq() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

func (b *Box) next() (int64, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	return b.seq, fmt.Sprintf("%s:%d", b.ID, b.seq)
}

// Stamp is t in the contract's time format.
func Stamp(t time.Time) string { return t.UTC().Format(store.TimeFormat) }

// Status is the box's retained status payload; online carries since, the
// others a reason (the last will's is connection_lost).
func (b *Box) Status(state, reason string, since time.Time) []byte {
	version := b.Version
	if version == "" {
		version = "0.1.0-sim"
	}
	m := map[string]any{"v": 1, "state": state, "box": b.ID, "boot_id": b.BootID, "version": version}
	if state == "online" {
		m["since"] = Stamp(since)
	} else {
		m["reason"] = reason
	}
	return marshal(m)
}

// marshal encodes what this package built; those values always encode.
func marshal(v any) []byte {
	p, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("simbox: %v", err))
	}
	return p
}

// Event is an event object with the next sequence number: the envelope's
// fields, then fields.
func (b *Box) Event(kind string, at time.Time, synced bool, fields map[string]any) map[string]any {
	seq, id := b.next()
	e := map[string]any{"id": id, "seq": seq, "kind": kind, "captured_at": Stamp(at), "clock_synced": synced, "drill": false}
	for k, v := range fields {
		e[k] = v
	}
	return e
}

// Single is the payload of a one-event message (cases, health, daily).
func (b *Box) Single(e map[string]any) []byte {
	e["v"], e["box"] = 1, b.ID
	return marshal(e)
}

// Readings are the payloads of readings messages holding evs in order, at
// most BatchSize events each, as a box drains its store.
func (b *Box) Readings(evs []map[string]any) [][]byte {
	var out [][]byte
	for len(evs) > 0 {
		n := min(len(evs), BatchSize)
		out = append(out, marshal(map[string]any{"v": 1, "box": b.ID, "events": evs[:n]}))
		evs = evs[n:]
	}
	return out
}

// Reading is a reading event with verdict; a flag carries its ticket.
func (b *Box) Reading(at time.Time, synced bool, verdict, ticket string, rng *rand.Rand) map[string]any {
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
	return b.Event("reading", at, synced, f)
}

// Verdict is the verdict of a box's i-th reading of a morning that is not
// a flag: a few retakes and invalid ones among the passes.
func Verdict(i int) string {
	switch {
	case i%97 == 13:
		return "retake"
	case i%211 == 7:
		return "invalid"
	}
	return "pass"
}

// Add counts a reading of verdict into c.
func Add(c *store.Counts, verdict string) {
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

// Morning is a box's readings: n, with the given flags (their tickets),
// a few retakes and invalid ones, captured between from and to.
func (b *Box) Morning(from, to time.Time, n int, tickets []string, rng *rand.Rand) ([]map[string]any, store.Counts) {
	var evs []map[string]any
	var c store.Counts
	step := to.Sub(from) / time.Duration(n+1)
	flagAt := map[int]string{}
	for i, tk := range tickets {
		flagAt[(i+1)*n/(len(tickets)+1)] = tk
	}
	for i := 0; i < n; i++ {
		verdict := Verdict(i)
		if flagAt[i] != "" {
			verdict = "flag"
		}
		evs = append(evs, b.Reading(from.Add(time.Duration(i+1)*step), true, verdict, flagAt[i], rng))
		Add(&c, verdict)
	}
	return evs, c
}

// Daily is the payload of the day's report (retained, as the box sends it).
func (b *Box) Daily(day string, at time.Time, c store.Counts, cases map[string]int) []byte {
	counts := map[string]any{"total": c.Total, "pass": c.Pass, "flag": c.Flag, "retake": c.Retake, "invalid": c.Invalid}
	f := map[string]any{"day": day, "zero": c.Total == 0, "totals": counts, "by_lane": map[string]any{"lane-1": counts}}
	if len(cases) > 0 {
		f["cases"] = cases
	}
	return b.Single(b.Event("daily", at, true, f))
}

// Case is the payload of one transition of a re-check case.
func (b *Box) Case(day, ticket, from, to, disposition string, flagC, recheckC float64, opened, at time.Time) []byte {
	f := map[string]any{"ticket": ticket, "day": day, "lane": "lane-1", "role": "student", "from": from, "state": to,
		"flag_c": flagC, "actor": "doctor", "opened_at": Stamp(opened)}
	if to == "awaiting_recheck" {
		f["actor"] = "system"
	}
	if recheckC > 0 {
		f["recheck_c"] = recheckC
	}
	if disposition != "" {
		f["disposition"] = disposition
	}
	return b.Single(b.Event("case", at, true, f))
}
