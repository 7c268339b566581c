// Package schoolday is the school's day at the gate, as the daemon runs it:
// the daily report stored on time every day and caught up after the box was
// off, the screen's roll-call panels (today's tally and the absentees), the
// hourly calibration checks and purges, drills, absence records and their
// follow-up, calibrations against a reference source, and the school's tags
// on each reading (its round, whether its person was late).
//
// It takes its own Opts and small interfaces of the store, the pipeline and
// the screen; the daemon translates the configuration file into them, so
// this package never reads the YAML schema.
package schoolday
