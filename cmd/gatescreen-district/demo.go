package main

import (
	"context"
	"io"

	"github.com/gatescreen/gatescreen/internal/district/demo"
)

// runDemo is `gatescreen-district demo`: a whole district on this machine.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[-listen ADDR]", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "the district screen's address (a free port when it is taken)")
	var lf logFlags
	lf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if lf.level == "info" {
		lf.level = "warn" // the demo's own lines say what matters
	}
	log, err := lf.logger(fs, stderr)
	if err != nil {
		return err
	}
	return demo.Run(ctx, demo.Opts{Listen: *listen, Out: stdout, Log: log})
}
