package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"

	"github.com/gatescreen/gatescreen/drivers"
	_ "github.com/gatescreen/gatescreen/drivers/all" // every driver registers itself
	"github.com/gatescreen/gatescreen/drivers/runner"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/logging"
	"github.com/gatescreen/gatescreen/internal/metrics"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/internal/schoolday"
	"github.com/gatescreen/gatescreen/lamps"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/screen"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/clock"
	"github.com/gatescreen/gatescreen/sync/uplink"
)

// Opts configures Run.
type Opts struct {
	Config *config.Config
	// ConfigPath is read again on SIGHUP to apply new screening parameters
	// and the roster; "" turns reloading off.
	ConfigPath string
	Secrets    config.Secrets
	// Version and Revision name the build (uplink status, /metrics).
	Version, Revision string
	Logger            zerolog.Logger
	// Open returns the opener of a device's port or bus, or nil for the
	// default: serial ports by path, I²C buses by periph name.
	Open func(dev drivers.Device, drv drivers.Driver) func(context.Context) (drivers.Conn, io.Closer, error)
	// Clock is the time source; default the system clock.
	Clock *clock.Clock
	// LampChange observes every lamp, buzzer and barrier write (demo,
	// latency benchmarks); optional.
	LampChange func(lane, output string, on bool, at time.Time)
	// Ready is called once everything runs.
	Ready func(Info)
}

// Info tells where a running daemon can be reached.
type Info struct {
	ScreenURL  string // "" when the screen is off
	MetricsURL string // "" when /metrics is off
	Socket     string // the local API's unix socket
	BoxID      string
}

// Run runs the gate until ctx is done, then shuts down in order. It returns
// nil after a clean shutdown.
func Run(ctx context.Context, o Opts) error {
	cfg, log := o.Config, o.Logger
	limitMemory(log)
	loc, err := time.LoadLocation(cfg.Site.Timezone)
	if err != nil {
		return fmt.Errorf("%w: site.timezone %q: %v", config.ErrInvalid, cfg.Site.Timezone, err)
	}
	if needsHost(cfg) {
		if _, err := host.Init(); err != nil {
			return fmt.Errorf("periph host drivers: %w", err)
		}
	}
	hub := &healthHub{log: logging.Component(log, "health")}
	clk := o.Clock
	anchors := anchorFile(cfg.Storage.Path)
	if clk == nil {
		clk = clock.New(clock.Opts{
			Anchors:    anchors.load(),
			SaveAnchor: anchors.save,
			Logger:     logging.Component(log, "clock"),
		})
	}
	stamp := func(ev *event.Event) {
		ev.Mono, ev.Wall = clk.Stamp()
		ev.BootID, ev.ClockSynced = clk.BootID(), clk.Synced()
	}

	// The store starts first and closes last: everything else writes to
	// it. Its check and open run in the background (a full file takes
	// seconds on a cold card) while the gate already screens: what is
	// appended meanwhile waits in its queue, in order (see storageReady).
	store := storage.Start(cfg.Storage.Path, storage.Opts{
		CommitInterval: cfg.Storage.CommitInterval,
		CommitEvents:   cfg.Storage.CommitEvents,
		MaxSize:        int64(cfg.Storage.MaxSize),
		Retention:      cfg.Storage.Retention,
		Logger:         logging.Component(log, "storage"),
		OnHealth:       hub.reportFromStore,
		Stamp:          stamp,
		BoxID:          cfg.Site.BoxID,
	})
	defer func() {
		if err := store.Close(); err != nil {
			log.Error().Err(err).Msg("closing the store")
		}
	}()
	hub.attachStore(func(h event.Health) {
		ev, err := event.New(event.KindHealth, h)
		if err != nil {
			return
		}
		stamp(&ev)
		ev.Urgent = true
		if err := store.Append(ev); err != nil {
			log.Error().Err(err).Str("of", h.Component).Msg("health event not stored")
		}
	})

	g, err := build(o, cfg, loc, clk, store, hub, stamp)
	if err != nil {
		return err
	}
	return g.run(ctx)
}

// gate is the running daemon's parts, built from the configuration by
// build and run as ordered start/stop pairs by run.
type gate struct {
	o       Opts
	cfg     *config.Config
	log     zerolog.Logger
	loc     *time.Location
	clk     *clock.Clock
	store   *storage.Store
	hub     *healthHub
	pipe    *pipeline.Pipeline
	cases   *pipeline.Cases
	caseLog *caseLog
	lamps   lamps.Lanes
	scr     *screen.Screen
	thumbs  thermalThumbs // nil without a screen or a thermal array
	met     *metrics.Registry
	up      *uplink.Uplink
	office  *schoolday.Office
	devices []pipeline.DeviceInfo
	lanes   []pipeline.Lane
	// lost counts, per device, the frames that never reached the pipeline.
	lost []runner.LostFrames
	// storeUp is closed once the store is open and what the gate reads
	// from it restored (storageReady).
	storeUp chan struct{}
}

func build(o Opts, cfg *config.Config, loc *time.Location, clk *clock.Clock,
	store *storage.Store, hub *healthHub, stamp func(*event.Event)) (_ *gate, err error) {
	g := &gate{o: o, cfg: cfg, log: o.Logger, loc: loc, clk: clk, store: store, hub: hub,
		storeUp: make(chan struct{})}
	defer func() {
		if err != nil && g.lamps != nil {
			g.lamps.Close() // pins back to their safe state
		}
	}()
	sched, err := school.NewSchedule(cfg.School.Calendar(), loc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", config.ErrInvalid, err)
	}
	roster, err := schoolday.NewRoster(cfg.School.Roster)
	if err != nil {
		return nil, err
	}
	if g.devices, g.lanes, err = describe(cfg); err != nil {
		return nil, fmt.Errorf("%w: %v", config.ErrInvalid, err)
	}
	g.lost = make([]runner.LostFrames, len(cfg.Devices))

	if g.met, err = g.buildMetrics(); err != nil {
		return nil, err
	}
	hub.attach(g.met.Health)
	if err := g.buildCases(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			g.caseLog.close(context.Background())
		}
	}()

	if err := g.buildScreen(); err != nil {
		return nil, err
	}
	if g.lamps, err = g.buildLamps(); err != nil {
		return nil, err
	}

	// Compensation as configured; storageReady adds the stored
	// calibrations before the devices that need them start.
	params := screeningParams(cfg.Screening)
	g.pipe, err = pipeline.New(pipeline.Opts{
		Devices:  g.devices,
		Lanes:    g.lanes,
		Params:   params,
		Logger:   logging.Component(g.log, "pipeline"),
		OnHealth: hub.report,
		Roster:   roster.Card,
		Cases:    g.cases,
	})
	if err != nil {
		return nil, err
	}
	if err := g.buildSchool(sched, roster, stamp); err != nil {
		return nil, err
	}
	if err := g.addSinks(); err != nil {
		return nil, err
	}

	if cfg.Uplink.Broker != "" {
		if g.up, err = g.buildUplink(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// buildCases makes the case desk and the log that stores its transitions.
func (g *gate) buildCases() (err error) {
	cfg, clk := g.cfg, g.clk
	g.caseLog = newCaseLog(g.store, logging.Component(g.log, "cases"))
	g.cases, err = pipeline.NewCases(pipeline.CaseOpts{
		Store:          g.caseLog,
		Lanes:          g.lanes,
		Location:       g.loc,
		ThresholdC:     cfg.Screening.ThresholdC,
		RecheckOverdue: cfg.Screening.RecheckOverdue,
		Clock:          clk,
		Now:            clk.Now,
		Mono:           func() int64 { m, _ := clk.Stamp(); return m },
		Logger:         logging.Component(g.log, "cases"),
		OnChange:       g.caseChanged,
		LateRestore:    true, // storageReady
	})
	if err != nil {
		g.caseLog.close(context.Background())
	}
	return err
}

// addSinks attaches every consumer of measurements to the pipeline.
func (g *gate) addSinks() error {
	events, err := pipeline.NewEventSink(pipeline.EventSinkOpts{
		Store: patientStore{g.store}, Clock: g.clk, Devices: g.devices, Lanes: g.lanes,
		Tag:    g.office.TagReading,
		Logger: logging.Component(g.log, "events"),
	})
	if err != nil {
		return err
	}
	// The lamps come first so the gate reacts before anything else is told;
	// every sink has its own ring, so the order is only a courtesy.
	g.pipe.AddSink("lamps", pipeline.DefaultRingSize, g.lamps)
	if g.scr != nil {
		g.pipe.AddSink("screen", pipeline.DefaultRingSize, g.scr)
	}
	g.pipe.AddSink("storage", pipeline.StorageRingSize, events)
	// Counting costs less than waking a goroutine for it.
	g.pipe.AddInlineSink("metrics", g.met)
	g.pipe.AddSink("calibration", 64, g.office.Calibrator())
	return nil
}

func (g *gate) buildScreen() error {
	cfg := g.cfg
	if cfg.Screen.Listen == "" {
		return nil
	}
	var thermalImages screen.ThermalImages
	if g.thumbs = newThermalThumbs(cfg); g.thumbs != nil {
		thermalImages = g.thumbs
	}
	var err error
	g.scr, err = screen.New(screen.Opts{
		Lanes:          g.lanes,
		Devices:        g.devices,
		Desk:           openingDesk{g.cases, g.storeUp},
		DoctorPIN:      []byte(g.o.Secrets.DoctorPIN),
		TeacherPIN:     []byte(g.o.Secrets.TeacherPIN),
		Absences:       g,
		Lang:           cfg.Screen.Lang,
		MaxAttempts:    cfg.Screen.MaxAttempts,
		Lockout:        cfg.Screen.Lockout,
		Hosts:          cfg.Screen.Hosts,
		FlagHold:       cfg.Screen.FlagHold,
		RecheckOverdue: cfg.Screening.RecheckOverdue,
		Driller:        g,
		Visitors:       openingBook{g.store, g.storeUp},
		Thermal:        thermalImages,
		Location:       g.loc,
		Now:            g.clk.Now,
		Logger:         logging.Component(g.log, "screen"),
	})
	if err != nil {
		return err
	}
	g.hub.attach(g.scr.Health)
	return nil
}

func (g *gate) buildLamps() (lamps.Lanes, error) {
	all := make(lamps.Lanes, len(g.cfg.Lanes))
	for i, l := range g.cfg.Lanes {
		if l.Output == "" {
			continue
		}
		lp, err := lamps.New(&lamps.Opts{
			Lane:     l.Name,
			Pins:     g.cfg.Outputs[l.Output],
			Logger:   logging.Component(g.log, "lamps"),
			OnChange: g.o.LampChange,
		})
		if err != nil {
			all.Close()
			return nil, fmt.Errorf("lanes[%d] %s: %w", i, l.Name, err)
		}
		all[i] = lp
	}
	return all, nil
}

func (g *gate) buildUplink() (*uplink.Uplink, error) {
	cfg := g.cfg
	tlsCfg, err := uplinkTLS(cfg.Uplink)
	if err != nil {
		return nil, err
	}
	return uplink.New(outbox{g.store}, uplink.Opts{
		Broker:       cfg.Uplink.Broker,
		ClientID:     cfg.Uplink.ClientID,
		Username:     cfg.Uplink.Username,
		Password:     g.o.Secrets.MQTTPassword,
		TLS:          tlsCfg,
		District:     cfg.Site.District,
		School:       cfg.Site.School,
		Gate:         cfg.Site.Gate,
		BoxID:        cfg.Site.BoxID,
		BootID:       g.clk.BootID(),
		Version:      g.o.Version,
		Identity:     cfg.Uplink.Identity,
		PseudonymKey: g.o.Secrets.PseudonymKey,
		Clock:        g.clk,
		BatchSize:    cfg.Uplink.BatchSize,
		MaxInflight:  cfg.Uplink.MaxInflight,
		RateLimit:    cfg.Uplink.RateLimit,
		Keepalive:    cfg.Uplink.Keepalive,
		Timeout:      cfg.Uplink.Timeout,
		Logger:       logging.Component(g.log, "uplink"),
	})
}

func uplinkTLS(u config.Uplink) (*tls.Config, error) {
	if u.CAFile == "" && u.CertFile == "" {
		return nil, nil
	}
	return uplink.TLSConfig(u.CAFile, u.CertFile, u.KeyFile)
}

func defaultOpener(dev drivers.Device, drv drivers.Driver) func(context.Context) (drivers.Conn, io.Closer, error) {
	if drv.Transport == drivers.I2C {
		return func(context.Context) (drivers.Conn, io.Closer, error) {
			bus, err := i2creg.Open(dev.Bus)
			if err != nil {
				return drivers.Conn{}, nil, fmt.Errorf("device %s: I²C bus %q: %w", dev.Name, dev.Bus, err)
			}
			return drivers.Conn{Bus: bus}, bus, nil
		}
	}
	return runner.SerialOpener(dev, drv)
}

// needsHost reports whether periph's host drivers (real GPIO and I²C) are
// needed.
func needsHost(cfg *config.Config) bool {
	if len(cfg.Outputs) > 0 {
		return true
	}
	for _, d := range cfg.Devices {
		if drv, ok := drivers.Lookup(d.Driver); ok && drv.Transport == drivers.I2C {
			return true
		}
	}
	return false
}
