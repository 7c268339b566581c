#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a budget each (default 60s):
#   scripts/fuzz.sh 10m
# A failure that wrote a failing input fails at once. Go's fuzzing
# coordinator can also end a run on a loaded machine with "context deadline
# exceeded" and no input (a known flake of `go test -fuzz`, not a finding):
# such a run is repeated, up to three tries.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-60s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
found=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	grep -lq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //'); do
		found=$((found + 1))
		for try in 1 2 3; do
			echo "fuzz $pkg $target ($budget)"
			if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$budget" "$pkg" >"$log" 2>&1; then
				break
			fi
			if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log" || [ "$try" = 3 ]; then
				cat "$log"
				exit 1
			fi
			echo "  the fuzzing coordinator timed out without a failing input; again ($try of 3)"
		done
	done
done
echo "$found fuzz targets passed"
