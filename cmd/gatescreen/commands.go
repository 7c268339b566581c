package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/gatescreen/gatescreen/internal/config"
)

// Exit codes. systemd's unit names exitConfig in RestartPreventExitStatus so
// a bad file does not restart-loop.
const (
	exitOK      = 0
	exitFailure = 1  // the daemon failed at run time; systemd restarts it
	exitUsage   = 2  // wrong command line
	exitConfig  = 78 // EX_CONFIG: the configuration is invalid
	exitForced  = 130
)

var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help requested")
)

func exitCode(err error) int {
	var cfgErr config.Errors
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.As(err, &cfgErr), errors.Is(err, config.ErrInvalid):
		return exitConfig
	}
	return exitFailure
}

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is filled by the init functions of the files that define them
// (a literal here would be an initialization cycle through help).
var commands = map[string]command{}

func init() {
	commands["run"] = command{"run the daemon: gatescreen run -config /etc/gatescreen/gate.yaml", runDaemon}
	commands["demo"] = command{"the whole gate on this machine: simulated devices, embedded broker, screen on :8080", runDemo}
	commands["check-config"] = command{"check a configuration file: gatescreen check-config -config FILE", runCheckConfig}
	commands["version"] = command{"print the version", runVersion}
	commands["help"] = command{"show this help", runHelp}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gatescreen COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nexit codes: %d ok, %d failure, %d usage, %d invalid configuration\n",
		exitOK, exitFailure, exitUsage, exitConfig)
}

func runHelp(_ context.Context, _ []string, stdout, _ io.Writer) error {
	usage(stdout)
	return errHelp
}

// newFlagSet returns a flag set that reports errors as usage errors.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gatescreen "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func runCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check-config", stderr)
	path := fs.String("config", "", "configuration file (or give it as the argument)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// `-config FILE` as every other command takes it, or FILE alone.
	switch {
	case *path == "" && fs.NArg() == 1:
		*path = fs.Arg(0)
	case *path == "" || fs.NArg() != 0:
		return fmt.Errorf("%w: check-config takes one file: check-config -config FILE", errUsage)
	}
	err := config.CheckConfig(stdout, *path)
	if errors.Is(err, config.ErrInvalid) {
		return reportedError{err} // CheckConfig printed every problem already
	}
	return err // a write error, say: main prints it
}

// reportedError is an error the command has already shown to the user;
// main only turns it into the exit code.
type reportedError struct{ error }

func (e reportedError) Unwrap() error { return e.error }

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
