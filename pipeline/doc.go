// Package pipeline decides, for every reading, who walks on and who goes to
// the re-check lane.
//
// # Flow
//
// Each device's runner goroutine emits readings through Producer into its
// own single-producer single-consumer ring. One stage goroutine drains the
// rings and runs, per reading:
//
//   - validate: the driver's flags (checksum, sensor error, out of range,
//     malformed, status), NaN, a value outside the plausible human range of
//     the device's mode (BodyMinC–BodyMaxC, SkinMinC–SkinMaxC), a stuck
//     value; ambient outside the window or missing only warns;
//   - segment: a continuous device's stream, streamed or polled, becomes one
//     measurement per presence (object − reference above PresenceDeltaC,
//     the reference being the frame's ambient, else DeviceInfo.IdleC, else
//     a baseline learned from idle frames; the highest mean of a stable
//     window is the plateau; too short or never stable asks for a retake;
//     no presence starts until the line has been clean of invalid frames
//     for MinDwell, and a presence of one frame is dropped); one-shot
//     devices pass through;
//   - compensate: body mode as reported, skin mode raw×gain + offset;
//   - classify: in hundredths of a degree (see hundredths), body ≥ threshold
//     flags, body < floor asks for a retake, optionally the relative rule;
//   - identify: the lane's badge swipe within ±BadgeWindow;
//   - route: per-lane counts and state, a re-check ticket for a flag, and a
//     copy into every sink's ring.
//
// Every sink (lamps, screen, storage, cases) has its own ring and
// goroutine, so no sink can delay another or the lamps. A sink that only
// counts (metrics) is added with AddInlineSink instead and runs on the
// stage goroutine: a goroutine of its own would cost a wake-up per
// measurement, more CPU than the counting itself (docs/bench/cpu.md). Rings never block a
// producer: a full ring drops the newest value and counts it; overflows are
// reported through Opts.OnHealth, at most once per ring per HealthEvery.
//
// # Costs
//
// The hot path takes no lock and allocates nothing: readings and
// measurements are fixed-size values copied into ring slots. An idle
// pipeline parks its goroutines (no busy spin); a producer pays for a wake
// up only when the consumer is parked. Counters and lane states are
// published with atomics once per drained batch, so Stats and Lanes may lag
// the sinks by microseconds.
//
// # Lifecycle
//
// New, AddSink for every sink, Start; the daemon calls Reload on SIGHUP and
// SetCompensation after a calibration. Shut down in order: stop the
// devices, then Close (it drains every ring through the stages and every
// sink), then close storage.
//
// # Limits
//
// A badge swipe pairs with a measurement only if it reached the stage before
// the measurement was decided (the lamp never waits for a card). A presence
// still open when a device stops streaming, or at Close, yields nothing. Two
// people with no gap between them are one presence, measured at the higher
// plateau (a fever is never averaged away).
//
// # Re-check cases
//
// Cases is the case state machine (awaiting_recheck → cleared | confirmed →
// referred → closed), fed by its own ring when given in Opts.Cases; every
// transition is appended to a CaseStore before it takes effect. EventSink
// stores every measurement as a KindReading event.
package pipeline
