// Package logging builds the daemon's one root zerolog logger: JSON lines on
// stdout for journald by default, a human console format on a terminal or on
// request. Components get sub-loggers from it with Component.
package logging
