package report

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/schedule"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

// Source is what a summary is made from; *store.Store is one.
type Source interface {
	Boxes(ctx context.Context) ([]store.Box, error)
	DailyReports(ctx context.Context, day string) ([]store.StoredDaily, error)
	CaseEvents(ctx context.Context, since string) ([]store.StoredEvent, error)
}

// Row is one school's line of the summary.
type Row struct {
	School string
	// Gates are the school's boxes that owed the day's report (bound before
	// its deadline, or reporting); Reported those whose report is in.
	Gates, Reported int
	// The reports' totals, summed over the gates.
	Screened, Flags, Retakes, Invalid int64
	// The day's re-check cases (drills apart): all, those not yet cleared
	// or closed, and those referred by disposition.
	Cases, OpenCases, CDCTransfer, FeverClinic int
	// ReceivedAt is when the last of its reports arrived (district time);
	// zero when none did.
	ReceivedAt time.Time
	// Late: a report arrived after the deadline (迟报). Missing: at the
	// deadline a gate had none and still has none (漏报). Neither can be
	// told before the deadline, and none is owed on a day that is not a
	// school day: Due is false then.
	Late, Missing, Due bool
	// Deadline is the school's: the district's, or its own from the
	// calendar file.
	Deadline time.Time
}

// Summary is the district's day.
type Summary struct {
	Day  string
	Date time.Time // the day's midnight, district time
	// SchoolDay: a weekday not a holiday, or a working weekend day, as the
	// district's calendar has it; no report is owed on another day.
	SchoolDay bool
	Deadline  time.Time // the district's; a Row's may be its school's own
	Rows      []Row     // by school
}

// Build makes the summary of day as it stands at now.
func Build(ctx context.Context, src Source, sched schedule.Schedule, day string, now time.Time) (*Summary, error) {
	start, deadline, err := sched.Bounds(day)
	if err != nil {
		return nil, err
	}
	boxes, err := src.Boxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: reading boxes: %w", err)
	}
	reports, err := src.DailyReports(ctx, day)
	if err != nil {
		return nil, fmt.Errorf("report: reading the daily reports of %s: %w", day, err)
	}
	// A case of the day moves on later; a box's clock may be a little off.
	cases, err := src.CaseEvents(ctx, start.Add(-24*time.Hour).UTC().Format(store.TimeFormat))
	if err != nil {
		return nil, fmt.Errorf("report: reading cases: %w", err)
	}
	sum := &Summary{Day: day, Date: start, Deadline: deadline, SchoolDay: sched.SchoolDay(day)}
	rows := map[string]*Row{}
	row := func(school string) *Row {
		if rows[school] == nil {
			_, dl, _ := sched.For(school).Bounds(day) // day parsed above
			// On a weekend or holiday no report is owed: 漏报 as the
			// alerts have it.
			rows[school] = &Row{School: school, Deadline: dl, Due: sum.SchoolDay && !now.Before(dl)}
		}
		return rows[school]
	}
	for _, b := range boxes {
		if r := row(b.Site.School); b.FirstSeen < r.Deadline.UTC().Format(store.TimeFormat) {
			r.Gates++
		}
	}
	if err := addReports(row, reports, boxes, sched.Loc); err != nil {
		return nil, err
	}
	if err := addCases(row, cases, day); err != nil {
		return nil, err
	}
	for _, r := range rows {
		r.Missing = r.Due && r.Reported < r.Gates
		sum.Rows = append(sum.Rows, *r)
	}
	sort.Slice(sum.Rows, func(i, j int) bool { return sum.Rows[i].School < sum.Rows[j].School })
	return sum, nil
}

func addReports(row func(string) *Row, reports []store.StoredDaily, boxes []store.Box, loc *time.Location) error {
	owed := map[string]bool{}
	for _, b := range boxes {
		owed[b.Box] = b.FirstSeen < row(b.Site.School).Deadline.UTC().Format(store.TimeFormat)
	}
	for _, d := range reports {
		at, err := time.Parse(store.TimeFormat, d.ReceivedAt)
		if err != nil {
			return fmt.Errorf("report: daily report %s: received at %q: %w", d.ID, d.ReceivedAt, err)
		}
		r := row(d.School)
		if !owed[d.Box] {
			r.Gates++ // a gate bound after the deadline that reported anyway
		}
		r.Reported++
		r.Screened += d.Totals.Total
		r.Flags += d.Totals.Flag
		r.Retakes += d.Totals.Retake
		r.Invalid += d.Totals.Invalid
		r.Late = r.Late || at.After(r.Deadline)
		if at = at.In(loc); at.After(r.ReceivedAt) {
			r.ReceivedAt = at
		}
	}
	return nil
}

// addCases counts the day's cases by their latest transition (the
// highest seq of the box), and their referrals by disposition.
func addCases(row func(string) *Row, events []store.StoredEvent, day string) error {
	type caseKey struct{ box, ticket string }
	type state struct {
		school, state, disposition string
	}
	latest := map[caseKey]*state{}
	for _, e := range events { // by box, then seq
		var c struct{ Ticket, Day, State, Disposition string }
		if err := json.Unmarshal(e.Body, &c); err != nil {
			return fmt.Errorf("report: case event %s: %w", e.ID, err)
		}
		if e.Drill || c.Day != day {
			continue
		}
		k := caseKey{e.Box, c.Ticket}
		if latest[k] == nil {
			latest[k] = &state{school: e.Site.School}
		}
		latest[k].state = c.State
		if c.Disposition != "" {
			latest[k].disposition = c.Disposition
		}
	}
	for _, c := range latest {
		r := row(c.school)
		r.Cases++
		if c.state != "cleared" && c.state != "closed" {
			r.OpenCases++
		}
		switch c.disposition {
		case "cdc_transfer":
			r.CDCTransfer++
		case "parent_fever_clinic":
			r.FeverClinic++
		}
	}
	return nil
}
