package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // the district's time zone on a host without zoneinfo

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/logging"
)

// Exit codes: a usage error must not be restarted blindly by a supervisor.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// errUsage marks an error of the command line; it has been explained.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(exitOK)
	case errors.Is(err, errUsage):
		os.Exit(exitUsage)
	default:
		fmt.Fprintln(os.Stderr, "gatescreen-district:", err)
		os.Exit(exitError)
	}
}

// commands are the subcommands, each with its one-line help.
var commands = map[string]struct {
	help string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}{
	"ingest":  {"subscribe to a district's boxes and keep every message in the database", runIngest},
	"serve":   {"raise the deadline and offline alerts and deliver every alert by webhook", runServe},
	"report":  {"write the district's daily summary (区县汇总表) as xlsx or CSV", runReport},
	"user":    {"user add|passwd|list|remove: the accounts of the district screen (bureau or cdc)", runUser},
	"loadgen": {"simulate many boxes against a broker: a morning rush, events/s and PUBACK latency", runLoadgen},
	"demo":    {"a whole district on this machine: broker, simulated boxes, ingest, alerts and the screen", runDemo},
	"version": {"print the version", runVersion},
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		fmt.Fprintf(stderr, "\nunknown command %q\n", args[0])
		return errUsage
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gatescreen-district <command> [flags]\n\ncommands:")
	for _, name := range []string{"ingest", "serve", "report", "user", "loadgen", "demo", "version"} {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].help)
	}
	fmt.Fprintln(w, "\n`gatescreen-district <command> -h` lists a command's flags; docs/district.md says more.")
}

// parse parses a command's flags; an error is a usage error, already shown.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// usageError reports a bad flag value the way flag does, and marks it.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return errUsage
}

// dbFlag is every command's -db.
func dbFlag(fs *flag.FlagSet, db *string) {
	fs.StringVar(db, "db", "sqlite:gatescreen-district.db", "the database: sqlite:PATH or postgres://user@host/db")
}

// logFlags are a long-running command's logging flags.
type logFlags struct{ level, format string }

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "trace, debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", logging.FormatAuto, "auto, json or console (logs go to stderr)")
}

// logger makes the command's logger; a bad flag is a usage error.
func (l *logFlags) logger(fs *flag.FlagSet, stderr io.Writer) (zerolog.Logger, error) {
	log, err := logging.New(stderr, l.format, l.level)
	if err != nil {
		return log, usageError(fs, "%v", err)
	}
	return log, nil
}

// newFlagSet is the flags of a command whose usage line is synopsis.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gatescreen-district %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// fileSecret is what a -…-file flag's file holds, trimmed ("" for no file):
// a secret kept out of the process list.
func fileSecret(flagName, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	return strings.TrimSpace(string(b)), nil
}
