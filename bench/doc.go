// Package bench measures the whole gatescreen binary the way a gate uses it:
// frame-to-lamp latency through pseudo-terminals (normal, storage stalled
// by a throttled loop device, broker down; one lane, and 16 and 32 lanes
// sending independently), backlog drain through the real store against
// mosquitto_pub of the same payloads, start-up on a full store (warm and
// cold), CPU per frame, footprint (peak RSS, idle CPU, binary sizes),
// SD-card wear per event, and 16 serial ports at 115200 baud.
//
// Its tests are behind the build tag "bench" because they take minutes and
// need quiet cores; scripts/bench.sh runs them and BENCHMARKS.md records
// their figures:
//
//	go test -tags bench -run . -v -timeout 90m ./bench/
//
// Each figure with a target comes from BENCH_RUNS (default 5) interleaved
// rounds, printed run by run ("RESULT <name>_run …") and summarised as
// median and range; a "TARGET PASS|FAIL" line says whether it was met, and
// a miss fails the test. BENCH_BASELINE_BINARY, another build of
// gatescreen, runs in the same rounds as the before of the new figures.
// The stalled-storage and start-up runs need root (a loop device, cgroup
// v1 blkio, dropping the page cache).
//
// The daemon under test is built from ./cmd/gatescreen and driven through
// its test seams (cmd/gatescreen/benchhooks.go): GATESCREEN_SIM_PINS and
// GATESCREEN_LAMP_TRACE.
package bench
