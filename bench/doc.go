// Package bench measures the whole gatescreen binary the way a gate uses it:
// frame-to-lamp latency through pseudo-terminals (normal, storage stalled,
// broker down), backlog drain through the real store, footprint (peak RSS,
// idle CPU, start-up, binary sizes), SD-card wear per event, and 16 serial
// ports at 115200 baud.
//
// Its tests are behind the build tag "bench" because they take minutes and
// need quiet cores; scripts/bench.sh runs them and BENCHMARKS.md records
// their figures:
//
//	go test -tags bench -run . -v -timeout 30m ./bench/
//
// The daemon under test is built from ./cmd/gatescreen and driven through
// its test seams (cmd/gatescreen/benchhooks.go): GATESCREEN_SIM_PINS,
// GATESCREEN_LAMP_TRACE and GATESCREEN_TEST_FSYNC_DELAY.
package bench
