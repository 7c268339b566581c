#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a budget each (default 60s):
#   scripts/fuzz.sh 10m
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-60s}
found=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	grep -lq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //'); do
		found=$((found + 1))
		echo "fuzz $pkg $target ($budget)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$budget" "$pkg" >/tmp/fuzz.$$.log 2>&1 || {
			cat /tmp/fuzz.$$.log; rm -f /tmp/fuzz.$$.log; exit 1
		}
	done
done
rm -f /tmp/fuzz.$$.log
echo "$found fuzz targets passed"
