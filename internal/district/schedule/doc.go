// Package schedule is the district's calendar: its time zone, the daily
// report's deadline, the school hours, and the holidays, working weekend
// days and schools' own hours and deadlines of its calendar file
// (Schedule.For). The alert service and the daily
// summary read days and deadlines from it, so that the alert for a missing
// report and the summary's 漏报 agree.
package schedule
