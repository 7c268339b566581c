#!/usr/bin/env bash
# Reproduces every figure of BENCHMARKS.md on any Linux machine:
#
#   scripts/bench.sh [OUTDIR]   (default ${TMPDIR:-/tmp}/gatescreen-bench-<UTC time>)
#
# Needs go, mosquitto and mosquitto-clients (Debian: apt-get install -y
# mosquitto mosquitto-clients), and root for the stalled-storage (loop
# device, cgroup v1 blkio) and cold start-up (drop_caches) runs. Takes about
# an hour; not part of CI. The latency and CPU figures are only as good as
# the cores are idle (the load average is recorded with every run).
#
#   BENCH_RUNS=5               interleaved rounds per figure (median, range)
#   BENCH_BASELINE_REF=52de873 also run this commit's binary in the same
#                              rounds, as the before (unset: no baseline)
#
# Exits non-zero when a benchmark failed or a target was missed: every
# target prints "TARGET PASS|FAIL name what" into OUTDIR/results.txt.
#
# Steps:
#   1. Go benchmarks of every hot path, -benchmem, baselines in the same run
#   2. the real binary (bench/, build tag "bench"): frame-to-lamp latency in
#      three states, backlog drain through the store vs mosquitto_pub,
#      peak RSS / idle CPU / start-up, SD wear per event, 16 ports
#   3. stripped cross-built binary sizes (scripts/cross-build.sh)
# Every whole-binary figure is one "RESULT name value unit note" line in
# OUTDIR/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${TMPDIR:-/tmp}/gatescreen-bench-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
: >"$out/results.txt"

machine() {
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "go: $(go version)"
	echo "kernel: $(uname -srm)"
	echo "cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) × $(nproc) cores"
	echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "filesystem of $TMPDIR_FOR_BENCH: $(df -T "$TMPDIR_FOR_BENCH" | awk 'NR==2 {print $2" on "$1}')"
	echo "mosquitto: $( (mosquitto -h 2>&1 || true) | head -1)"
}
TMPDIR_FOR_BENCH=${TMPDIR:-/tmp}
machine | tee "$out/machine.txt"
export BENCH_RUNS=${BENCH_RUNS:-5}
if [ -n "${BENCH_BASELINE_REF:-}" ]; then
	# The baseline is built from the commit's own tree exactly as bench/
	# builds the current one (harness_test.go): with the test seams the
	# benchmarks drive (-tags testhooks; a commit older than the tag
	# ignores it), stripped, static.
	base=$(mktemp -d)
	trap 'rm -rf "$base"' EXIT
	git archive "$BENCH_BASELINE_REF" | tar -x -C "$base"
	(cd "$base" && CGO_ENABLED=0 go build -tags testhooks -trimpath -ldflags "-s -w" -o "$base/gatescreen-baseline" ./cmd/gatescreen)
	export BENCH_BASELINE_BINARY="$base/gatescreen-baseline"
	echo "baseline: $BENCH_BASELINE_REF ($(git rev-parse --short "$BENCH_BASELINE_REF"))" | tee -a "$out/machine.txt"
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

medians=$(
	cat <<'AWK'
# Medians of `go test -bench -count N` output: one line per benchmark with
# the median of every metric it reported (ns/op, B/op, allocs/op, custom).
/^pkg: / { pkg = $2; sub(/.*gatescreen\/gatescreen\//, "", pkg) }
/^Benchmark/ {
	name = pkg " " $1
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	for (i = 3; i + 1 <= NF; i += 2) {
		key = name SUBSEP $(i + 1)
		if (!((name, $(i + 1)) in unitseen)) { unitseen[name, $(i + 1)] = 1; units[name] = units[name] " " $(i + 1) }
		cnt[key]++
		val[key, cnt[key]] = $i
	}
}
function median(key,   m, i, j, a, t) {
	m = cnt[key]
	for (i = 1; i <= m; i++) a[i] = val[key, i] + 0
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	for (k = 1; k <= n; k++) {
		name = order[k]; line = name
		split(substr(units[name], 2), us, " ")
		for (i = 1; i in us; i++) line = line sprintf("  %g %s", median(name SUBSEP us[i]), us[i])
		print line
	}
}
AWK
)

echo "== 1. Go benchmarks (hot paths, -benchmem, -count $BENCH_RUNS)"
# Each package in its own go test so one package's failure is recorded and
# the others still run. Packages without benchmarks finish at once.
: >"$out/go-bench.txt"
for pkg in $(go list ./... | grep -v '/bench$'); do
	if ! go test -run '^$' -bench . -benchmem -count "$BENCH_RUNS" -benchtime 1s "$pkg" >>"$out/go-bench.txt" 2>&1; then
		echo "FAILED: go test -bench $pkg" | tee -a "$out/go-bench.txt"
	fi
done
awk "$medians" "$out/go-bench.txt" | tee "$out/go-bench-medians.txt"
grep -E '^(FAIL|FAILED)' "$out/go-bench.txt" || true

echo "== 2. the real binary (bench/)"
BENCH_RESULTS="$out/results.txt" go test -tags bench -run . -v -count 1 -timeout 120m ./bench/ 2>&1 |
	tee "$out/bench.txt" | grep -E '^(---|ok|FAIL|PASS)|RESULT|TARGET' || true

echo "== 3. stripped binary sizes"
scripts/cross-build.sh "$out/dist" | tee "$out/sizes.txt"
while read -r file size _; do
	echo "RESULT size_${file##*gatescreen-} $(awk -v b="$size" 'BEGIN {printf "%.2f", b/1048576}') MiB stripped,-trimpath,CGO_ENABLED=0" >>"$out/results.txt"
done <"$out/sizes.txt"
rm -rf "$out/dist"

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
echo "== results ($out/results.txt)"
cat "$out/results.txt"
echo "== targets"
grep '^TARGET' "$out/results.txt" || echo "no target lines: the bench did not get that far" >&2
if grep -q '^TARGET FAIL' "$out/results.txt"; then
	echo "targets missed:" >&2
	grep '^TARGET FAIL' "$out/results.txt" >&2
	exit 1
fi
if grep -q '^--- FAIL' "$out/bench.txt" || grep -q '^FAILED' "$out/go-bench.txt" || ! grep -q '^TARGET' "$out/results.txt"; then
	echo "some benchmarks failed; see $out/bench.txt and $out/go-bench.txt" >&2
	exit 1
fi
