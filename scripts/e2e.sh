#!/usr/bin/env bash
# The end-to-end suite on the real binary (e2e/, build tag e2e): power cuts,
# broker outages, device faults, disk pressure, a wrong clock, security.
# Needs mosquitto (apt-get install -y mosquitto); with CI=true a missing
# mosquitto fails the suite instead of skipping it. About 6 minutes on 2 cores.
#
#   scripts/e2e.sh                      the whole suite
#   scripts/e2e.sh -run PowerCut -v     one test, verbose (extra args go to go test)
#   E2E_SEED=123 scripts/e2e.sh         repeat the power-cut moments of a run
#   GATESCREEN_E2E_BIN=path scripts/e2e.sh   test a binary built elsewhere (with -tags testhooks: the clock tests need its seams)
#
# Every test prints a "FIGURES" line (with -v) that docs/RELIABILITY.md quotes.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test -tags e2e -count=1 -timeout 25m "$@" ./e2e/...
