// Package ptyport makes pseudo-terminal pairs that stand in for serial
// cables: the simulated devices of the demo and the tests write a device's
// real byte protocol into the master side, and the daemon opens the slave
// path with go.bug.st/serial exactly as it would open /dev/ttyUSB0.
package ptyport
