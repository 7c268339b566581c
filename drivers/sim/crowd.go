package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// Person is one person presented to a thermometer: the truth tests compare
// the daemon's decisions with.
type Person struct {
	// Seq counts the device's people from 1, in arrival order.
	Seq      int
	Device   string
	Lane     string
	Protocol string
	// Offset is the planned arrival after the gate started.
	Offset time.Duration
	// At is when the reading was sent: the start of the plateau of a
	// continuous sensor or the gate line. Zero in Scenario.People.
	At time.Time
	// BodyC is the core temperature, SkinC what the forehead reads and
	// ReportedC what the device sends for the person (SkinC on skin-mode
	// devices, SkinC plus the gate's offset on body-mode gates).
	BodyC, SkinC, ReportedC float64
	// AmbientC is the air temperature at the device; streamed frames add
	// up to ±0.05 °C of noise to it.
	AmbientC float64
	// Fever is BodyC ≥ 37.4; Cold means the forehead was cold (33–35 °C).
	Fever, Cold bool
	// Dwell is how long the person stood at a continuous sensor.
	Dwell time.Duration
	// Card is the UID the lane's badge reader sent; empty when the person
	// did not swipe (or the reader was unplugged).
	Card string
}

// Ramps of a person walking up to and away from a continuous sensor, and the
// least background a sensor shows between two people.
const (
	approachTime = 300 * time.Millisecond
	leaveTime    = 300 * time.Millisecond
	minGap       = 500 * time.Millisecond
)

// crowd draws the people of one thermometer. Every person consumes the same
// number of random values, so the sequence does not depend on the shares.
type crowd struct {
	rng        *rand.Rand
	spec       *DeviceSpec
	duration   time.Duration
	roster     []string
	swipeShare float64
	at         time.Duration
	seq        int
	// busy is how long the last person keeps the device from the next one.
	busy time.Duration
}

func newCrowd(sc *Scenario, d *DeviceSpec) *crowd {
	c := &crowd{rng: deviceRand(sc.Seed, d.Name, "people"), spec: d, duration: sc.Duration, roster: sc.Roster}
	if b := sc.badgeFor(d.Lane); b != nil {
		c.swipeShare = b.SwipeShare
	}
	return c
}

// deviceRand is the random stream of one purpose of one device: seeded by
// the scenario seed and the names, so adding a device changes no other.
func deviceRand(seed uint64, device, purpose string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", device, purpose)
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// next returns the next person, or false once the scenario's duration is
// over.
func (c *crowd) next() (Person, bool) {
	d := c.spec
	mean := time.Duration(float64(time.Minute) / d.ArrivalsPerMin)
	gap := time.Duration(c.rng.ExpFloat64() * float64(mean))
	feverDraw, body := c.rng.Float64(), c.rng.Float64()
	coldDraw, coldSkin := c.rng.Float64(), c.rng.Float64()
	dwellDraw := c.rng.Float64()
	swipeDraw, card := c.rng.Float64(), c.rng.IntN(max(1, len(c.roster)))

	p := Person{Device: d.Name, Lane: d.Lane, Protocol: d.Protocol, AmbientC: d.ambient()}
	p.Fever = feverDraw < d.FeverShare
	if p.Fever {
		p.BodyC = round2(37.4 + 1.6*body)
	} else {
		p.BodyC = round2(36.1 + 1.0*body)
	}
	p.Cold = coldDraw < d.ColdShare
	if p.Cold {
		p.SkinC = round2(33 + 2*coldSkin)
	} else {
		p.SkinC = round2(p.BodyC - d.skinOffset())
	}
	p.ReportedC = p.SkinC
	occupancy := approachTime + minGap
	if d.continuous() {
		lo, hi := d.dwellMin(), d.dwellMax()
		p.Dwell = lo + time.Duration(dwellDraw*float64(hi-lo))
		occupancy += p.Dwell + leaveTime
	} else {
		p.ReportedC = round2(p.SkinC + d.skinOffset())
	}
	if swipeDraw < c.swipeShare && len(c.roster) > 0 {
		p.Card = c.roster[card]
	}

	// Nobody arrives before the one in front has left.
	gap = max(gap, c.busy)
	if c.duration > 0 && c.at+gap >= c.duration {
		return Person{}, false
	}
	c.at += gap
	c.busy = occupancy
	c.seq++
	p.Seq, p.Offset = c.seq, c.at
	return p, true
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// People returns the first n people the named thermometer will present
// (fewer if the scenario's duration ends first), exactly as a running Gate
// sends them, without At.
func (sc *Scenario) People(device string, n int) ([]Person, error) {
	d, err := sc.device(device)
	if err != nil {
		return nil, err
	}
	if d.Protocol == ProtocolBadge {
		return nil, fmt.Errorf("sim: %s is a badge reader; its swipes are the Card of its lane's people", device)
	}
	c := newCrowd(sc, d)
	var out []Person
	for len(out) < n {
		p, ok := c.next()
		if !ok {
			break
		}
		out = append(out, p)
	}
	return out, nil
}
