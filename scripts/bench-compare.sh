#!/usr/bin/env bash
# Runs the Go benchmarks of the working tree and of an earlier commit in the
# same rounds, taking turns, so that load on a shared machine falls on both:
#
#   scripts/bench-compare.sh REF [OUTDIR]
#
#   BENCH_RUNS=5     rounds (each runs every benchmark once, before then after)
#   BENCH_TIME=1s    -test.benchtime of each run
#   BENCH_MOVED="drivers/gpio=lamps drivers/screen=screen"
#                    packages that moved between REF and the working tree
#                    (old=new), so their benchmarks are paired
#
# Every package with benchmarks in the working tree is built once per side
# as a test binary (go test -c); each round runs the before binary, then the
# after one, with -test.bench . -test.benchmem -test.count 1. OUTDIR gets
# before.txt and after.txt (go test -bench output, with the package line),
# and the table printed at the end: per benchmark, the median ns/op of each
# side, their ranges and after ÷ before.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:?usage: scripts/bench-compare.sh REF [OUTDIR]}
out=${2:-${TMPDIR:-/tmp}/gatescreen-bench-compare-$(date -u +%Y%m%dT%H%M%SZ)}
runs=${BENCH_RUNS:-5}
benchtime=${BENCH_TIME:-1s}
mkdir -p "$out"
out=$(cd "$out" && pwd)
module=$(go list -m)

before_tree=$(mktemp -d)
trap 'rm -rf "$before_tree"' EXIT
git archive "$ref" | tar -x -C "$before_tree"

old_path() { # the package's path at REF
	local p=$1 m
	for m in ${BENCH_MOVED:-}; do
		[ "${m#*=}" = "$p" ] && { echo "${m%%=*}"; return; }
	done
	echo "$p"
}

pkgs=$(grep -rl --include='*_test.go' '^func Benchmark' . | xargs -n1 dirname | sed 's#^\./##' | grep -v '^bench$' | sort -u)
mkdir -p "$out/bin"
paired=()
for p in $pkgs; do
	name=${p//\//_}
	o=$(old_path "$p")
	go test -c -o "$out/bin/after-$name" "./$p"
	if [ -d "$before_tree/$o" ] && (cd "$before_tree" && go test -c -o "$out/bin/before-$name" "./$o"); then
		paired+=("$p")
	else
		echo "bench-compare: $p has no counterpart at $ref ($o); after only" >&2
	fi
done

: >"$out/before.txt"
: >"$out/after.txt"
for ((round = 1; round <= runs; round++)); do
	echo "== round $round of $runs (load $(cut -d' ' -f1 /proc/loadavg))"
	for p in "${paired[@]}"; do
		name=${p//\//_}
		for side in before after; do
			dir=$p
			[ "$side" = before ] && dir="$before_tree/$(old_path "$p")"
			echo "pkg: $module/$p" >>"$out/$side.txt"
			(cd "$dir" && "$out/bin/$side-$name" -test.run '^$' -test.bench . -test.benchmem -test.benchtime "$benchtime" -test.count 1) |
				grep '^Benchmark' >>"$out/$side.txt"
		done
	done
done

# Median and range of ns/op per package and benchmark, before and after.
awk '
function median(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(s,   a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
function hi(s,   a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
FNR == 1 { side = (FILENAME ~ /before.txt$/) ? "before" : "after" }
/^pkg: / { pkg = $2; sub(/^[^\/]*\/[^\/]*\/[^\/]*\//, "", pkg); next }
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	key = pkg " " name
	for (i = 3; i <= NF; i++) if ($(i + 1) == "ns/op") v[side, key] = v[side, key] " " $i
	if (!(key in seen)) { seen[key] = 1; order[++n] = key }
}
END {
	printf "| package | benchmark | before ns/op, median (range) | after ns/op, median (range) | after ÷ before |\n|---|---|---|---|---|\n"
	for (k = 1; k <= n; k++) {
		key = order[k]; split(key, kp, " ")
		b = v["before", key]; a = v["after", key]
		if (b == "" || a == "") { printf "| %s | %s | %s | %s | — |\n", kp[1], kp[2], b == "" ? "—" : median(b), a == "" ? "—" : median(a); continue }
		printf "| %s | %s | %.4g (%.4g–%.4g) | %.4g (%.4g–%.4g) | %.2f |\n", kp[1], kp[2], median(b), lo(b), hi(b), median(a), lo(a), hi(a), median(a) / median(b)
	}
}' "$out/before.txt" "$out/after.txt" | tee "$out/table.md"
