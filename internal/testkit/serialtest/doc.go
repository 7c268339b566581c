// Package serialtest runs a serial driver's Source on a pseudo-terminal, as
// the tests and benchmarks of the serial protocol packages do: the test is
// the device on the master side, the Source reads the slave through the real
// go.bug.st/serial port. It is imported by tests only.
package serialtest
