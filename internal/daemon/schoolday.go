package daemon

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/office"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/screen"
	"github.com/gatescreen/gatescreen/storage"
)

// schoolDay keeps the screen's school panels current (today's tally and the
// absentees of grades whose window closed), warns about stale or loose
// calibrations, and purges the visitor book and the absence follow-up past
// retention.
func (g *gate) schoolDay(ctx context.Context) {
	calib := map[string]string{} // device → last warning reason sent
	var today runningTally
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for n := 0; ; n++ {
		now := g.now()
		if err := g.refreshPanels(now, &today); err != nil {
			g.log.Error().Err(err).Msg("school panels")
		}
		if n%60 == 0 { // hourly
			g.checkCalibrations(now, calib)
			if _, err := g.store.PurgeVisitors(now.Add(-g.cfg.Storage.Retention)); err != nil {
				g.log.Error().Err(err).Msg("purging the visitor book")
			}
			if _, err := g.store.PurgeAbsences(g.sched.Day(now.Add(-g.cfg.Storage.Retention))); err != nil {
				g.log.Error().Err(err).Msg("purging the absence follow-up")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
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
func (g *gate) refreshPanels(now time.Time, rt *runningTally) error {
	if g.scr == nil || !plausible(now) {
		return nil
	}
	day := g.sched.DayOf(now)
	if rt.t == nil || rt.day.Date != day.Date {
		*rt = runningTally{day: day, t: school.NewTally(day, g.roster.get(), g.sched)}
	}
	// Everything durable now is looked at by this scan, today's or not: the
	// next one starts after it even when nothing of today was stored
	// (a night or a weekend would otherwise rescan the whole store).
	upTo := g.store.Durable()
	err := g.store.ScanAfter(rt.last, day.Start, day.End, func(ev event.Event) error {
		rt.last = ev.Seq
		return rt.t.Add(ev)
	})
	if err != nil {
		return fmt.Errorf("tally of %s: %w", day.Date, err)
	}
	rt.last = max(rt.last, upTo)
	t := rt.t
	today, err := g.report(t, day, now)
	if err != nil {
		return err
	}
	g.scr.SetDaily(today)
	recs, err := g.store.Absences(day.Date)
	if err != nil {
		return err
	}
	abs := screen.Absentees{Day: day.Date}
	for class, people := range t.Absentees(now) {
		c := screen.AbsentClass{Class: class}
		for _, p := range people {
			c.Grade = p.Grade
			a, ok := recs[p.ID]
			c.Names = append(c.Names, absentName(p.Name, a, ok, g.cfg.Screen.Lang))
			c.IDs = append(c.IDs, p.ID)
		}
		abs.Classes = append(abs.Classes, c)
	}
	sort.Slice(abs.Classes, func(i, j int) bool { return abs.Classes[i].Class < abs.Classes[j].Class })
	g.scr.SetAbsentees(abs)
	return nil
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

// checkCalibrations raises a calibration warning for every skin sensor
// whose record is older than calibration.max_age or spread too wide; each
// change is reported once (it is stored and uploaded on health).
func (g *gate) checkCalibrations(now time.Time, sent map[string]string) {
	records, err := g.store.Calibrations()
	if err != nil {
		g.log.Error().Err(err).Msg("reading calibrations")
		return
	}
	for _, d := range g.devices {
		rec, ok := records[d.Name]
		if d.Mode != pipeline.ModeSkin || !ok {
			continue
		}
		reason := ""
		switch age := now.Sub(rec.At.Time()); {
		case plausible(now) && age > g.cfg.Calibration.MaxAge:
			reason = fmt.Sprintf("overdue: calibrated %s, %d days ago", rec.At.Time().In(g.loc).Format(time.DateOnly), int(age.Hours()/24))
		case rec.SpreadC > g.cfg.Calibration.MaxSpreadC:
			reason = fmt.Sprintf("spread %.2f °C wider than %.2f °C", rec.SpreadC, g.cfg.Calibration.MaxSpreadC)
		}
		if reason == sent[d.Name] {
			continue
		}
		sent[d.Name] = reason
		state := event.HealthWarning
		if reason == "" {
			state, reason = event.HealthOK, "calibrated"
		}
		g.hub.report(event.Health{Component: "calibration", Device: d.Name, State: state, Reason: reason})
	}
}

// drillBanner is how long the screen says a drill is running.
const drillBanner = 3 * time.Minute

// Drill passes a simulated person at tempC through the real flow on lane;
// every event it causes is marked drill. It serves the screen's drill
// button and `gatescreen drill`.
func (g *gate) Drill(lane string, tempC float64) error {
	if tempC < 30 || tempC > 45 {
		return fmt.Errorf("drill: %.1f °C is not a body temperature (30–45 °C)", tempC)
	}
	for i, l := range g.cfg.Lanes {
		if l.Name != lane {
			continue
		}
		if l.Role == event.RoleRecheck {
			return fmt.Errorf("drill: lane %q is a re-check lane: a drill there would resolve a real case", lane)
		}
		dev := g.devices[g.lanes[i].Device]
		rd := drivers.NewTemperature(tempC, math.NaN(), drivers.FlagNoAmbient)
		if dev.Mode == pipeline.ModeSkin { // the sensor would read skin
			rd.ObjectC = tempC - dev.OffsetC
		}
		rd.Mono, rd.Wall = g.clk.Stamp()
		if err := g.pipe.Inject(i, rd, true); err != nil {
			return fmt.Errorf("drill on %s: %w", lane, err)
		}
		g.log.Warn().Str("lane", lane).Float64("temp_c", tempC).Msg("drill started")
		if g.scr != nil {
			g.scr.SetBanner(screen.Banner{ID: "drill", Level: "info", Text: "banner_drill", Arg: lane})
			time.AfterFunc(drillBanner, func() { g.scr.ClearBanner("drill") })
		}
		return nil
	}
	return fmt.Errorf("drill: no lane %q", lane)
}
