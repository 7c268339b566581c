package schoolday

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/office"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/screen"
	"github.com/gatescreen/gatescreen/storage"
)

// Store is what the office reads and writes in the store.
type Store interface {
	office.Store // Scan, Daily, Absences
	ScanAfter(after uint64, from, to time.Time, fn func(event.Event) error) error
	Durable() uint64
	AppendWait(ctx context.Context, ev event.Event) (uint64, error)
	Meta(key string) ([]byte, error)
	SetMeta(key string, v []byte) error
	Calibrations() (map[string]event.Calibration, error)
	PutAbsence(a storage.Absence) error
	PurgeAbsences(before string) (int, error)
	Visitors(day string) ([]storage.Visitor, error)
	PurgeVisitors(before time.Time) (int, error)
}

// Pipeline takes a drill's simulated reading through the real flow and
// puts a calibration's correction in force.
type Pipeline interface {
	Inject(laneIdx int, r drivers.Reading, drill bool) error
	Compensator
}

// Screen is the gate screen's school panels and banners.
type Screen interface {
	SetDaily(d event.Daily)
	SetAbsentees(a screen.Absentees)
	SetBanner(b screen.Banner)
	ClearBanner(id string)
}

// Clock is the daemon's clock: the one that stamps its events, so that
// "today", the report time and the events' days agree.
type Clock interface {
	Now() time.Time
	Stamp() (mono, wall int64)
}

// Opts configures New.
type Opts struct {
	// Store is required.
	Store Store
	// Schedule is the school's calendar and grade windows; required.
	Schedule *school.Schedule
	// Roster names the people; nil: none imported.
	Roster *Roster
	// Devices and Lanes are the pipeline's tables (drills, calibration
	// checks).
	Devices []pipeline.DeviceInfo
	Lanes   []pipeline.Lane
	// LaneLabels names the lanes in the reports (lanes[].label).
	LaneLabels map[string]string
	// Pipeline takes the drills and the calibrations.
	Pipeline Pipeline
	// Screen shows the panels; nil when the screen is off.
	Screen Screen
	// OnHealth receives the calibration warnings; nil: dropped.
	OnHealth func(event.Health)
	// Clock defaults to the system clock.
	Clock Clock
	// Stamp stamps a stored event; default the Clock's mono and wall time.
	Stamp func(*event.Event)
	// DailyAt is the local time of the daily report, HH:MM; default 18:00.
	DailyAt string
	// Retention is how long the visitor book and the absence follow-up
	// are kept (storage.retention).
	Retention time.Duration
	// MaxCalibrationAge and MaxSpreadC bound a calibration in force
	// before it is warned about (calibration.max_age, max_spread_c).
	MaxCalibrationAge time.Duration
	MaxSpreadC        float64
	// MaxOffsetC bounds the offset a calibration may put in force (the
	// range of devices[].offset_c).
	MaxOffsetC float64
	// Lang is the screen's language for the absentees' notes: zh-CN or en.
	Lang string
	// PseudonymKey is the uplink's key, for exports by pseudonym.
	PseudonymKey []byte
	Logger       zerolog.Logger
}

// Office runs the school's day at the gate. Its methods are safe for
// concurrent use; RunReports and RunDay run on their own goroutines.
type Office struct {
	o       Opts
	dailyAt time.Time
	calib   *Calibrator
}

// New checks o and fills in its defaults.
func New(o Opts) (*Office, error) {
	if o.Store == nil || o.Schedule == nil {
		return nil, fmt.Errorf("schoolday: a store and a schedule are required")
	}
	if o.Roster == nil {
		o.Roster = &Roster{}
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Stamp == nil {
		o.Stamp = func(ev *event.Event) { ev.Mono, ev.Wall = o.Clock.Stamp() }
	}
	if o.DailyAt == "" {
		o.DailyAt = "18:00"
	}
	at, err := time.Parse("15:04", o.DailyAt)
	if err != nil {
		return nil, fmt.Errorf("schoolday: daily report time %q: %w", o.DailyAt, err)
	}
	if o.OnHealth == nil {
		o.OnHealth = func(event.Health) {}
	}
	f := &Office{o: o, dailyAt: at}
	f.calib = NewCalibrator(CalibratorOpts{Devices: o.Devices, Store: o.Store, Pipeline: o.Pipeline, Stamp: o.Stamp,
		Now: f.now, MaxSpreadC: o.MaxSpreadC, MaxOffsetC: o.MaxOffsetC, Logger: o.Logger})
	return f, nil
}

// Calibrator is the office's calibrator: a sink of the pipeline, run by
// the local API.
func (f *Office) Calibrator() *Calibrator { return f.calib }

// Roster is the roster in force (Opts.Roster).
func (f *Office) Roster() *Roster { return f.o.Roster }

// now is the daemon's wall clock (Opts.Clock, which a test may inject).
func (f *Office) now() time.Time { return f.o.Clock.Now() }

// Today is the school day of the daemon's clock.
func (f *Office) Today() school.Day { return f.o.Schedule.DayOf(f.now()) }

// ParseDay reads a local date (YYYY-MM-DD) as a school day.
func (f *Office) ParseDay(date string) (school.Day, error) { return f.o.Schedule.ParseDay(date) }

// Location is the school's time zone.
func (f *Office) Location() *time.Location { return f.o.Schedule.Location() }

// Ledger is the office's view of the store for exports: the roster in
// force names the people, the lanes their labels.
func (f *Office) Ledger() *office.Ledger {
	return &office.Ledger{Store: f.o.Store, Sched: f.o.Schedule, Roster: f.o.Roster.Get(), Labels: f.o.LaneLabels,
		PseudonymKey: f.o.PseudonymKey, Now: f.now()}
}

// plausible tells a wall clock that has been set from one still at its
// 1970 power-on value (a Pi has no RTC): reports wait for the former.
func plausible(t time.Time) bool { return t.Year() >= 2025 }

// systemClock is the default Clock: the system's wall time, and monotonic
// time since the process started.
type systemClock struct{}

var processStart = time.Now()

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Stamp() (mono, wall int64) {
	now := time.Now()
	return int64(now.Sub(processStart)), now.UnixNano()
}
