#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script).
# Installs the Debian packages the tests need when it can (scripts/deps.sh,
# as root or with sudo) and checks that each works; then checks gofmt, go vet
# and staticcheck, runs every test under the race detector, runs each fuzz
# target for a short budget, cross-builds the daemon for the Raspberry Pi
# targets, and runs the end-to-end suite on the real binary.
#
#   scripts/test.sh            everything
#   FUZZTIME=30s scripts/test.sh   longer fuzzing (scripts/fuzz.sh goes further)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-5s}
step() { printf '\n== %s\n' "$*"; }

step "test dependencies (scripts/deps.sh)"
if ! scripts/deps.sh; then
	# CI must run every test; elsewhere the tests that need a missing
	# package skip and say so.
	[ "${CI:-}" = true ] && exit 1
	echo "not in CI: the tests that need these packages will be skipped"
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...
go vet -tags testhooks ./cmd/gatescreen # the test seams, left out of the release build

step "staticcheck"
go tool staticcheck ./...
go tool staticcheck -tags testhooks ./cmd/gatescreen

step "go test -race"
scripts/unit-tests.sh "amd64 (native, race detector)" -race -timeout 20m

step "fuzz targets, ${FUZZTIME} each"
scripts/fuzz.sh "$FUZZTIME"

step "cross-build for the Raspberry Pi"
scripts/cross-build.sh /dev/null

if [ -x scripts/e2e.sh ]; then
	step "end-to-end suite on the real binary"
	scripts/e2e.sh
fi
echo; echo "all checks passed"
