package schoolday

import (
	"context"
	"fmt"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/office"
	"github.com/gatescreen/gatescreen/internal/school"
)

// metaLastReport holds the last local day whose report was stored.
const metaLastReport = "reports.last_day"

// RunReports stores (and so uploads) the daily report at Opts.DailyAt
// every day, zero or not, and on start catches up the days the box was
// off. It returns when ctx ends.
func (f *Office) RunReports(ctx context.Context) {
	log := f.o.Logger.With().Str("component", "reports").Logger()
	for {
		now := f.now()
		if err := f.catchUpReports(ctx, now); err != nil {
			log.Error().Err(err).Msg("daily report")
		}
		now = f.now()
		wait := f.nextReport(now).Sub(now)
		if wait > time.Hour || wait <= 0 { // re-check hourly: the clock may be set meanwhile
			wait = time.Hour
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// reportTime is the moment the report of day is due: Opts.DailyAt on the
// wall clock of that day (not midnight plus 18 h, which is 17:00 or 19:00
// on a daylight-saving change).
func (f *Office) reportTime(day school.Day) time.Time {
	y, m, d := day.Start.Date()
	return time.Date(y, m, d, f.dailyAt.Hour(), f.dailyAt.Minute(), 0, 0, day.Start.Location())
}

func (f *Office) nextReport(now time.Time) time.Time {
	day := f.o.Schedule.DayOf(now)
	if t := f.reportTime(day); t.After(now) {
		return t
	}
	return f.reportTime(f.o.Schedule.DayOf(day.End))
}

// catchUpReports sends every report due by now and not yet stored: the
// days missed while the box was off (at most 31 back), then today's once
// its time has come.
func (f *Office) catchUpReports(ctx context.Context, now time.Time) error {
	if !plausible(now) {
		return nil
	}
	sched, store := f.o.Schedule, f.o.Store
	today := sched.DayOf(now)
	day, err := f.firstOwed(today)
	if err != nil {
		return err
	}
	for ; !day.Start.After(today.Start); day = sched.DayOf(day.End) {
		due := f.reportTime(day)
		if now.Before(due) {
			return nil
		}
		r, err := f.buildDaily(day, due)
		if err != nil {
			return err
		}
		r.Late = now.Sub(due) > time.Hour
		if err := f.storeDaily(ctx, r); err != nil {
			return err
		}
		if err := store.SetMeta(metaLastReport, []byte(day.Date)); err != nil {
			return err
		}
		f.o.Logger.Info().Str("day", day.Date).Bool("zero", r.Zero).Int("screened", r.Totals.Total).
			Int("flags", r.Totals.Flag).Bool("late", r.Late).Msg("daily report stored")
	}
	return nil
}

// firstOwed is the first day whose report is not stored: the day after the
// last one stored, at most 31 days back; today for a new box, which owes
// nothing before its first day.
func (f *Office) firstOwed(today school.Day) (school.Day, error) {
	sched := f.o.Schedule
	last, err := f.o.Store.Meta(metaLastReport)
	if err != nil {
		return school.Day{}, err
	}
	if len(last) == 0 {
		return today, nil
	}
	prev, err := sched.ParseDay(string(last))
	if err != nil {
		return school.Day{}, fmt.Errorf("meta %s %q: %w", metaLastReport, last, err)
	}
	day := sched.DayOf(prev.End)
	if oldest := sched.DayOf(today.Start.AddDate(0, 0, -31)); day.Start.Before(oldest.Start) {
		day = oldest
	}
	return day, nil
}

// Report is the daily report of day: what was sent for a day whose report
// was sent, today so far tallied now.
func (f *Office) Report(day school.Day) (event.Daily, error) {
	rep, ok, err := f.o.Store.Daily(day.Date)
	if err != nil || ok {
		return rep, err
	}
	at := f.now()
	if at.After(day.End) {
		at = day.End
	}
	return f.buildDaily(day, at)
}

// buildDaily tallies the stored events of day as of at.
func (f *Office) buildDaily(day school.Day, at time.Time) (event.Daily, error) {
	t, err := f.tally(day)
	if err != nil {
		return event.Daily{}, err
	}
	return f.report(t, day, at)
}

// tally gathers the stored events of day.
func (f *Office) tally(day school.Day) (*school.Tally, error) {
	t := school.NewTally(day, f.o.Roster.Get(), f.o.Schedule)
	if err := f.o.Store.Scan(day.Start, day.End, t.Add); err != nil {
		return nil, fmt.Errorf("tally of %s: %w", day.Date, err)
	}
	return t, nil
}

// report finishes a tally as of at; visitors are counted from the visitor
// book and absences by their recorded reasons (names stay on the box).
// Lanes are named by their labels too.
func (f *Office) report(t *school.Tally, day school.Day, at time.Time) (event.Daily, error) {
	notes, err := f.o.Store.Absences(day.Date)
	if err != nil {
		return event.Daily{}, err
	}
	t.SetAbsenceNotes(office.AbsenceNotes(notes))
	r := t.Report(at)
	visitors, err := f.o.Store.Visitors(day.Date)
	if err != nil {
		return r, err
	}
	r.Visitors = len(visitors)
	r.LaneLabels = f.o.LaneLabels
	return r, nil
}

func (f *Office) storeDaily(ctx context.Context, r event.Daily) error {
	ev, err := event.New(event.KindDaily, r)
	if err != nil {
		return err
	}
	f.o.Stamp(&ev)
	ev.Urgent = true
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = f.o.Store.AppendWait(ctx, ev)
	return err
}
