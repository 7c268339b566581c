package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/runner"
	"github.com/gatescreen/gatescreen/internal/localapi"
	"github.com/gatescreen/gatescreen/internal/logging"
	"github.com/gatescreen/gatescreen/internal/sdnotify"
	"github.com/gatescreen/gatescreen/pipeline"
)

// listeners are the gate's sockets, opened before anything starts so that
// an address in use stops the daemon before it screens.
type listeners struct {
	screen, metrics, api net.Listener // screen and metrics nil when off
	info                 Info
}

func (g *gate) listen() (l listeners, err error) {
	l.info.BoxID = g.cfg.Site.BoxID
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if g.scr != nil {
		if l.screen, err = net.Listen("tcp", g.cfg.Screen.Listen); err != nil {
			return l, fmt.Errorf("screen.listen %s: %w", g.cfg.Screen.Listen, err)
		}
		l.info.ScreenURL = "http://" + l.screen.Addr().String()
	}
	if g.cfg.Metrics.Listen != "" {
		if l.metrics, err = net.Listen("tcp", g.cfg.Metrics.Listen); err != nil {
			return l, fmt.Errorf("metrics.listen %s: %w", g.cfg.Metrics.Listen, err)
		}
		l.info.MetricsURL = "http://" + l.metrics.Addr().String() + "/metrics"
	}
	l.info.Socket = localapi.SocketPath(g.cfg.Storage.Path)
	if l.api, err = localapi.Listen(l.info.Socket); err != nil {
		return l, err
	}
	return l, nil
}

func (l listeners) close() {
	for _, ln := range []net.Listener{l.screen, l.metrics, l.api} {
		if ln != nil {
			ln.Close()
		}
	}
}

// run starts every part and, when ctx ends or a part fails, stops them in
// the reverse order. Read the parts bottom-up for the shutdown: the SIGHUP
// reload first; then the devices, so nothing new comes in; the pipeline
// drains what it holds into the sinks; the lamps go back to their safe
// state; the uplink publishes its offline status and disconnects; the
// servers, the clock and the school office stop together; the case log
// and the store flush. Run closes the store last.
func (g *gate) run(ctx context.Context) error {
	lis, err := g.listen()
	if err != nil {
		g.lamps.Close()
		return err
	}
	log := g.log
	notify := sdnotify.FromEnv()
	bg := newRoutines()
	lc := newLifecycle(log)
	// Everything else writes to the store: it flushes after all else.
	lc.add("store flush", nil, g.flushStore)
	// The servers, the clock, the school office and the watchdog share one
	// context: they stop together once the uplink has published its
	// offline status, and the stop waits for every one of them.
	lc.add("background", nil, bg.stop)
	lc.add("servers", func() error { g.serve(bg, lis, lc); return nil }, nil)
	// The uplink starts before the pipeline so that it stops after it: it
	// is still connected while the pipeline drains into the store.
	upStart, upStop := g.uplinkPart()
	lc.add("uplink", upStart, upStop)
	// The lamps are released once the pipeline drained: its last
	// measurements still light them.
	lc.add("lamps", nil, func() {
		if err := g.lamps.Close(); err != nil {
			log.Error().Err(err).Msg("releasing lamp pins")
		}
	})
	lc.add("pipeline", func() error { g.startPipeline(bg); return nil }, func() {
		log.Info().Msg("draining the pipeline")
		g.pipe.Close()
	})
	// Devices start last, the pipeline and every sink ready for them, and
	// stop first. Those whose readings depend on the store's records wait
	// for it (storageReady).
	lc.add("store ready", func() error {
		bg.spawn(func(ctx context.Context) { lc.fail(g.storageReady(ctx)) })
		return nil
	}, nil)
	devStart, devStop := g.devicesPart(notify)
	lc.add("devices", devStart, devStop)
	lc.add("ready", func() error { g.ready(bg, notify, lis.info); return nil }, nil)
	// SIGHUP is caught until run returns (a SIGHUP during the shutdown is
	// ignored, not the default exit) but reloads only while the gate runs.
	hup := make(chan os.Signal, 1)
	defer signal.Stop(hup)
	reloadStart, reloadStop := g.reloadPart(hup)
	lc.add("reload", reloadStart, reloadStop)
	return lc.run(ctx)
}

// serve runs the screen, /metrics and the local API on their listeners
// until the background stops. A server that stops with an error stops the
// daemon, except the local API (logged): the gate screens without it.
func (g *gate) serve(bg *routines, lis listeners, lc *lifecycle) {
	if lis.screen != nil {
		bg.spawn(func(ctx context.Context) {
			if err := g.scr.Serve(ctx, lis.screen); err != nil {
				lc.fail(fmt.Errorf("screen: %w", err))
			}
		})
	}
	if lis.metrics != nil {
		bg.spawn(func(ctx context.Context) { lc.fail(g.met.Serve(ctx, lis.metrics)) })
	}
	localapi.NewServer(localapi.Opts{Office: g.office, Calibrator: g.office.Calibrator(), Roster: g.office.Roster(), Store: g.store,
		Logger: g.log}).Start(bg.ctx, lis.api)
}

// startPipeline starts the pipeline, then what reads its figures and the
// school's day.
func (g *gate) startPipeline(bg *routines) {
	g.pipe.Start(bg.ctx)
	bg.spawn(g.clk.Run)
	bg.spawn(g.pollStatus)
	bg.spawn(g.office.RunReports)
	bg.spawn(g.office.RunDay)
}

// uplinkPart runs the uplink until its stop, which waits for the offline
// status to be published. Without an uplink the screen says so.
func (g *gate) uplinkPart() (start func() error, stop func()) {
	upDone := make(chan struct{})
	upCtx, stopUp := context.WithCancel(context.Background())
	start = func() error {
		if g.up == nil {
			close(upDone)
			if g.scr != nil {
				g.scr.SetUplink("disabled")
			}
			return nil
		}
		go func() {
			defer close(upDone)
			if err := g.up.Run(upCtx); err != nil && !errors.Is(err, context.Canceled) {
				g.log.Error().Err(err).Msg("uplink stopped")
			}
		}()
		return nil
	}
	stop = func() {
		g.log.Info().Msg("uplink: publishing offline status")
		stopUp()
		<-upDone
	}
	return start, stop
}

// devicesPart runs one runner per device; its stop tells systemd the
// daemon is stopping and returns once every runner has.
func (g *gate) devicesPart(notify *sdnotify.Notifier) (start func() error, stop func()) {
	devCtx, stopDevices := context.WithCancel(context.Background())
	var devWG sync.WaitGroup
	start = func() error {
		for i, dev := range g.cfg.Devices {
			ro := g.runnerOpts(i, dev)
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
					g.log.Error().Err(err).Str("device", dev.Name).Msg("device runner stopped")
				}
			}()
		}
		return nil
	}
	stop = func() {
		g.log.Info().Msg("stopping: devices first")
		_ = notify.Send("STOPPING=1")
		stopDevices()
		devWG.Wait()
	}
	return start, stop
}

func (g *gate) runnerOpts(i int, dev drivers.Device) runner.Opts {
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
		Lost:     &g.lost[i],
		Logger:   logging.Component(g.log, "device").With().Str("device", dev.Name).Logger(),
	}
	g.thumbs.keepThumbs(i, &ro)
	if g.devices[i].Continuous {
		// It sends frames with nobody there: silence is a fault, and
		// only a valid frame says it is up.
		ro.SilentAfter, ro.UpOnFrame = 10*time.Second, true
	}
	return ro
}

// needsStore says whether device i's readings depend on what the store
// holds (a skin-mode device's calibration), so that it starts only once the
// store is open.
func (g *gate) needsStore(i int) bool { return g.devices[i].Mode == pipeline.ModeSkin }

// ready tells systemd and Opts.Ready that the gate runs, and keeps
// systemd's watchdog fed.
func (g *gate) ready(bg *routines, notify *sdnotify.Notifier, info Info) {
	_ = notify.Send("READY=1") // outside systemd this does nothing
	bg.spawn(func(ctx context.Context) { notify.Watchdog(ctx, nil) })
	g.log.Info().Str("screen", info.ScreenURL).Str("metrics", info.MetricsURL).Str("socket", info.Socket).Int("devices", len(g.cfg.Devices)).
		Int("lanes", len(g.cfg.Lanes)).Str("box", info.BoxID).Msg("gate running")
	if g.o.Ready != nil {
		g.o.Ready(info)
	}
}

// reloadPart applies the configuration file again on every SIGHUP on hup,
// until its stop.
func (g *gate) reloadPart(hup chan os.Signal) (start func() error, stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	start = func() error {
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			defer close(stopped)
			for {
				select {
				case <-done:
					return
				case <-hup:
					g.reload()
				}
			}
		}()
		return nil
	}
	stop = func() {
		close(done)
		<-stopped
	}
	return start, stop
}

// flushStore hands the case transitions still waiting to the store and
// commits it, within 10 s; everything that writes to it has stopped.
func (g *gate) flushStore() {
	g.log.Info().Msg("flushing the store")
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g.caseLog.close(fctx)
	if err := g.store.Flush(fctx); err != nil {
		g.log.Error().Err(err).Msg("flushing the store")
	}
}
