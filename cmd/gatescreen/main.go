package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A closed stdout pipe (journald restarting, `| head`) must not kill the gate.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := interruptContext()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var shown reportedError
	if err != nil && !errors.Is(err, errHelp) && !errors.As(err, &shown) {
		fmt.Fprintln(os.Stderr, "gatescreen:", err)
	}
	os.Exit(exitCode(err))
}

// interruptContext is cancelled by the first SIGINT or SIGTERM, which starts
// the ordered shutdown; a second one forces the exit at once.
func interruptContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cancel()
		<-sig
		fmt.Fprintln(os.Stderr, "gatescreen: second signal, exiting without a clean shutdown")
		os.Exit(exitForced)
	}()
	return ctx, func() { signal.Stop(sig); cancel() }
}

// run dispatches a subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	if args[0] == "-version" || args[0] == "--version" {
		printVersion(stdout)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}
