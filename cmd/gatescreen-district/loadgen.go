package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/loadgen"
	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/logging"
)

// loadgenFlags are the flags of `gatescreen-district loadgen`.
type loadgenFlags struct {
	broker, district, profile, prefix, db string
	boxes, gates, inflight, flagEvery     int
	rate, connectRate                     float64
	duration, tick                        time.Duration
	printSeqs                             bool
	log                                   logFlags
}

func newLoadgenFlags(stderr io.Writer) (*flag.FlagSet, *loadgenFlags) {
	f := &loadgenFlags{}
	fs := newFlagSet("loadgen", "-broker URL [-boxes N] [-rate EVENTS/S] [-duration D] [-profile rush|flat] [-db DSN]", stderr)
	fs.StringVar(&f.broker, "broker", "", "the district broker's URL, e.g. tcp://127.0.0.1:1883 (required)")
	fs.StringVar(&f.district, "district", "lg", "the simulated boxes' district")
	fs.IntVar(&f.boxes, "boxes", 100, "simulated boxes, each its own MQTT connection")
	fs.IntVar(&f.gates, "gates", 2, "boxes (gates) per school")
	fs.Float64Var(&f.rate, "rate", 1000, "events a second of all boxes together, at the profile's mean")
	fs.DurationVar(&f.duration, "duration", time.Minute, "how long the boxes screen")
	fs.StringVar(&f.profile, "profile", "rush", "rush (three arrival waves, as grades arrive; peak about 2.5× the mean) or flat")
	fs.DurationVar(&f.tick, "tick", 100*time.Millisecond, "how often a box's screened people become readings")
	fs.IntVar(&f.inflight, "inflight", 16, "messages a box has unacknowledged at most")
	fs.IntVar(&f.flagEvery, "flag-every", 500, "one reading in N is a flag with its re-check case; -1 for none")
	fs.Float64Var(&f.connectRate, "connect-rate", 200, "connections a second while the boxes connect")
	fs.StringVar(&f.prefix, "prefix", "lg", "starts every school, box and client id: runs with different prefixes do not collide")
	fs.StringVar(&f.db, "db", "", "the district's database: a probe box measures publish → committed through it (optional)")
	fs.BoolVar(&f.printSeqs, "print-seqs", false, "also print each box's last seq (\"last_seq: BOX N\"): its ids are BOX:1…BOX:N")
	f.log.register(fs)
	return fs, f
}

func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newLoadgenFlags(stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if f.broker == "" {
		return usageError(fs, "-broker is required")
	}
	if f.boxes < 1 || f.gates < 1 || f.rate <= 0 || f.duration <= 0 || f.inflight < 1 || f.connectRate <= 0 || f.tick <= 0 {
		return usageError(fs, "-boxes, -gates, -rate, -duration, -inflight, -connect-rate and -tick must be positive")
	}
	profile, err := loadgen.ParseProfile(f.profile)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	log, err := f.log.logger(fs, stderr)
	if err != nil {
		return err
	}
	o := loadgen.Opts{
		Broker: f.broker, District: f.district, Boxes: f.boxes, GatesPerSchool: f.gates, Rate: f.rate,
		Duration: f.duration, Profile: profile, Tick: f.tick, Inflight: f.inflight, FlagEvery: f.flagEvery,
		ConnectRate: f.connectRate, ClientPrefix: f.prefix, Log: logging.Component(log, "loadgen"),
	}
	if f.db != "" {
		db, err := store.Open(ctx, f.db, store.Opts{Log: logging.Component(log, "store")})
		if err != nil {
			return err
		}
		defer db.Close()
		o.Probe = db
	}
	r, err := loadgen.Run(ctx, o)
	if r != nil {
		printResult(stdout, f, r)
	}
	return err
}

// printResult writes one "name: value" a line, for people and scripts.
func printResult(w io.Writer, f *loadgenFlags, r *loadgen.Result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "boxes: %d\nprofile: %s\nduration_s: %.1f\nelapsed_s: %.1f\n", r.Boxes, f.profile, f.duration.Seconds(), r.Elapsed.Seconds())
	fmt.Fprintf(w, "events: %d\nmessages: %d\nretries: %d\nevents_per_s: %.0f\n", r.Events, r.Messages, r.Retries, r.EventsPerSec)
	fmt.Fprintf(w, "puback_p50_ms: %s\npuback_p99_ms: %s\npuback_max_ms: %s\n", ms(r.PubackP50), ms(r.PubackP99), ms(r.PubackMax))
	var published int64
	for _, n := range r.LastSeq {
		published += n
	}
	fmt.Fprintf(w, "published_ids: %d\n", published)
	if f.printSeqs {
		for _, box := range slices.Sorted(maps.Keys(r.LastSeq)) {
			fmt.Fprintf(w, "last_seq: %s %d\n", box, r.LastSeq[box])
		}
	}
	if f.db == "" {
		return
	}
	var ages []string
	for _, a := range r.OldestUnacked {
		ages = append(ages, ms(a))
	}
	fmt.Fprintf(w, "probes: %d\nprobes_missing: %d\ncommit_p50_ms: %s\ncommit_p99_ms: %s\ncommit_max_ms: %s\n",
		r.ProbeSent, r.ProbeMissing, ms(r.CommitP50), ms(r.CommitP99), ms(r.CommitMax))
	fmt.Fprintf(w, "oldest_unacked_ms_by_tenth: %s\noldest_unacked_max_ms: %s\n", strings.Join(ages, " "), ms(slices.Max(append(r.OldestUnacked, 0))))
}
