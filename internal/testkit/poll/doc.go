// Package poll lets a test wait for a condition that another goroutine or
// process brings about: a log line, a stored event, a lamp, a broker.
package poll
