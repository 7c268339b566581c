#!/usr/bin/env bash
# The unit tests on the Raspberry Pi's processors, under user-mode emulation
# (Debian's qemu-user-static): `go test ./...` built for armv6 (GOARCH=arm
# GOARM=6, a Pi Zero's; every 32-bit Pi runs it) and for arm64. .ci/run calls
# it after scripts/test.sh.
#
#   scripts/test-arm.sh               both
#   scripts/test-arm.sh arm64         one of: armv6 arm64
#
# The kernel runs every ARM binary through the emulator (binfmt_misc, through
# binfmt-support's update-binfmts), so the children a test starts from its
# own binary — the store's integrity checker, the crash and last-will tests'
# re-executions — are emulated too; `go test -exec qemu-arm-static` would
# emulate only the test binary and the children would fail with "exec format
# error". Registering needs root once per boot (mount binfmt_misc, enable
# qemu-arm and qemu-aarch64); this script does it when it can. Without the
# emulators it says what is missing and stops: a failure on CI (CI=true),
# where nothing may be skipped, and exit 0 elsewhere.
#
# Each architecture ends with one line (scripts/unit-tests.sh), e.g.
#   unit tests arm64 (qemu-user): 30 packages passed, 0 failed, 6 without tests; 1 tests skipped, 0 failed; 171 s
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
missing() {
	echo "test-arm: $*" >&2
	if [ "${CI:-}" = true ]; then exit 1; fi
	echo "test-arm: not in CI: the ARM unit tests are skipped" >&2
	exit 0
}

# arch name → "GOARCH GOARM binfmt-entry emulator"
declare -A targets=(
	[armv6]="arm 6 qemu-arm qemu-arm-static"
	[arm64]="arm64 - qemu-aarch64 qemu-aarch64-static"
)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(armv6 arm64)
for a in "${wanted[@]}"; do
	[ -n "${targets[$a]:-}" ] || { echo "usage: $0 [armv6] [arm64]" >&2; exit 2; }
done

binfmt=/proc/sys/fs/binfmt_misc
sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo="sudo -n"; fi

# register ENTRY EMULATOR makes the kernel run the entry's binaries through
# the emulator, or ends the script saying why it cannot.
register() {
	local entry=$1 emulator=$2
	command -v "$emulator" >/dev/null ||
		missing "$emulator not installed (apt-get install -y qemu-user-static binfmt-support; scripts/deps.sh does)"
	if [ ! -e "$binfmt/status" ]; then
		$sudo mount -t binfmt_misc binfmt_misc "$binfmt" ||
			missing "cannot mount binfmt_misc on $binfmt (needs root)"
	fi
	enabled() { head -1 "$binfmt/$entry" 2>/dev/null | grep -qx enabled; }
	enabled && return 0
	command -v update-binfmts >/dev/null ||
		missing "update-binfmts not installed (apt-get install -y binfmt-support)"
	# qemu-user-static's postinst does not import its formats inside a
	# container; /usr/share/binfmts holds them all the same. Importing
	# also enables.
	if ! update-binfmts --display "$entry" 2>/dev/null | grep -q 'package = qemu-user-static'; then
		$sudo update-binfmts --import "$entry" ||
			missing "update-binfmts --import $entry failed (needs root)"
	fi
	enabled || $sudo update-binfmts --enable "$entry" ||
		missing "update-binfmts --enable $entry failed (needs root)"
	enabled || missing "$binfmt/$entry is not enabled after update-binfmts --enable $entry"
}

# probe GOARCH GOARM proves the kernel runs a binary of that architecture
# directly, as the tests' children are run.
probe() {
	local dir out
	dir=$(mktemp -d)
	printf 'package main\n\nimport "fmt"\nimport "runtime"\n\nfunc main() { fmt.Println(runtime.GOARCH) }\n' >"$dir/main.go"
	env GOARCH="$1" ${2:+GOARM=$2} go build -o "$dir/probe" "$dir/main.go"
	out=$("$dir/probe" 2>&1) || true
	rm -rf "$dir"
	[ "$out" = "$1" ] || missing "a $1 binary does not run through binfmt_misc: $out"
}

status=0
for a in "${wanted[@]}"; do
	read -r goarch goarm entry emulator <<<"${targets[$a]}"
	[ "$goarm" = - ] && goarm=""
	step "unit tests for $a (GOARCH=$goarch${goarm:+ GOARM=$goarm}) under $emulator"
	register "$entry" "$emulator"
	probe "$goarch" "$goarm"
	"$emulator" --version | sed -n 1p # sed reads it all: no SIGPIPE under pipefail
	# Measured here (2 shared cores): emulated code is 5–9 times slower
	# than native (config's BenchmarkParse), starting a process 20–30
	# times (8 ms native, 160–230 ms emulated), a package's tests 4–7
	# times (storage: 13 s native, 53–90 s emulated). The suite's timed
	# bounds leave more than that: they held in every full run of both.
	env GOARCH="$goarch" ${goarm:+GOARM=$goarm} scripts/unit-tests.sh "$a (qemu-user)" -timeout 40m || status=1
done
exit "$status"
