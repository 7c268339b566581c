// Package badge reads serial card readers that print one card UID per line,
// in hex or decimal, possibly wrapped in STX/ETX and ended by CR, LF or ETX.
// It registers the driver "badge" and emits drivers.Badge readings carrying
// the UID normalised to upper-case hex digits (decimal UIDs are digits and
// stay as they are), which the pipeline pairs with the temperature taken on
// the same lane.
//
// Lines that are not a UID are counted (Dev.Dropped) and dropped; they
// never become readings.
//
// # Caveats
//
// 125 kHz readers of the RDM6300 kind send STX, ten hex digits of data, two
// of checksum and ETX; the checksum digits are kept as part of the UID, which
// is stable per card and so still identifies it in the roster.
package badge
