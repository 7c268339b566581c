package daemon

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

// plausible tells a wall clock that has been set from one still at its
// 1970 power-on value (a Pi has no RTC): reports wait for the former.
func plausible(t time.Time) bool { return t.Year() >= 2025 }

// now is the daemon's wall clock: the one that stamps its events (Opts.Clock,
// which a test may inject), so that "today", the report time and the
// events' days agree.
func (g *gate) now() time.Time {
	if g.clk == nil {
		return time.Now()
	}
	return g.clk.Now()
}

// dailyReports stores (and so uploads) the daily report at reports.daily_at
// every day, zero or not, and on start catches up the days the box was off.
func (g *gate) dailyReports(ctx context.Context) {
	log := g.log.With().Str("component", "reports").Logger()
	for {
		now := g.now()
		if err := g.catchUpReports(ctx, now); err != nil {
			log.Error().Err(err).Msg("daily report")
		}
		now = g.now()
		wait := g.nextReport(now).Sub(now)
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

// reportTime is the moment the report of day is due: reports.daily_at on
// the wall clock of that day (not midnight plus 18 h, which is 17:00 or
// 19:00 on a daylight-saving change).
func (g *gate) reportTime(day school.Day) time.Time {
	at, _ := time.Parse("15:04", g.cfg.Reports.DailyAt) // validated with the config
	y, m, d := day.Start.Date()
	return time.Date(y, m, d, at.Hour(), at.Minute(), 0, 0, day.Start.Location())
}

func (g *gate) nextReport(now time.Time) time.Time {
	day := g.sched.DayOf(now)
	if t := g.reportTime(day); t.After(now) {
		return t
	}
	return g.reportTime(g.sched.DayOf(day.End))
}

// catchUpReports sends every report due by now and not yet stored: the
// days missed while the box was off (at most 31 back), then today's once
// its time has come.
func (g *gate) catchUpReports(ctx context.Context, now time.Time) error {
	if !plausible(now) {
		return nil
	}
	today := g.sched.DayOf(now)
	last, err := g.store.Meta(metaLastReport)
	if err != nil {
		return err
	}
	var day school.Day
	if len(last) == 0 {
		day = today // a new box owes nothing before its first day
	} else {
		prev, err := g.sched.ParseDay(string(last))
		if err != nil {
			return fmt.Errorf("meta %s %q: %w", metaLastReport, last, err)
		}
		day = g.sched.DayOf(prev.End)
		if oldest := g.sched.DayOf(today.Start.AddDate(0, 0, -31)); day.Start.Before(oldest.Start) {
			day = oldest
		}
	}
	for ; !day.Start.After(today.Start); day = g.sched.DayOf(day.End) {
		due := g.reportTime(day)
		if now.Before(due) {
			return nil
		}
		r, err := g.buildDaily(day, due)
		if err != nil {
			return err
		}
		r.Late = now.Sub(due) > time.Hour
		if err := g.storeDaily(ctx, r); err != nil {
			return err
		}
		if err := g.store.SetMeta(metaLastReport, []byte(day.Date)); err != nil {
			return err
		}
		g.log.Info().Str("day", day.Date).Bool("zero", r.Zero).Int("screened", r.Totals.Total).
			Int("flags", r.Totals.Flag).Bool("late", r.Late).Msg("daily report stored")
	}
	return nil
}

// buildDaily tallies the stored events of day as of at.
func (g *gate) buildDaily(day school.Day, at time.Time) (event.Daily, error) {
	t, err := g.tally(day)
	if err != nil {
		return event.Daily{}, err
	}
	return g.report(t, day, at)
}

// tally gathers the stored events of day.
func (g *gate) tally(day school.Day) (*school.Tally, error) {
	t := school.NewTally(day, g.roster.get(), g.sched)
	if err := g.store.Scan(day.Start, day.End, t.Add); err != nil {
		return nil, fmt.Errorf("tally of %s: %w", day.Date, err)
	}
	return t, nil
}

// report finishes a tally as of at; visitors are counted from the visitor
// book and absences by their recorded reasons (names stay on the box).
// Lanes are named by their labels too.
func (g *gate) report(t *school.Tally, day school.Day, at time.Time) (event.Daily, error) {
	notes, err := g.store.Absences(day.Date)
	if err != nil {
		return event.Daily{}, err
	}
	t.SetAbsenceNotes(office.AbsenceNotes(notes))
	r := t.Report(at)
	visitors, err := g.store.Visitors(day.Date)
	if err != nil {
		return r, err
	}
	r.Visitors = len(visitors)
	r.LaneLabels = g.cfg.LaneLabels()
	return r, nil
}

func (g *gate) storeDaily(ctx context.Context, r event.Daily) error {
	ev, err := event.New(event.KindDaily, r)
	if err != nil {
		return err
	}
	g.stamp(&ev)
	ev.Urgent = true
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = g.store.AppendWait(ctx, ev)
	return err
}
