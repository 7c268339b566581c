// Package simbox builds the payloads a gatescreen box publishes, in the
// contract's shapes (docs/mqtt.md): status, readings batches, cases, health
// and daily, with one sequence shared by every topic as the box's persisted
// one is. It only builds bytes; the caller connects and publishes, so the
// demo (a handful of boxes, one publish at a time) and the load generator
// (thousands, many in flight) share the payloads and not the pacing.
package simbox
