package daemon

import (
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/internal/schoolday"
	"github.com/gatescreen/gatescreen/screen"
)

// buildSchool makes the school office (and its calibrator) from the
// configuration, once the pipeline and the screen exist.
func (g *gate) buildSchool(sched *school.Schedule, roster *schoolday.Roster, stamp func(*event.Event)) (err error) {
	cfg := g.cfg
	var scr schoolday.Screen // a nil *screen.Screen would not be a nil Screen
	if g.scr != nil {
		scr = g.scr
	}
	g.office, err = schoolday.New(schoolday.Opts{
		Store:             g.store,
		Schedule:          sched,
		Roster:            roster,
		Devices:           g.devices,
		Lanes:             g.lanes,
		LaneLabels:        cfg.LaneLabels(),
		Pipeline:          g.pipe,
		Screen:            scr,
		OnHealth:          g.hub.report,
		Clock:             g.clk,
		Stamp:             stamp,
		DailyAt:           cfg.Reports.DailyAt,
		Retention:         cfg.Storage.Retention,
		MaxCalibrationAge: cfg.Calibration.MaxAge,
		MaxSpreadC:        cfg.Calibration.MaxSpreadC,
		MaxOffsetC:        config.MaxOffsetC,
		Lang:              cfg.Screen.Lang,
		PseudonymKey:      g.o.Secrets.PseudonymKey,
		Logger:            g.log,
	})
	return err
}

// Drill and RecordAbsence serve the screen, which is made before the
// office that shows its panels on it: they pass its requests on.
func (g *gate) Drill(lane string, tempC float64) error { return g.office.Drill(lane, tempC) }

func (g *gate) RecordAbsence(r screen.AbsenceRecord) (string, error) {
	return g.office.RecordAbsence(r)
}

var (
	_ screen.Driller     = (*gate)(nil)
	_ screen.AbsenceBook = (*gate)(nil)
)
