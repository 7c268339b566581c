// Package demo runs `gatescreen demo`: the whole gate on one machine with
// nothing installed. Simulated devices speak their real protocols into
// pseudo-terminals (and a simulated I²C bus) that the real drivers read; an
// embedded MQTT broker stands in for the district; the store, the screen,
// the lamps (in-memory GPIO pins), the cases and the reports are the real
// ones, wired by the same daemon code as `gatescreen run`.
package demo
