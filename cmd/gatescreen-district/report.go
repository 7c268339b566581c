package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/internal/district/report"
	"github.com/gatescreen/gatescreen/internal/district/schedule"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

// reportFlags are the flags of `gatescreen-district report`.
type reportFlags struct {
	db, date, format, out string
	sched                 scheduleFlags
}

func newReportFlags(stderr io.Writer) (*flag.FlagSet, *reportFlags) {
	f := &reportFlags{}
	fs := newFlagSet("report", "-db sqlite:PATH|postgres://… [-date YYYY-MM-DD] [-format xlsx|csv] -o FILE", stderr)
	dbFlag(fs, &f.db)
	fs.StringVar(&f.date, "date", "", "YYYY-MM-DD, the day to summarise (default today, district time)")
	fs.StringVar(&f.format, "format", "", "xlsx or csv (default from -o's extension, else xlsx)")
	fs.StringVar(&f.out, "o", "", "the file to write (required); it appears whole or not at all")
	f.sched.register(fs, false)
	return fs, f
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newReportFlags(stderr)
	sched, err := f.sched.parse(fs, args)
	if err != nil {
		return err
	}
	if f.out == "" {
		return usageError(fs, "-o FILE is required")
	}
	if f.format == "" {
		f.format = "xlsx"
		if strings.EqualFold(filepath.Ext(f.out), ".csv") {
			f.format = "csv"
		}
	}
	if f.format != "xlsx" && f.format != "csv" {
		return usageError(fs, "-format %q: want xlsx or csv", f.format)
	}
	now := time.Now()
	if f.date == "" {
		f.date = sched.Day(now)
	}
	if _, err := time.Parse(schedule.DayFormat, f.date); err != nil {
		return usageError(fs, "-date %q: want YYYY-MM-DD", f.date)
	}
	db, err := store.Open(ctx, f.db, store.Opts{})
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := report.Build(ctx, db, sched, f.date, now)
	if err != nil {
		return err
	}
	write := sum.WriteXLSX
	if f.format == "csv" {
		write = sum.WriteCSV
	}
	if err := writeWhole(f.out, write); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: the summary of %s, %d schools\n", f.out, f.date, len(sum.Rows))
	return nil
}

// writeWhole writes path through path.partial, synced and renamed, so a
// reader never sees half a file and a crash leaves the old one.
func writeWhole(path string, write func(io.Writer) error) error {
	partial := path + ".partial"
	err := writeSynced(partial, write)
	if err == nil {
		err = os.Rename(partial, path)
	}
	if err != nil {
		os.Remove(partial)
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	// The rename itself on disk.
	d, err := os.Open(filepath.Dir(path))
	if err == nil {
		err = d.Sync()
		d.Close()
	}
	if err != nil {
		return fmt.Errorf("report: syncing the folder of %s: %w", path, err)
	}
	return nil
}

// writeSynced writes a new file and syncs it.
func writeSynced(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close() // a second Close after the one below does nothing
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
