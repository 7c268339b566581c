// Package localapi is how the companion commands (export, report, drill,
// calibrate, backup, absences, roster reload) talk to a running daemon:
// HTTP over a unix socket beside the store, readable only by root and the
// gatescreen group. bbolt allows one process per file, so while the daemon
// runs, this is the way in. The client is the companions' side; the server
// and its handlers the daemon's, over small interfaces of the school office,
// the calibrator and the roster that the daemon hands in.
package localapi
