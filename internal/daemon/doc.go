// Package daemon wires the gate together: the store, the clock, the
// pipeline with its sinks (lamps, screen, store, metrics, cases), the
// district uplink, the screen's web server and one runner per device; and it
// takes them down in order — devices first, the pipeline drained, the
// uplink's offline status published, the store flushed and closed last.
package daemon
