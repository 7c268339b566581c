package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/drivers/sim"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/daemon"
	"github.com/gatescreen/gatescreen/internal/demo"
	"github.com/gatescreen/gatescreen/internal/logging"
)

const defaultConfig = "/etc/gatescreen/gate.yaml"

// logFlags are the logging flags of the long-running commands.
type logFlags struct{ format, level string }

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", logging.FormatAuto, "log format: auto (console on a terminal, else JSON), json or console")
	fs.StringVar(&l.level, "log-level", "info", "log level: trace, debug, info, warn or error")
}

func (l *logFlags) logger(w io.Writer) (zerolog.Logger, error) {
	log, err := logging.New(w, l.format, l.level)
	if err != nil {
		return log, fmt.Errorf("%w: %v", errUsage, err)
	}
	return log, nil
}

func runDaemon(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	path := fs.String("config", defaultConfig, "configuration file")
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.logger(stdout)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	secrets, err := cfg.ReadSecrets()
	if err != nil {
		return err
	}
	build := readBuildInfo()
	log.Info().Str("version", build.Version).Str("commit", build.Commit).Str("config", *path).Msg("gatescreen starting")
	opts := daemon.Opts{
		Config:     cfg,
		ConfigPath: *path,
		Secrets:    secrets,
		Version:    build.Version,
		Revision:   build.Commit,
		Logger:     log,
	}
	stopHooks, err := benchHooks(cfg, &opts)
	if err != nil {
		return err
	}
	defer stopHooks()
	stopClock, err := testClock(&opts)
	if err != nil {
		return err
	}
	defer stopClock()
	return daemon.Run(ctx, opts)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	data := fs.String("data", "", "keep the demo's store and configuration in this directory (default: a temporary one, removed at exit)")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the gate screen")
	mqtt := fs.String("mqtt", "127.0.0.1:1883", "address of the embedded MQTT broker (loopback only)")
	scenario := fs.String("scenario", "", "scenario file (see testdata/scenarios); default: the built-in demo gate")
	lang := fs.String("lang", "zh-CN", "language of the screen: zh-CN or en")
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The demo talks to a person: its welcome goes to stdout, logs to stderr.
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	var sc *sim.Scenario
	if *scenario != "" {
		if sc, err = sim.LoadScenario(*scenario); err != nil {
			return err
		}
	}
	hooks := daemon.Opts{Logger: log}
	stopClock, err := testClock(&hooks)
	if err != nil {
		return err
	}
	defer stopClock()
	return demo.Run(ctx, demo.Opts{
		DataDir: *data, Listen: *listen, MQTT: *mqtt, Scenario: sc, Lang: *lang,
		Version: versionString(), Logger: log, Out: stdout, Clock: hooks.Clock,
	})
}
