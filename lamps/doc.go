// Package lamps drives a lane's outputs at the gate — green, red and amber
// lamps, a buzzer and an optional barrier relay — through periph GPIO pins
// looked up by name (gpioreg.ByName), so any board periph supports works.
//
// Lamps is the pipeline sink of one lane: Consume sets the lamp for the
// verdict with a direct pin write (the latency a person sees is one write)
// and leaves the rest of the pattern — buzzer beeps, blinking, turning the
// lamp off after the hold time, closing the barrier — to a timer, so Consume
// never blocks and never allocates. Lanes routes the measurements of all
// lanes to their Lamps.
//
// Patterns:
//   - pass: green for Hold (3 s), barrier relay pulsed for BarrierPulse (800 ms);
//   - flag: red until ResolveFlag or the lane's next measurement, and three
//     long beeps (0.5 s on, 0.25 s off);
//   - retake: amber for Hold and one short beep (120 ms);
//   - invalid: amber blinking (250 ms) for Hold, no beep;
//   - anything else (unclassified): every output off, never green.
//
// The buzzer pin drives an active buzzer (on/off, no PWM). Relay boards that
// switch on a low level are handled by Pins.ActiveLow.
//
// For the demo and tests without hardware, RegisterSimPins registers
// periph's in-memory gpiotest pins under SIM_<LANE>_<LAMP> names, and
// Opts.OnChange reports every output change with its time.
package lamps
