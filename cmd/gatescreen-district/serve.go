package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/alert"
	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/district/web"
	"github.com/gatescreen/gatescreen/internal/logging"
)

// serveFlags are the flags of `gatescreen-district serve`.
type serveFlags struct {
	db, webhook         string
	webhookFile         string
	listen              string
	tlsCert, tlsKey     string
	sched               scheduleFlags
	offlineAfter, check time.Duration
	log                 logFlags
}

func newServeFlags(stderr io.Writer) (*flag.FlagSet, *serveFlags) {
	f := &serveFlags{}
	fs := newFlagSet("serve", "[-db sqlite:PATH|postgres://…] [-listen ADDR] [-webhook URL] [-report-deadline HH:MM] [-offline-after D]", stderr)
	dbFlag(fs, &f.db)
	fs.StringVar(&f.webhook, "webhook", "", "POST every alert as JSON to this http(s) URL (none: alerts are raised and kept)")
	fs.StringVar(&f.webhookFile, "webhook-file", "", "a file holding the webhook's URL instead (a token in it stays out of the process list)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "the district screen's address, host:port (\"\": no screen)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve the screen over HTTPS with this certificate (PEM; with -tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "the certificate's private key (PEM)")
	f.sched.register(fs, true)
	fs.DurationVar(&f.offlineAfter, "offline-after", 10*time.Minute, "alert on a box offline longer than this inside school hours")
	fs.DurationVar(&f.check, "check-every", 30*time.Second, "how often the deadline and offline rules run")
	f.log.register(fs)
	return fs, f
}

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs, f := newServeFlags(stderr)
	sched, err := f.sched.parse(fs, args)
	if err != nil {
		return err
	}
	if f.webhookFile != "" {
		if f.webhook, err = fileSecret("-webhook-file", f.webhookFile); err != nil {
			return err
		}
	}
	if f.offlineAfter <= 0 || f.check <= 0 {
		return usageError(fs, "-offline-after %s, -check-every %s: both must be positive", f.offlineAfter, f.check)
	}
	log, err := f.log.logger(fs, stderr)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, f.db, store.Opts{Log: logging.Component(log, "store")})
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := alert.New(alert.Opts{
		Store: db, Schedule: sched, OfflineAfter: f.offlineAfter, Webhook: f.webhook, CheckEvery: f.check,
		UserAgent: "gatescreen-district/" + versionString(), Log: logging.Component(log, "alert"),
	})
	if err != nil {
		return usageError(fs, "%v", err)
	}
	screen, err := web.New(web.Opts{Store: db, Schedule: sched, CertFile: f.tlsCert, KeyFile: f.tlsKey, Log: logging.Component(log, "web")})
	if err != nil {
		return usageError(fs, "%v", err)
	}
	var ln net.Listener
	if f.listen != "" {
		if ln, err = net.Listen("tcp", f.listen); err != nil {
			return fmt.Errorf("district screen: %w", err)
		}
		scheme := "http"
		if f.tlsCert != "" {
			scheme = "https"
		}
		log.Info().Str("url", scheme+"://"+ln.Addr().String()+"/").Msg("district screen")
	}
	log.Info().Str("version", versionString()).Str("backend", db.Backend()).Bool("webhook", f.webhook != "").
		Str("timezone", sched.Loc.String()).Msg("serving alerts")
	return runBoth(ctx, svc.Run, func(ctx context.Context) error {
		if ln == nil {
			<-ctx.Done()
			return nil
		}
		return screen.Serve(ctx, ln)
	})
}

// runBoth runs a and b until ctx is done or one fails, which stops the
// other; it returns the first error.
func runBoth(ctx context.Context, a, b func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	for _, f := range []func(context.Context) error{a, b} {
		go func() { errs <- f(ctx) }()
	}
	first := <-errs
	cancel()
	second := <-errs
	if first != nil {
		return first
	}
	return second
}
