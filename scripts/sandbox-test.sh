#!/usr/bin/env bash
# Runs the real daemon under the packaged unit's sandbox (DevicePolicy=closed
# and its DeviceAllow= lines, SystemCallFilter=, MemoryDenyWriteExecute=,
# ProtectProc=invisible, …) with systemd as PID 1, in a virtual machine,
# because a chroot or this machine's init cannot apply a unit:
#
#   1. a Debian bookworm root (debootstrap: systemd, udev, i2c-tools, gpiod),
#      cached under /var/cache/gatescreen-deps/ by its package list;
#   2. the amd64 .deb of scripts/package.sh installed into it, and the
#      host's Debian kernel's serial, USB, I²C and GPIO modules, plus
#      gpio-testchip (scripts/sandbox/: Debian's kernel has no gpio-sim),
#      built against the kernel's headers;
#   3. QEMU boots it with the host's kernel and initramfs: a second 16550
#      (/dev/ttyS1) and a usb-serial FTDI (/dev/ttyUSB0) the host feeds gate
#      lines into, i2c-stub (/dev/i2c-N) with a chip at the MLX90614's
#      address, gpio-testchip (/dev/gpiochipN) as lane lamps;
#   4. scripts/sandbox/check.sh, run by systemd after boot, starts
#      gatescreen.service on them and prints RESULT lines: the unit active
#      with its sandbox, every allowed node open in the daemon, readings from
#      both serial ports, the lamps' levels, and /dev/ttyprintk (not allowed)
#      refused with "operation not permitted" though the daemon's user may
#      open it outside the unit.
#
# The guest's /proc/devices is kept in $SANDBOX_DIR/proc-devices (the
# testdata of cmd/gatescreen's DeviceAllow test came from there).
#
#   scripts/sandbox-test.sh
#   SANDBOX_DIR=/var/tmp/x scripts/sandbox-test.sh     where it works
#   SANDBOX_ACCEL=kvm scripts/sandbox-test.sh          KVM instead of TCG
#
# Needs root (debootstrap, chroot); reaches only Debian's mirror.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=bookworm
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
work=${SANDBOX_DIR:-/var/tmp/gatescreen-sandbox}
cache=/var/cache/gatescreen-deps/sandbox
include=systemd,systemd-sysv,udev,kmod,i2c-tools,gpiod
root=$work/root
die() { echo; echo "sandbox-test: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot); run it with sudo"
started=$SECONDS
step_start=$SECONDS
step() { step_start=$SECONDS; printf 'sandbox-test: %-60s' "$*"; }
done_step() { printf '%4d s\n' $((SECONDS - step_start)); }
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	umount -l "$root/proc" 2>/dev/null || true
	[ -n "${SANDBOX_KEEP:-}" ] || rm -rf --one-file-system "$root" "$work/disk.img"
}
trap cleanup EXIT

step "host: packages (scripts/deps.sh)"
scripts/deps.sh >"$work.deps.log" 2>&1 || { cat "$work.deps.log"; die "scripts/deps.sh failed"; }
rm -f "$work.deps.log"
# The host's Debian kernel with its initramfs and its headers, one version.
kver=
for v in /boot/vmlinuz-*-amd64; do
	v=${v#/boot/vmlinuz-}
	[ -f "/boot/initrd.img-$v" ] && [ -f "/lib/modules/$v/modules.dep" ] && [ -d "/lib/modules/$v/build" ] && kver=$v
done
[ -n "$kver" ] || die "no Debian kernel with initramfs, modules and headers (apt-get install linux-image-amd64 linux-headers-amd64)"
done_step

step "build the amd64 package (scripts/package.sh)"
mkdir -p "$work" && rm -rf "$work/debs"
ARCHES=amd64 scripts/package.sh "$work/debs" >"$work/package.log" 2>&1 || { cat "$work/package.log"; die "scripts/package.sh failed"; }
deb=$(ls "$work"/debs/gatescreen_*_amd64.deb)
done_step

step "build gpio-testchip.ko for $kver"
rm -rf "$work/mod" && cp -r scripts/sandbox "$work/mod"
make -s -C "/lib/modules/$kver/build" M="$work/mod" modules >"$work/mod.log" 2>&1 || { cat "$work/mod.log"; die "building gpio-testchip failed"; }
done_step

key=$(printf '%s\n' "$suite" "$mirror" "$include" | sha256sum | cut -c1-16)
step "debootstrap $suite ($include)"
if [ -d "$root" ]; then umount -l "$root/proc" 2>/dev/null || true; rm -rf --one-file-system "$root"; fi
if [ -f "$cache/root-$key/.complete" ]; then
	printf '(cached) '
else
	rm -rf "$cache/root-$key" && mkdir -p "$cache/debs"
	debootstrap --variant=minbase --include="$include" --cache-dir="$cache/debs" "$suite" "$cache/root-$key" "$mirror" \
		>"$work/debootstrap.log" 2>&1 || die "debootstrap failed; see $work/debootstrap.log"
	touch "$cache/root-$key/.complete"
fi
cp -a "$cache/root-$key" "$root" && rm "$root/.complete"
done_step

step "install ${deb##*/}, the modules, the check"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg -i "/tmp/${deb##*/}" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; die "dpkg -i failed"; }
umount "$root/proc"
rm "$root/tmp/${deb##*/}"
mods=/lib/modules/$kver
mkdir -p "$root$mods/kernel/drivers" "$root$mods/extra"
cp "$mods"/modules.order "$mods"/modules.builtin "$mods"/modules.builtin.modinfo "$root$mods/"
for d in usb i2c tty char; do cp -r "$mods/kernel/drivers/$d" "$root$mods/kernel/drivers/"; done
cp "$work/mod/gpio-testchip.ko" "$root$mods/extra/"
depmod -b "$root" "$kver"
install -m 0755 scripts/sandbox/check.sh "$root/usr/local/sbin/sandbox-check"
install -m 0644 scripts/sandbox/sandbox-check.service "$root/etc/systemd/system/"
ln -sf /etc/systemd/system/sandbox-check.service "$root/etc/systemd/system/multi-user.target.wants/"
# Nothing may wait on the console: no first-boot questions, no getty.
ln -sf /dev/null "$root/etc/systemd/system/systemd-firstboot.service"
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
echo gatebox >"$root/etc/hostname"
rm -f "$work/disk.img"
mkfs.ext4 -q -F -L root -d "$root" "$work/disk.img" 1G >"$work/mkfs.log" 2>&1 || { cat "$work/mkfs.log"; die "mkfs.ext4 -d failed"; }
done_step

step "boot; the check runs gatescreen.service on the devices"
console=$work/console.log
rm -f "$console" "$work"/ttyS1.{in,out} "$work"/ttyUSB0.{in,out}
for p in ttyS1 ttyUSB0; do mkfifo "$work/$p.in" "$work/$p.out"; done
accel=(-accel tcg)
[ "${SANDBOX_ACCEL:-}" = kvm ] && accel=(-accel kvm -cpu host)
qemu-system-x86_64 "${accel[@]}" -m 512 -nodefaults -display none -no-reboot \
	-kernel "/boot/vmlinuz-$kver" -initrd "/boot/initrd.img-$kver" \
	-append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 panic=-1 systemd.show_status=error" \
	-serial "file:$console" \
	-chardev "pipe,id=uart,path=$work/ttyS1" -serial chardev:uart \
	-drive "if=none,id=disk,format=raw,file=$work/disk.img" -device virtio-blk-pci,drive=disk \
	-device qemu-xhci -chardev "pipe,id=usb,path=$work/ttyUSB0" -device usb-serial,chardev=usb \
	>"$work/qemu.log" 2>&1 &
qemu=$!
pids+=("$qemu")
for p in ttyS1 ttyUSB0; do
	cat "$work/$p.out" >/dev/null &
	pids+=($!)
done
# feed PORT TEMPERATURES…: a gate line every half second once the guest
# asks (before that the lines would pile up in the pipe), the values
# varied, as people are (the same value a dozen times is a stuck sensor).
feed() {
	local port=$1
	shift
	while :; do
		for t in "$@"; do
			printf 'T=%sC A=24.0C\n' "$t"
			sleep 0.5
		done
	done >"$work/$port.in"
}
fed=
deadline=$((SECONDS + ${SANDBOX_TIMEOUT:-420}))
while ! grep -q "RESULT DONE" "$console" 2>/dev/null; do
	kill -0 "$qemu" 2>/dev/null || break
	if [ -z "$fed" ] && grep -q "^SANDBOX feed" "$console" 2>/dev/null; then
		feed ttyS1 36.4 36.5 36.6 36.7 &
		pids+=($!)
		feed ttyUSB0 38.2 38.3 38.4 38.5 &
		pids+=($!)
		fed=1
	fi
	[ $SECONDS -lt $deadline ] || { tail -40 "$console"; die "no RESULT DONE within ${SANDBOX_TIMEOUT:-420} s"; }
	sleep 0.5
done
wait_end=$((SECONDS + 30))
while kill -0 "$qemu" 2>/dev/null && [ $SECONDS -lt $wait_end ]; do sleep 0.5; done
done_step

tr -d '\r' <"$console" | sed -n 's/^PROCDEV //p' >"$work/proc-devices"
tr -d '\r' <"$console" | grep -E '^(RESULT|UNIT|METRIC|GPIO|JOURNAL) ' | sed 's/^/    /'
grep -q "RESULT DONE" "$console" || { cat "$work/qemu.log"; tail -40 "$console"; die "the machine stopped before the check was done"; }
if grep -q "RESULT FAIL" "$console" || ! grep -q "RESULT DONE failed=0" "$console"; then
	die "the daemon does not work under its unit's sandbox (console: $console)"
fi
echo "sandbox-test: PASS ($((SECONDS - started)) s)"
