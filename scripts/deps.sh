#!/usr/bin/env bash
# The Debian packages the test suite needs, each with the check that proves it
# works the way the tests use it (a package can be installed and still lack
# what a test imports: python3-pymodbus without python3-serial-asyncio).
#
#   scripts/deps.sh          install what is missing (apt-get; root or sudo), then check
#   scripts/deps.sh check    check only; exit 1 naming every package that fails
#
# A package of another architecture (name:arch) is not installed but
# unpacked into $foreign/<arch> (apt-get download, dpkg-deb -x; depmod for a
# kernel): the ARM virtual machine's kernel and busybox (internal/testkit/vmtest).
#
# DEPS_WITHOUT="pkg …" leaves packages out of the install, so that
# scripts/fresh-machine.sh can prove a missing one is named.
set -euo pipefail

foreign=/var/cache/gatescreen-deps # internal/testkit/vmtest.ForeignRoot

# package | check (bash, run as is) | what needs it
deps=(
	"mosquitto|mosquitto_bin=\$(command -v mosquitto || echo /usr/sbin/mosquitto); \"\$mosquitto_bin\" -h 2>&1 | grep -q 'mosquitto version'|uplink and e2e tests run a real broker"
	"mosquitto-clients|mosquitto_pub --help 2>&1 | grep -q 'mosquitto_pub version'|the drain benchmark's baseline publisher"
	"openssl|openssl version 2>&1 | grep -q '^OpenSSL'|the district broker README's certificate commands, run as written (sync/uplink)"
	"python3-pymodbus|/usr/bin/python3 -c 'import pymodbus'|a Modbus RTU peer nobody here wrote (drivers/modbusir)"
	"python3-serial|/usr/bin/python3 -c 'import serial'|pymodbus's serial transport"
	"python3-serial-asyncio|/usr/bin/python3 -c 'import serial_asyncio'|pymodbus's asyncio serial server (only a Recommends of python3-pymodbus)"
	"chromium|chromium --version 2>&1 | grep -q '^Chromium'|the gate screen's browser tests; the daily report's A4 print test (internal/office)"
	"fonts-noto-cjk|fc-list :lang=zh-cn family 2>/dev/null | grep -q 'Noto'|Chinese text in the screen's screenshots and layout tests, and in the printed report's page count"
	"qemu-system-x86|qemu-system-x86_64 --version 2>&1 | grep -q 'QEMU emulator'|the power-cut test's virtual machine (internal/testkit/vmtest)"
	"linux-image-amd64|ls /boot/vmlinuz-*-amd64 /lib/modules/*-amd64/modules.dep|the virtual machine's kernel and its virtio and ext4 modules"
	"debootstrap|/usr/sbin/debootstrap --version 2>&1 | grep -q '^debootstrap'|the Debian roots of the package, sandbox and fresh-machine tests (scripts/package-test.sh, scripts/sandbox-test.sh, scripts/fresh-machine.sh)"
	"linux-headers-amd64|ls /lib/modules/*-amd64/build/Makefile|building gpio-testchip, the sandbox test's GPIO chip, for the virtual machine's kernel (scripts/sandbox-test.sh)"
	"make|make --version 2>&1 | grep -q '^GNU Make'|the kernel's module build (scripts/sandbox-test.sh)"
	"busybox-static|dpkg-query -W -f='\${Status}' busybox-static | grep -q 'ok installed' && /bin/busybox true|the virtual machine's userland (a static busybox)"
	"e2fsprogs|/usr/sbin/mkfs.ext4 -V && /usr/sbin/debugfs -V|the virtual machine's ext4 disk, made and read back on the host"
	"qemu-system-arm|qemu-system-aarch64 --version 2>&1 | grep -q 'QEMU emulator'|the ARM virtual machine (a Raspberry Pi's arm64 and armv7 daemons)"
	"linux-image-arm64:arm64|ls $foreign/arm64/boot/vmlinuz-*-arm64 $foreign/arm64/lib/modules/*-arm64/modules.dep|the ARM virtual machine's kernel and modules"
	"busybox-static:arm64|test -x $foreign/arm64/bin/busybox|the ARM virtual machine's userland"
	"qemu-user-static|qemu-arm-static --version 2>&1 | grep -q 'qemu-arm version' && qemu-aarch64-static --version 2>&1 | grep -q 'qemu-aarch64 version'|the unit tests of the armv6 and arm64 builds under user-mode emulation (scripts/test-arm.sh)"
	"binfmt-support|update-binfmts --version 2>&1 | grep -q '^binfmt-support'|registering qemu-user-static with the kernel, so that the ARM tests' own children run emulated too (scripts/test-arm.sh)"
	"gcc|gcc --version >/dev/null 2>&1|cgo, which go test -race needs"
	"libc6-dev|printf 'int main(void){return 0;}' | gcc -x c -o /dev/null - 2>/dev/null|linking cgo and race-detector binaries (only a Recommends of gcc)"
	"postgresql|\"\$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/initdb\" --version 2>&1 | grep -q 'initdb (PostgreSQL)'|the district store's PostgreSQL tests and benchmark start a real server of their own: initdb, pg_ctl (internal/district/store/pgtest)"
)

pkg() { printf '%s' "${1%%|*}"; }
check_of() { local rest=${1#*|}; printf '%s' "${rest%|*}"; }
need_of() { printf '%s' "${1##*|}"; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

without() {
	local p
	for p in ${DEPS_WITHOUT:-}; do [ "$p" = "$1" ] && return 0; done
	return 1
}

install_missing() {
	local missing=() unpack=() d p
	for d in "${deps[@]}"; do
		p=$(pkg "$d")
		without "$p" && { echo "deps: leaving out $p (DEPS_WITHOUT)"; continue; }
		if [[ $p == *:* ]]; then
			bash -c "$(check_of "$d")" >/dev/null 2>&1 || unpack+=("$p")
		else
			installed "$p" || missing+=("$p")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && [ ${#unpack[@]} -eq 0 ] && return 0
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			sudo="sudo"
		else
			echo "deps: not root and no sudo: cannot install ${missing[*]} ${unpack[*]}" >&2
			echo "deps: run as root: scripts/deps.sh" >&2
			return 0 # the check below names what is missing
		fi
	fi
	export DEBIAN_FRONTEND=noninteractive
	local updated=""
	if [ ${#missing[@]} -gt 0 ]; then
		echo "deps: apt-get install ${missing[*]}"
		$sudo apt-get update -qq && updated=1
		$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	for p in "${unpack[@]}"; do
		unpack_foreign "$p"
	done
}

# unpack_foreign NAME:ARCH downloads a package of another architecture
# (a kernel through its metapackage's dependency) and unpacks it.
unpack_foreign() {
	local name=${1%%:*} arch=${1#*:} dir tmp real
	dir=$foreign/$arch
	echo "deps: unpacking $1 into $dir"
	if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		$sudo dpkg --add-architecture "$arch"
		updated=""
	fi
	[ -n "$updated" ] || { $sudo apt-get update -qq && updated=1; }
	real=$name
	if [[ $name == linux-image-$arch ]]; then # the metapackage names the kernel
		real=$(apt-cache depends "$name:$arch" | awk '/Depends: linux-image-/ { sub(/:.*/, "", $2); print $2; exit }')
	fi
	tmp=$(mktemp -d)
	chmod 755 "$tmp" # apt downloads as _apt
	(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$real:$arch") >/dev/null
	$sudo mkdir -p "$dir"
	for deb in "$tmp"/*.deb; do $sudo dpkg-deb -x "$deb" "$dir"; done
	rm -rf "$tmp"
	if [[ $real == linux-image-* ]]; then
		$sudo depmod -b "$dir" "${real#linux-image-}"
	fi
}

check_all() {
	local failed=() d p
	for d in "${deps[@]}"; do
		p=$(pkg "$d")
		if ! bash -c "$(check_of "$d")" </dev/null >/dev/null 2>&1; then
			echo "deps: MISSING $p — needed for $(need_of "$d"); check failed: $(check_of "$d")" >&2
			failed+=("$p")
		fi
	done
	if [ ${#failed[@]} -gt 0 ]; then
		echo "deps: install with: apt-get install -y --no-install-recommends ${failed[*]}" >&2
		return 1
	fi
	echo "deps: all ${#deps[@]} test dependencies work"
}

case "${1:-install}" in
install) install_missing; check_all ;;
check) check_all ;;
*) echo "usage: $0 [install|check]" >&2; exit 2 ;;
esac
