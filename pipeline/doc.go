// Package pipeline decides, for every reading, who walks on and who goes to
// the re-check lane. Readings from the drivers enter lock-free rings (one
// single-producer ring per device); one goroutine runs the stages validate →
// segment → compensate → classify → identify → route; every sink (lamps,
// screen, storage, metrics) has its own ring, so no sink can block another
// or the lamps. The package also holds the re-check case state machine and
// the per-lane state shown on lamps and screen.
package pipeline
