// Package lineproto reads walk-through temperature gates and IR guns that
// print one ASCII line per measurement on a serial port, such as
// "T=36.5 A=24.1" or "TEMP:36.5C". It registers the driver "lineproto".
//
// A device's line format is a Go regular expression (line.pattern) with the
// named group temp, and optionally ambient, alarm and count; unit C or F;
// a line end of "\n", "\r\n" or "\r"; and a bound on the line length. When
// the device has no line block, DefaultPattern is used, parsed by a hand
// written equivalent of the expression that does not allocate.
//
// The groups: temp and ambient are numbers in the configured unit; alarm is
// the device's own over-temperature alarm, raised by anything but empty,
// "0", "N" or "OK"; count is the gate's passage counter, and a line that
// repeats the counter of the line before (gates that re-print the last
// measurement) is not emitted a second time.
//
// Every other line becomes one reading: a temperature when it matches, and
// drivers.Invalid(FlagMalformed, line) when it does not, so a gate that
// changed its output format shows up as an unhealthy device rather than as
// silence. Over-long lines are dropped and counted (Dev.Dropped), never
// buffered without bound.
//
// Splitter, the bounded line splitter, is shared with the badge driver.
package lineproto
