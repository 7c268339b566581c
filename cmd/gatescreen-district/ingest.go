package main

import (
	"context"
	"flag"
	"io"
	"os"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/ingest"
	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/logging"
)

// ingestFlags are the flags of `gatescreen-district ingest`.
type ingestFlags struct {
	broker, district, group, clientID, db string
	username, passwordFile                string
	caFile, certFile, keyFile             string
	batch, maxPayload                     int
	clockSkew, maxBacklog                 time.Duration
	log                                   logFlags
}

func newIngestFlags(stderr io.Writer) (*flag.FlagSet, *ingestFlags) {
	f := &ingestFlags{}
	fs := newFlagSet("ingest", "-broker URL -district D [-group G] [-db sqlite:PATH|postgres://…]", stderr)
	host, _ := os.Hostname()
	fs.StringVar(&f.broker, "broker", "", "the MQTT broker's URL, e.g. tcp://broker:1883 or ssl://broker:8883 (required)")
	fs.StringVar(&f.district, "district", "", "the district, the third level of gatescreen/v1/<district>/… (required)")
	fs.StringVar(&f.group, "group", "gatescreen-district", "the shared subscription's group: ingesters of one group share the messages")
	fs.StringVar(&f.clientID, "client-id", "gatescreen-district-"+host, "the MQTT client id: fixed and unique per ingester, the broker keeps its session under it")
	dbFlag(fs, &f.db)
	fs.StringVar(&f.username, "username", "", "the broker's user name, if it asks for one")
	fs.StringVar(&f.passwordFile, "password-file", "", "a file holding the broker's password")
	fs.StringVar(&f.caFile, "ca-file", "", "the broker's CA certificate (PEM) for ssl://; default the system's roots")
	fs.StringVar(&f.certFile, "cert-file", "", "this ingester's client certificate (PEM) for mutual TLS, with -key-file")
	fs.StringVar(&f.keyFile, "key-file", "", "the client certificate's private key (PEM)")
	fs.IntVar(&f.batch, "batch", 1000, "events per database transaction at most")
	fs.IntVar(&f.maxPayload, "max-payload", ingest.DefaultMaxPayload, "bytes: a larger payload is quarantined")
	fs.DurationVar(&f.clockSkew, "clock-skew", store.DefaultClockSkew, "an event captured more than this after its arrival counts at its arrival (the box's clock is ahead); such a daily report is quarantined")
	fs.DurationVar(&f.maxBacklog, "max-backlog", store.DefaultMaxBacklog, "an event captured more than this before its arrival counts at its arrival (the box's clock is behind: no box holds a backlog this long); such a daily report is quarantined")
	f.log.register(fs)
	return fs, f
}

func runIngest(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs, f := newIngestFlags(stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if f.broker == "" || f.district == "" {
		return usageError(fs, "-broker and -district are required")
	}
	if f.batch < 1 || f.maxPayload < 1 {
		return usageError(fs, "-batch %d, -max-payload %d: both must be at least 1", f.batch, f.maxPayload)
	}
	if f.clockSkew < time.Minute {
		return usageError(fs, "-clock-skew %s: want at least 1m", f.clockSkew)
	}
	if f.maxBacklog < 24*time.Hour {
		return usageError(fs, "-max-backlog %s: want at least 24h", f.maxBacklog)
	}
	log, err := f.log.logger(fs, stderr)
	if err != nil {
		return err
	}
	password, err := fileSecret("-password-file", f.passwordFile)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, f.db, store.Opts{Log: logging.Component(log, "store"), ClockSkew: f.clockSkew, MaxBacklog: f.maxBacklog})
	if err != nil {
		return err
	}
	defer db.Close() // after the ingester: it commits until it stops
	in, err := ingest.New(ingest.Opts{
		Broker: f.broker, District: f.district, Group: f.group, ClientID: f.clientID,
		Username: f.username, Password: password, Store: db,
		CAFile: f.caFile, CertFile: f.certFile, KeyFile: f.keyFile,
		BatchEvents: f.batch, MaxPayload: f.maxPayload, Log: logging.Component(log, "ingest"),
	})
	if err != nil {
		return usageError(fs, "%v", err)
	}
	log.Info().Str("version", versionString()).Str("backend", db.Backend()).Str("filter", in.Filter()).Msg("ingesting")
	return in.Run(ctx)
}
