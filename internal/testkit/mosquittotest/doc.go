// Package mosquittotest runs a real Mosquitto for the tests that need one
// (the uplink's integration tests, the end-to-end suite, the benchmarks) and
// makes the certificates of a test district. It is imported by tests only.
package mosquittotest
