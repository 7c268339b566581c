// Package daemon wires the gate together: it translates the configuration
// into each component's Opts — the store, the clock, the pipeline with its
// sinks (lamps, screen, store, metrics, calibration), the cases, the school
// office (internal/schoolday), the district uplink, the screen's and the
// local API's servers and one runner per device — and runs them as ordered
// start/stop pairs (lifecycle): the devices start last and stop first, the
// pipeline drains, the lamps are released, the uplink's offline status is
// published, the servers and the school office stop, the store is flushed
// and closed last.
package daemon
