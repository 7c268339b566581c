package pipeline

import (
	"math"
	"runtime"
	"sync/atomic"
)

// laneCell publishes a lane's last measurement to readers on other
// goroutines with a sequence lock: the stage goroutine (the only writer)
// makes seq odd, stores, makes it even; a reader retries while seq is odd or
// changed under it. Neither side locks.
type laneCell struct {
	seq     atomic.Uint64
	verdict atomic.Uint32
	reason  atomic.Uint32
	ticket  atomic.Uint32
	drill   atomic.Bool
	mono    atomic.Int64
	wall    atomic.Int64
	body    atomic.Uint64
}

// laneLast is what a lane shows of its last measurement, kept by the stage
// goroutine until publish stores it in the cell.
type laneLast struct {
	verdict    Verdict
	reason     Reason
	ticket     uint16
	drill      bool
	mono, wall int64
	bodyC      float64
}

func (c *laneCell) store(m *laneLast) {
	s := c.seq.Load()
	c.seq.Store(s + 1)
	c.verdict.Store(uint32(m.verdict))
	c.reason.Store(uint32(m.reason))
	c.ticket.Store(uint32(m.ticket))
	c.drill.Store(m.drill)
	c.mono.Store(m.mono)
	c.wall.Store(m.wall)
	c.body.Store(math.Float64bits(m.bodyC))
	c.seq.Store(s + 2)
}

func (c *laneCell) load(st *LaneState) {
	for {
		s := c.seq.Load()
		if s&1 == 0 {
			st.Verdict = Verdict(c.verdict.Load())
			st.Reason = Reason(c.reason.Load())
			st.Ticket = uint16(c.ticket.Load())
			st.Drill = c.drill.Load()
			st.Mono = c.mono.Load()
			st.Wall = c.wall.Load()
			st.BodyC = math.Float64frombits(c.body.Load())
			if c.seq.Load() == s {
				if s == 0 {
					st.BodyC = math.NaN()
				}
				return
			}
		}
		runtime.Gosched()
	}
}

// LaneState is what the lamps and the screen show for one lane.
type LaneState struct {
	Name string
	Role string
	// Verdict of the last measurement; VerdictNone before the first.
	Verdict Verdict
	Reason  Reason
	// Mono/Wall of the last measurement; BodyC NaN when none or invalid.
	Mono  int64
	Wall  int64
	BodyC float64
	// Ticket of the last measurement when it was a flag.
	Ticket uint16
	Drill  bool
	// Awaiting counts this lane's cases still waiting for a re-check; it
	// needs Opts.Cases and is 0 without.
	Awaiting int
}

// Lanes returns a copy of every lane's state. It never blocks the stages;
// it may lag the sinks by one round of the stage goroutine (microseconds).
func (p *Pipeline) Lanes() []LaneState {
	var waiting map[string]int
	if p.o.Cases != nil {
		waiting = p.o.Cases.awaitingByLane()
	}
	out := make([]LaneState, len(p.lanes))
	for i := range p.lanes {
		ln := &p.lanes[i]
		st := &out[i]
		st.Name, st.Role = ln.info.Name, ln.info.Role
		ln.cell.load(st)
		st.Awaiting = waiting[ln.info.Name]
	}
	return out
}

// LaneStats are one lane's verdict counts since start; drills apart.
type LaneStats struct {
	Name                        string
	Pass, Flag, Retake, Invalid uint64
	Drills                      uint64
}

// DeviceStats are one device's reading counts since start.
type DeviceStats struct {
	Name     string
	Readings uint64
	// Invalid counts frames the validate stage rejected (flags, NaN, stuck).
	Invalid uint64
	// DeviceAlarms counts the device's own alarms on a measurement that
	// would have passed (retake device_alarm): a device whose threshold
	// disagrees with ours.
	DeviceAlarms uint64
	// InvalidBy splits Invalid by reason name ("checksum", "stuck", …);
	// reasons never seen are absent.
	InvalidBy map[string]uint64
}

// Stats is a snapshot of the pipeline's counters.
type Stats struct {
	Lanes   []LaneStats
	Devices []DeviceStats
	// Overflows maps each ring ("device:<name>", "sink:<name>", "inject")
	// to the values it dropped.
	Overflows map[string]uint64
	// UnknownCards counts badge swipes the roster did not know.
	UnknownCards uint64
	// Unrouted counts readings from devices that serve no lane.
	Unrouted uint64
}

// Stats reads the counters with atomics; it never blocks the stages and,
// like Lanes, may lag the sinks by one round of the stage goroutine.
func (p *Pipeline) Stats() Stats {
	st := Stats{Overflows: map[string]uint64{}, UnknownCards: p.unknownCards.Load(),
		Unrouted: p.unrouted.Load() + p.unknownDevice.Load()}
	for i := range p.lanes {
		ln := &p.lanes[i]
		st.Lanes = append(st.Lanes, LaneStats{Name: ln.info.Name,
			Pass: ln.pubCounts[VerdictPass].Load(), Flag: ln.pubCounts[VerdictFlag].Load(),
			Retake: ln.pubCounts[VerdictRetake].Load(), Invalid: ln.pubCounts[VerdictInvalid].Load(),
			Drills: ln.pubDrills.Load()})
	}
	for i := range p.devs {
		d := &p.devs[i]
		ds := DeviceStats{Name: d.info.Name, Readings: d.pubReadings.Load(), Invalid: d.pubInvalid.Load(),
			DeviceAlarms: d.pubAlarms.Load(), InvalidBy: map[string]uint64{}}
		for r := range d.pubInvalidBy {
			if n := d.pubInvalidBy[r].Load(); n != 0 {
				ds.InvalidBy[Reason(r).String()] = n
			}
		}
		st.Devices = append(st.Devices, ds)
	}
	for _, c := range p.counters() {
		st.Overflows[c.name] = c.dropped.Load()
	}
	return st
}
