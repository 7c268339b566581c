// Package clock tells how far the box's wall clock can be trusted.
//
// A gate box has no real-time clock: after a power cut it boots at whatever
// fake-hwclock restored, sometimes a day or a year off, until NTP syncs.
// Events are therefore stamped with (boot id, CLOCK_MONOTONIC, wall, synced).
// When the first sync of a boot is seen, Clock records an anchor
// (boot id, monotonic and wall time at that moment); Correct uses it to place
// events captured earlier in the same boot on the true wall clock:
//
//	wall = wall_at_sync − (mono_at_sync − mono)
//
// Monotonic readings mean nothing across reboots, so events of an earlier
// boot without an anchor stay marked unsynced and the district orders them
// by sequence and arrival.
package clock
