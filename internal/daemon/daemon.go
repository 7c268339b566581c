package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
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
	"github.com/gatescreen/gatescreen/internal/sdnotify"
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

// gate is the running daemon's parts.
type gate struct {
	o       Opts
	cfg     *config.Config
	log     zerolog.Logger
	loc     *time.Location
	clk     *clock.Clock
	store   *storage.Store
	hub     *healthHub
	stamp   func(*event.Event)
	pipe    *pipeline.Pipeline
	cases   *pipeline.Cases
	caseLog *caseLog
	lamps   lamps.Lanes
	scr     *screen.Screen
	met     *metrics.Registry
	up      *uplink.Uplink
	roster  *rosterHolder
	sched   *school.Schedule
	devices []pipeline.DeviceInfo
	lanes   []pipeline.Lane
	calib   *calibrator
	// storeUp is closed once the store is open and what the gate reads
	// from it restored (storageReady).
	storeUp chan struct{}
}

func build(o Opts, cfg *config.Config, loc *time.Location, clk *clock.Clock,
	store *storage.Store, hub *healthHub, stamp func(*event.Event)) (_ *gate, err error) {
	g := &gate{o: o, cfg: cfg, log: o.Logger, loc: loc, clk: clk, store: store, hub: hub, stamp: stamp,
		storeUp: make(chan struct{})}
	defer func() {
		if err != nil && g.lamps != nil {
			g.lamps.Close() // pins back to their safe state
		}
	}()
	if g.sched, err = school.NewSchedule(SchoolCalendar(cfg.School), loc); err != nil {
		return nil, fmt.Errorf("%w: %v", config.ErrInvalid, err)
	}
	g.roster = &rosterHolder{path: cfg.School.Roster}
	if err := g.roster.reload(); err != nil {
		return nil, err
	}
	if g.devices, g.lanes, err = describe(cfg); err != nil {
		return nil, fmt.Errorf("%w: %v", config.ErrInvalid, err)
	}

	g.met, err = metrics.New(metrics.Opts{
		Lanes:       g.lanes,
		Version:     o.Version,
		Revision:    o.Revision,
		StoreSize:   store.Size,
		OutboxDepth: store.OutboxLen,
		Uplink:      g.uplinkFigures,
		DeviceFrames: func() map[string]map[string]uint64 {
			if g.pipe == nil {
				return nil
			}
			out := map[string]map[string]uint64{}
			for _, d := range g.pipe.Stats().Devices {
				by := map[string]uint64{"valid": d.Readings - d.Invalid}
				for reason, n := range d.InvalidBy {
					by[reason] = n
				}
				out[d.Name] = by
			}
			return out
		},
		OldestPending: func() (time.Time, bool) {
			t, ok, err := store.OldestPending()
			return t, ok && err == nil
		},
		ClockSynced: clk.Synced,
		StoreRoom: func() (int64, int64) {
			a, f, _ := store.Room()
			return a, f
		},
		MaxStoreSize: int64(cfg.Storage.MaxSize),
		RingOverflows: func() map[string]uint64 {
			if g.pipe == nil {
				return nil
			}
			over := g.pipe.Stats().Overflows
			if g.scr != nil {
				over["screen_sse"] = g.scr.Dropped()
			}
			return over
		},
		UnknownCards: func() uint64 {
			if g.pipe == nil {
				return 0
			}
			return g.pipe.Stats().UnknownCards
		},
		DeviceAlarms: func() map[string]uint64 {
			if g.pipe == nil {
				return nil
			}
			out := map[string]uint64{}
			for _, d := range g.pipe.Stats().Devices {
				out[d.Name] = d.DeviceAlarms
			}
			return out
		},
	})
	if err != nil {
		return nil, err
	}
	hub.attach(g.met.Health)

	g.caseLog = newCaseLog(store, logging.Component(g.log, "cases"))
	defer func() {
		if err != nil {
			g.caseLog.close(context.Background())
		}
	}()
	g.cases, err = pipeline.NewCases(pipeline.CaseOpts{
		Store:          g.caseLog,
		Lanes:          g.lanes,
		Location:       loc,
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
		return nil, err
	}

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
		Roster:   g.roster.card,
		Cases:    g.cases,
	})
	if err != nil {
		return nil, err
	}
	events, err := pipeline.NewEventSink(pipeline.EventSinkOpts{
		Store: patientStore{store}, Clock: clk, Devices: g.devices, Lanes: g.lanes,
		Tag:    g.tagReading,
		Logger: logging.Component(g.log, "events"),
	})
	if err != nil {
		return nil, err
	}
	g.calib = newCalibrator(g)
	// The lamps come first so the gate reacts before anything else is told;
	// every sink has its own ring, so the order is only a courtesy.
	g.pipe.AddSink("lamps", pipeline.DefaultRingSize, g.lamps)
	if g.scr != nil {
		g.pipe.AddSink("screen", pipeline.DefaultRingSize, g.scr)
	}
	g.pipe.AddSink("storage", pipeline.StorageRingSize, events)
	g.pipe.AddSink("metrics", pipeline.DefaultRingSize, g.met)
	g.pipe.AddSink("calibration", 64, g.calib)

	if cfg.Uplink.Broker != "" {
		if g.up, err = g.buildUplink(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *gate) buildScreen() error {
	cfg := g.cfg
	if cfg.Screen.Listen == "" {
		return nil
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

// run starts every part and, when ctx ends, stops them in order.
func (g *gate) run(ctx context.Context) error {
	log := g.log
	bg, stopBG := context.WithCancel(context.Background())
	var bgWG sync.WaitGroup
	goBG := func(fn func(context.Context)) {
		bgWG.Add(1)
		go func() { defer bgWG.Done(); fn(bg) }()
	}

	var info Info
	info.BoxID = g.cfg.Site.BoxID
	screenDone := make(chan error, 1)
	if g.scr != nil {
		ln, err := net.Listen("tcp", g.cfg.Screen.Listen)
		if err != nil {
			stopBG()
			g.lamps.Close()
			return fmt.Errorf("screen.listen %s: %w", g.cfg.Screen.Listen, err)
		}
		info.ScreenURL = "http://" + ln.Addr().String()
		go func() { screenDone <- g.scr.Serve(bg, ln) }()
	} else {
		screenDone <- nil
	}
	metricsDone := make(chan error, 1)
	if g.cfg.Metrics.Listen != "" {
		ln, err := net.Listen("tcp", g.cfg.Metrics.Listen)
		if err != nil {
			stopBG()
			g.lamps.Close()
			return fmt.Errorf("metrics.listen %s: %w", g.cfg.Metrics.Listen, err)
		}
		info.MetricsURL = "http://" + ln.Addr().String() + "/metrics"
		go func() { metricsDone <- g.met.Serve(bg, ln) }()
	} else {
		metricsDone <- nil
	}
	api, err := g.serveLocalAPI(bg)
	if err != nil {
		stopBG()
		g.lamps.Close()
		return err
	}
	info.Socket = api

	g.pipe.Start(bg)
	goBG(g.clk.Run)
	goBG(g.pollStatus)
	goBG(g.dailyReports)
	goBG(g.schoolDay)
	upDone := make(chan struct{})
	upCtx, stopUp := context.WithCancel(context.Background())
	if g.up != nil {
		go func() {
			defer close(upDone)
			if err := g.up.Run(upCtx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error().Err(err).Msg("uplink stopped")
			}
		}()
	} else {
		close(upDone)
		if g.scr != nil {
			g.scr.SetUplink("disabled")
		}
	}

	// Devices start last: the pipeline and every sink are ready for them.
	// Those whose readings depend on the store's records wait for it.
	devCtx, stopDevices := context.WithCancel(context.Background())
	storeFailed := make(chan error, 1)
	goBG(func(ctx context.Context) {
		if err := g.storageReady(ctx); err != nil {
			storeFailed <- err
		}
	})
	var devWG sync.WaitGroup
	for i, dev := range g.cfg.Devices {
		drv, _ := drivers.Lookup(dev.Driver) // validated with the config
		open := defaultOpener(dev, drv)
		if g.o.Open != nil {
			if custom := g.o.Open(dev, drv); custom != nil {
				open = custom
			}
		}
		ro := runner.Opts{
			Device:   dev,
			Driver:   drv,
			Index:    uint16(i),
			Open:     open,
			Emit:     g.pipe.Producer(uint16(i)),
			Stamp:    g.clk.Stamp,
			OnHealth: g.hub.report,
			Logger:   logging.Component(log, "device").With().Str("device", dev.Name).Logger(),
		}
		if g.devices[i].Continuous {
			// It sends frames with nobody there: silence is a fault, and
			// only a valid frame says it is up.
			ro.SilentAfter, ro.UpOnFrame = 10*time.Second, true
		}
		devWG.Add(1)
		go func() {
			defer devWG.Done()
			if g.needsStore(i) {
				select {
				case <-g.storeUp:
				case <-devCtx.Done():
					return
				}
			}
			if err := runner.Run(devCtx, ro); err != nil {
				log.Error().Err(err).Str("device", dev.Name).Msg("device runner stopped")
			}
		}()
	}

	notify := sdnotify.FromEnv()
	_ = notify.Send("READY=1") // outside systemd this does nothing
	goBG(func(ctx context.Context) { notify.Watchdog(ctx, nil) })
	log.Info().Str("screen", info.ScreenURL).Str("metrics", info.MetricsURL).Str("socket", info.Socket).Int("devices", len(g.cfg.Devices)).
		Int("lanes", len(g.cfg.Lanes)).Str("box", info.BoxID).Msg("gate running")
	if g.o.Ready != nil {
		g.o.Ready(info)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var runErr error
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-hup:
			g.reload()
		case err := <-screenDone:
			if err != nil {
				runErr = fmt.Errorf("screen: %w", err)
				break wait
			}
			screenDone = nil
		case err := <-metricsDone:
			if err != nil {
				runErr = err
				break wait
			}
			metricsDone = nil
		case runErr = <-storeFailed:
			break wait
		}
	}

	// Ordered shutdown.
	log.Info().Msg("stopping: devices first")
	_ = notify.Send("STOPPING=1")
	stopDevices()
	devWG.Wait()
	log.Info().Msg("draining the pipeline")
	g.pipe.Close()
	if err := g.lamps.Close(); err != nil {
		log.Error().Err(err).Msg("releasing lamp pins")
	}
	log.Info().Msg("uplink: publishing offline status")
	stopUp()
	<-upDone
	stopBG()
	bgWG.Wait()
	if screenDone != nil {
		<-screenDone
	}
	if metricsDone != nil {
		<-metricsDone
	}
	log.Info().Msg("flushing the store")
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g.caseLog.close(fctx)
	if err := g.store.Flush(fctx); err != nil {
		log.Error().Err(err).Msg("flushing the store")
	}
	return runErr
}

// storageReady waits for the store's check and open, then restores what
// the gate reads from it: the open cases and today's ticket counter, and
// the stored calibrations. An error (a locked file, a newer schema, a disk
// that cannot be read) stops the daemon, as it did before the gate started.
func (g *gate) storageReady(ctx context.Context) error {
	if err := g.store.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		_ = g.cases.Restore() // whatever waits for the cases goes on, with none
		return err
	}
	if err := g.cases.Restore(); err != nil {
		return err
	}
	if err := g.applyCalibrations(); err != nil {
		return err
	}
	close(g.storeUp)
	if g.scr != nil {
		for _, c := range g.cases.Open() {
			g.scr.CaseChanged(c)
		}
		g.scr.RecountVisitors()
	}
	g.log.Info().Msg("store open")
	return nil
}

// openingDesk is the case desk as the screen sees it: made while the store
// is still opening, the screen starts with no open cases, and storageReady
// shows it the restored ones. The doctor's actions wait for the restore.
type openingDesk struct {
	*pipeline.Cases
	up <-chan struct{}
}

func (d openingDesk) Open() []event.Case {
	select {
	case <-d.up:
		return d.Cases.Open()
	default:
		return nil
	}
}

// openingBook is the visitor book as the screen sees it: empty while the
// store is opening; storageReady has the screen count again.
type openingBook struct {
	*storage.Store
	up <-chan struct{}
}

func (b openingBook) Visitors(day string) ([]storage.Visitor, error) {
	select {
	case <-b.up:
		return b.Store.Visitors(day)
	default:
		return nil, nil
	}
}

// reload applies a changed configuration file on SIGHUP: screening
// parameters and the roster. A bad file is rejected and the old one kept.
func (g *gate) reload() {
	log := g.log.With().Str("file", g.o.ConfigPath).Logger()
	if g.o.ConfigPath == "" {
		log.Warn().Msg("SIGHUP ignored: no configuration file to reload")
		return
	}
	cfg, err := config.Load(g.o.ConfigPath)
	if err != nil {
		log.Error().Err(err).Msg("reload rejected, keeping the configuration in force")
		return
	}
	g.pipe.Reload(screeningParams(cfg.Screening)) // compensation and calibration stay
	if err := g.roster.reload(); err != nil {
		log.Error().Err(err).Msg("roster not reloaded")
	}
	log.Info().Float64("threshold_c", cfg.Screening.ThresholdC).
		Msg("screening parameters reloaded; device, lane, storage and uplink changes need a restart")
}

// pollStatus copies slow-changing state to the screen and /metrics.
func (g *gate) pollStatus(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var unknownCards uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.met.SetOpenCases(len(g.cases.Open()))
		if n := g.pipe.Stats().UnknownCards; n != unknownCards && g.scr != nil {
			unknownCards = n
			g.scr.SetBanner(screen.Banner{ID: "unknown_cards", Level: "info",
				Text: "banner_unknown_cards", Arg: strconv.FormatUint(n, 10)})
		}
		if g.up == nil {
			continue
		}
		st := g.up.Status()
		g.met.SetUplinkConnected(st.Connected)
		if g.scr != nil {
			state := "offline"
			if st.Connected {
				state = "connected"
			}
			g.scr.SetUplink(state)
		}
	}
}

// uplinkFigures is the uplink's counters for /metrics; zero without one.
func (g *gate) uplinkFigures() metrics.UplinkFigures {
	if g.up == nil {
		return metrics.UplinkFigures{}
	}
	st := g.up.Status()
	return metrics.UplinkFigures{Connected: st.Connected, Connects: st.Connects, Messages: st.SentMessages,
		Events: st.SentEvents, Acked: st.AckedEvents, Unconfirmed: st.Unconfirmed, LastAck: st.LastAckAt}
}

// caseChanged forwards a case transition to the screen and releases a
// lane's red lamp once none of its cases waits any more.
func (g *gate) caseChanged(c event.Case) {
	if g.scr != nil {
		g.scr.CaseChanged(c)
	}
	if c.State == event.CaseAwaitingRecheck {
		return
	}
	for _, open := range g.cases.Open() {
		if open.Lane == c.Lane && open.State == event.CaseAwaitingRecheck {
			return
		}
	}
	for i, l := range g.cfg.Lanes {
		if l.Name == c.Lane && g.lamps[i] != nil {
			g.lamps[i].ResolveFlag()
		}
	}
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

// outbox adapts the store to the uplink's view of it.
type outbox struct{ s *storage.Store }

func (o outbox) Pending(q uplink.Queue, after uint64, max int) ([]event.Event, error) {
	sq := storage.Bulk
	if q == uplink.Priority {
		sq = storage.Priority
	}
	return o.s.Pending(sq, after, max)
}
func (o outbox) Ack(seqs ...uint64) error { return o.s.Ack(seqs...) }
func (o outbox) Notify() <-chan struct{}  { return o.s.Notify() }

// anchorFile keeps the clock's sync anchors beside the store, so a daemon
// restarted within the same boot still corrects earlier timestamps.
type anchorFile string

func (a anchorFile) path() string {
	return filepath.Join(filepath.Dir(string(a)), "clock-anchors.json")
}
