#!/usr/bin/env bash
# Runs `go test -v -count=1 FLAGS ./...` for one architecture (GOARCH and
# GOARM come from the environment) and prints, instead of every test's
# output: each package's result line, every skipped test with its reason,
# the output of every failed test, and one summary line with the package
# counts and the time, which CI's log keeps per architecture:
#
#   unit tests arm64 (qemu-user): 30 packages passed, 0 failed, 6 without tests; 3 tests skipped; 171 s
#
#   scripts/unit-tests.sh LABEL [go test flags]    e.g. scripts/unit-tests.sh amd64 -race
#
# The full output is kept in $UNIT_LOG (default: a file in ${TMPDIR:-/tmp},
# named at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

label=${1:?usage: $0 LABEL [go test flags]}
shift
log=${UNIT_LOG:-$(mktemp "${TMPDIR:-/tmp}/gatescreen-unit-XXXXXX.log")}

start=$SECONDS
status=0
go test -v -count=1 "$@" ./... >"$log" 2>&1 || status=$?
took=$((SECONDS - start))

# With -v every line after "=== RUN/CONT/NAME X" belongs to test X until the
# next such line; go test prints the packages one after another. A failed
# package also shows what it printed after its last test (a panic); build
# errors are shown as they are.
awk -v label="$label" -v took="$took" '
/^# / { building = 1 } # a build error, printed as it is
building && /^(=== |ok  \t|FAIL\t|\?   \t)/ { building = 0 }
building { print; next }
/^=== (RUN|CONT|NAME|PAUSE)/ { cur = $3; next }
/^ *--- (PASS|FAIL|SKIP): / {
	name = $3
	if ($2 == "SKIP:") { skipped++; printf "  skipped %s\n%s", name, (name in buf ? buf[name] : "    (no reason given)\n") }
	if ($2 == "FAIL:") { failed_tests++; printf "  FAILED %s\n%s", name, buf[name] }
	delete buf[name]; tail = ""; next
}
/^ok  \t/ { passed++; print; tail = ""; next }
/^\?   \t/ { notests++; print; tail = ""; next }
/^FAIL\t/ { failed++; printf "%s", tail; tail = ""; print; next }
/^(PASS|FAIL)$/ { next }
{
	if (cur != "") buf[cur] = buf[cur] $0 "\n"
	tail = tail $0 "\n"
	if (length(tail) > 4000) tail = substr(tail, length(tail) - 4000)
}
END {
	printf "unit tests %s: %d packages passed, %d failed, %d without tests; %d tests skipped, %d failed; %d s\n",
		label, passed, failed, notests, skipped, failed_tests, took
}' "$log"
echo "unit tests $label: full output in $log"
exit "$status"
