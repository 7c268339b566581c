package schoolday

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/office"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/screen"
	"github.com/gatescreen/gatescreen/storage"
)

// RunDay keeps the screen's school panels current (today's tally and the
// absentees of grades whose window closed), warns about stale or loose
// calibrations, and purges the visitor book and the absence follow-up past
// retention. It returns when ctx ends.
func (f *Office) RunDay(ctx context.Context) {
	calib := map[string]string{} // device → last warning reason sent
	var today runningTally
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for n := 0; ; n++ {
		now := f.now()
		if err := f.refreshPanels(now, &today); err != nil {
			f.o.Logger.Error().Err(err).Msg("school panels")
		}
		if n%60 == 0 { // hourly
			f.checkCalibrations(now, calib)
			f.purge(now)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// purge drops the visitor book and the absence follow-up past retention.
func (f *Office) purge(now time.Time) {
	if _, err := f.o.Store.PurgeVisitors(now.Add(-f.o.Retention)); err != nil {
		f.o.Logger.Error().Err(err).Msg("purging the visitor book")
	}
	if _, err := f.o.Store.PurgeAbsences(f.o.Schedule.Day(now.Add(-f.o.Retention))); err != nil {
		f.o.Logger.Error().Err(err).Msg("purging the absence follow-up")
	}
}

// runningTally is today's tally, brought up to date each minute with the
// events stored since: each event is read once, not once a minute.
type runningTally struct {
	day  school.Day
	t    *school.Tally
	last uint64 // highest seq counted
}

// refreshPanels tallies today so far for the screen.
func (f *Office) refreshPanels(now time.Time, rt *runningTally) error {
	if f.o.Screen == nil || !plausible(now) {
		return nil
	}
	day := f.o.Schedule.DayOf(now)
	if rt.t == nil || rt.day.Date != day.Date {
		*rt = runningTally{day: day, t: school.NewTally(day, f.o.Roster.Get(), f.o.Schedule)}
	}
	// Everything durable now is looked at by this scan, today's or not: the
	// next one starts after it even when nothing of today was stored
	// (a night or a weekend would otherwise rescan the whole store).
	upTo := f.o.Store.Durable()
	err := f.o.Store.ScanAfter(rt.last, day.Start, day.End, func(ev event.Event) error {
		rt.last = ev.Seq
		return rt.t.Add(ev)
	})
	if err != nil {
		return fmt.Errorf("tally of %s: %w", day.Date, err)
	}
	rt.last = max(rt.last, upTo)
	today, err := f.report(rt.t, day, now)
	if err != nil {
		return err
	}
	f.o.Screen.SetDaily(today)
	abs, err := f.absenteePanel(rt.t, day, now)
	if err != nil {
		return err
	}
	f.o.Screen.SetAbsentees(abs)
	return nil
}

// absenteePanel lists, by class, the absentees of the grades whose window
// has closed by now, with what was recorded about each.
func (f *Office) absenteePanel(t *school.Tally, day school.Day, now time.Time) (screen.Absentees, error) {
	recs, err := f.o.Store.Absences(day.Date)
	if err != nil {
		return screen.Absentees{}, err
	}
	abs := screen.Absentees{Day: day.Date}
	for class, people := range t.Absentees(now) {
		c := screen.AbsentClass{Class: class}
		for _, p := range people {
			c.Grade = p.Grade
			a, ok := recs[p.ID]
			c.Names = append(c.Names, absentName(p.Name, a, ok, f.o.Lang))
			c.IDs = append(c.IDs, p.ID)
		}
		abs.Classes = append(abs.Classes, c)
	}
	sort.Slice(abs.Classes, func(i, j int) bool { return abs.Classes[i].Class < abs.Classes[j].Class })
	return abs, nil
}

// absentName is how the screen lists an absentee to a logged-in session:
// the name with what the class teacher recorded, or that nobody has yet,
// so the desk sees who is still to be followed up.
func absentName(name string, a storage.Absence, recorded bool, lang string) string {
	if lang == office.LangEN {
		switch {
		case !recorded:
			return name + " (not recorded)"
		case len(a.Symptoms) > 0:
			return name + " (" + a.Reason + ": " + strings.Join(a.Symptoms, ", ") + ")"
		}
		return name + " (" + a.Reason + ")"
	}
	if !recorded {
		return name + "（未登记）"
	}
	why := office.Chinese(a.Reason)
	for _, s := range a.Symptoms {
		why += "·" + office.Chinese(s)
	}
	return name + "（" + why + "）"
}
