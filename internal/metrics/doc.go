// Package metrics holds the Prometheus collectors of the daemon: readings by
// lane and verdict, open re-check cases, ring overflows, store size, outbox
// depth, uplink and device state.
//
// The Registry is fed two ways. Values the daemon pushes (readings, cases,
// uplink, device state) have methods; values owned by another component
// (store size, outbox depth, ring overflow totals) are read at scrape time
// through the callbacks in Opts, so nothing is copied on the hot path.
// Registry.Serve serves /metrics on a listener of its own (metrics.listen,
// default 127.0.0.1:9464), not on the gate screen the LAN reaches.
package metrics
