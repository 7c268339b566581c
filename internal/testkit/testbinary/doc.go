// Package testbinary builds a Go command once for the tests that run it as
// a separate process (the CLI tests, the end-to-end suite, the whole-binary
// benchmarks) and removes it when they are done.
package testbinary
