// Package metrics holds the Prometheus collectors of the daemon: readings by
// lane and verdict, open re-check cases, ring overflows, store size, outbox
// depth, uplink and device state.
//
// The Registry is fed two ways. Values the daemon pushes (readings, cases,
// uplink, device state) have methods; values owned by another component
// (store size, outbox depth, ring overflow totals) are read at scrape time
// through the callbacks in Opts, so nothing is copied on the hot path. The
// gate screen serves Registry.Gatherer on /metrics.
package metrics
