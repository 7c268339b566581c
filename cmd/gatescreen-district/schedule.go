package main

import (
	"flag"

	"github.com/gatescreen/gatescreen/internal/district/schedule"
)

// scheduleFlags are the district's calendar, shared by serve and report
// so that an alert's 漏报 and the summary's agree.
type scheduleFlags struct{ opts schedule.Opts }

func (f *scheduleFlags) register(fs *flag.FlagSet, schoolHours bool) {
	fs.StringVar(&f.opts.TimeZone, "timezone", "Asia/Shanghai", "the district's time zone (IANA name)")
	fs.StringVar(&f.opts.Deadline, "report-deadline", "20:00", "HH:MM, district time: when a day's daily report is due")
	fs.StringVar(&f.opts.Calendar, "calendar", "", "a file of holidays, working weekend days and schools' own hours (lines: 2026-10-01..2026-10-07 holiday 国庆节, 2026-10-10 school 调休, school hd04 hours 07:30-17:00 deadline 19:00); none: Monday to Friday, the district's hours")
	if schoolHours {
		fs.StringVar(&f.opts.SchoolHours, "school-hours", "06:30-18:00", "HH:MM-HH:MM, Monday to Friday, district time")
	}
}

// parse parses a command's flags, then the calendar's; an error is a
// usage error.
func (f *scheduleFlags) parse(fs *flag.FlagSet, args []string) (schedule.Schedule, error) {
	if err := parse(fs, args); err != nil {
		return schedule.Schedule{}, err
	}
	s, err := schedule.New(f.opts)
	if err != nil {
		return s, usageError(fs, "%v", err)
	}
	return s, nil
}
