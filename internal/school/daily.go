package school

import (
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// Day is one local day of stored events, gathered for the daily report.
type Day struct {
	Date  string // YYYY-MM-DD in the school's time zone
	Start time.Time
	End   time.Time
}

// DayOf returns the local day holding t.
func (sc *Schedule) DayOf(t time.Time) Day {
	lt := t.In(sc.loc)
	start := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, sc.loc)
	return Day{Date: start.Format(time.DateOnly), Start: start, End: start.AddDate(0, 0, 1)}
}

// ParseDay reads a YYYY-MM-DD date in the school's time zone.
func (sc *Schedule) ParseDay(date string) (Day, error) {
	t, err := time.ParseInLocation(time.DateOnly, date, sc.loc)
	if err != nil {
		return Day{}, fmt.Errorf("%q is not a date YYYY-MM-DD", date)
	}
	return sc.DayOf(t), nil
}

// Tally gathers a day's events into the daily report.
type Tally struct {
	day    Day
	roster *Roster
	sched  *Schedule
	report event.Daily
	seen   map[string]bool // roster ids measured today (not in drills)
	notes  map[string]AbsenceNote
	cases  map[string]event.Case // latest state per ticket
	health map[string][]event.Event
}

// NewTally starts an empty report for day. roster may be nil.
func NewTally(day Day, roster *Roster, sched *Schedule) *Tally {
	return &Tally{
		day: day, roster: roster, sched: sched,
		report: event.Daily{
			Day: day.Date, ByLane: map[string]event.Counts{}, ByRole: map[string]event.Counts{},
			ByGrade: map[string]event.Counts{}, ByRound: map[string]event.Counts{},
			Cases: map[string]int{}, Disposition: map[string]int{},
			DeviceUptime: map[string]float64{}, DeviceFaults: map[string]int{},
		},
		seen: map[string]bool{}, cases: map[string]event.Case{}, health: map[string][]event.Event{},
	}
}

// AbsenceNote is what a class teacher recorded about an absent student:
// the reason (illness, personal_leave, unknown), and for illness the
// symptoms (fever, cough, other) and whether a doctor saw the student.
type AbsenceNote struct {
	Reason     string
	Symptoms   []string
	SeenDoctor bool
}

// Unrecorded is the reason of an absentee nobody has recorded yet.
const Unrecorded = "unrecorded"

// SetAbsenceNotes gives the day's recorded absence reasons by roster id,
// for the report's counts.
func (t *Tally) SetAbsenceNotes(notes map[string]AbsenceNote) { t.notes = notes }

// Seen reports whether the roster id was measured that day (drills aside).
func (t *Tally) Seen(id string) bool { return t.seen[id] }

// Add counts one stored event. Events outside the day are ignored.
func (t *Tally) Add(ev event.Event) error {
	switch ev.Kind {
	case event.KindReading:
		var r event.Reading
		if err := ev.Decode(&r); err != nil {
			return err
		}
		t.addReading(ev, r)
	case event.KindCase:
		var c event.Case
		if err := ev.Decode(&c); err != nil {
			return err
		}
		if c.Day == t.day.Date && !ev.Drill {
			t.cases[c.Ticket] = c
		}
	case event.KindHealth:
		var h event.Health
		if err := ev.Decode(&h); err != nil {
			return err
		}
		if h.Component == "device" && h.Device != "" {
			t.health[h.Device] = append(t.health[h.Device], ev)
		}
	}
	return nil
}

func (t *Tally) addReading(ev event.Event, r event.Reading) {
	if ev.Drill {
		count(&t.report.Drills, r.Verdict)
		return
	}
	count(&t.report.Totals, r.Verdict)
	add := func(m map[string]event.Counts, key string) {
		c := m[key]
		count(&c, r.Verdict)
		m[key] = c
	}
	add(t.report.ByLane, r.Lane)
	add(t.report.ByRole, r.Role)
	round := r.Round
	if round == "" && t.sched != nil {
		round = t.sched.Round(time.Unix(0, ev.Wall))
	}
	if round != "" {
		add(t.report.ByRound, round)
	}
	if p, ok := t.roster.ByID(r.PersonID); ok {
		t.seen[p.ID] = true
		if p.Grade != "" {
			add(t.report.ByGrade, p.Grade)
		}
	}
}

func count(c *event.Counts, verdict string) {
	c.Total++
	switch verdict {
	case event.VerdictPass:
		c.Pass++
	case event.VerdictFlag:
		c.Flag++
	case event.VerdictRetake:
		c.Retake++
	case event.VerdictInvalid:
		c.Invalid++
	}
}

// Absentees lists, per class, the roster students of grades whose arrival
// window has closed by at that have no measurement today.
func (t *Tally) Absentees(at time.Time) map[string][]Person {
	out := map[string][]Person{}
	// On a day the school is closed (a weekend, a holiday) nobody is
	// absent: the whole school listed as unrecorded every Saturday, and
	// counted so in the uploaded report, buried the real absences.
	if t.roster == nil || (t.sched != nil && !t.sched.Open(t.sched.Day(t.day.Start))) {
		return out
	}
	dayOver := !at.Before(t.day.End)
	for _, p := range t.roster.People {
		if p.Role != "student" || t.seen[p.ID] {
			continue
		}
		if !dayOver && t.sched != nil && !t.sched.WindowClosed(p.Grade, at) {
			continue
		}
		out[p.Class] = append(out[p.Class], p)
	}
	return out
}

// Report finishes the day's report as of at (the end of the day for a
// finished day). Zero is set when nothing at all was screened or flagged.
func (t *Tally) Report(at time.Time) event.Daily {
	r := t.report
	// The report outlives this call (the screen keeps it) while the tally
	// goes on counting: it gets maps of its own.
	r.ByLane, r.ByRole = maps.Clone(r.ByLane), maps.Clone(r.ByRole)
	r.ByGrade, r.ByRound = maps.Clone(r.ByGrade), maps.Clone(r.ByRound)
	r.Cases = map[string]int{}
	r.Disposition = map[string]int{}
	for _, c := range t.cases {
		r.Cases[c.State]++
		if c.Disposition != "" {
			r.Disposition[c.Disposition]++
		}
	}
	r.AbsenceReasons, r.IllByGrade, r.IllSymptoms = map[string]int{}, map[string]int{}, map[string]int{}
	for _, people := range t.Absentees(at) {
		r.Absentees += len(people)
		for _, p := range people {
			n, ok := t.notes[p.ID]
			if !ok {
				n.Reason = Unrecorded
			}
			r.AbsenceReasons[n.Reason]++
			if n.Reason != "illness" {
				continue
			}
			r.IllByGrade[p.Grade]++
			for _, s := range n.Symptoms {
				r.IllSymptoms[s]++
			}
			if n.SeenDoctor {
				r.IllSymptoms["seen_doctor"]++
			}
		}
	}
	end := at
	if end.After(t.day.End) {
		end = t.day.End
	}
	r.DeviceUptime, r.DeviceFaults = uptime(t.health, t.day.Start, end)
	r.Zero = r.Totals.Flag == 0 && len(r.Cases) == 0
	return r
}

// uptime computes, per device, the share of [start, end) it was not down,
// from its health transitions (a device is taken as up before its first
// event), and counts its transitions to down or degraded as faults.
func uptime(health map[string][]event.Event, start, end time.Time) (map[string]float64, map[string]int) {
	up, faults := map[string]float64{}, map[string]int{}
	span := end.Sub(start)
	for dev, evs := range health {
		sort.Slice(evs, func(i, j int) bool { return evs[i].Seq < evs[j].Seq })
		var down time.Duration
		var downSince time.Time
		for _, ev := range evs {
			var h event.Health
			if ev.Decode(&h) != nil {
				continue
			}
			at := time.Unix(0, ev.Wall)
			switch h.State {
			case event.HealthDown:
				faults[dev]++
				if downSince.IsZero() {
					downSince = at
				}
			case event.HealthDegraded:
				faults[dev]++
			case event.HealthUp:
				if !downSince.IsZero() {
					down += at.Sub(downSince)
					downSince = time.Time{}
				}
			}
		}
		if !downSince.IsZero() && end.After(downSince) {
			down += end.Sub(downSince)
		}
		if span > 0 {
			up[dev] = float64(int(1000*(1-float64(down)/float64(span)))) / 1000
		}
	}
	return up, faults
}
