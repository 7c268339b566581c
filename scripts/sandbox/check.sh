#!/bin/bash
# The guest half of scripts/sandbox-test.sh (run by sandbox-check.service as
# root, outside the daemon's sandbox). Every check prints one line
#   RESULT PASS|FAIL <what>
# on the console; the host fails the run on any FAIL or a missing DONE.
set -uo pipefail
failed=0
pass() { echo "RESULT PASS $*"; }
fail() { echo "RESULT FAIL $*"; failed=$((failed + 1)); }
check() { # check WHAT COMMAND…
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
quiet() { # quiet COMMAND…: its output only when it fails
	local out
	out=$("$@" 2>&1) || { printf '%s\n' "$out"; return 1; }
}
wait_for() { # wait_for SECONDS COMMAND…: true once COMMAND is
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}
trap 'echo "RESULT DONE failed=$failed"' EXIT

# The devices a box has, emulated: ttyS1 (QEMU's second 16550) and ttyUSB0
# (QEMU's usb-serial, an FTDI, through ftdi_sio) are fed gate lines by the
# host; i2c-stub is an I²C adapter with a chip at the MLX90614's address;
# gpio-testchip a GPIO chip named like the Pi's header. ttyprintk is a
# character device the unit does not allow; cdc_acm registers ttyACM in
# /proc/devices.
for m in i2c-dev "i2c-stub chip_addr=0x5a" gpio-testchip ttyprintk cdc_acm; do
	modprobe $m || fail "modprobe $m"
done
udevadm settle
wait_for 30 test -c /dev/ttyUSB0 || fail "no /dev/ttyUSB0 (usb-serial, ftdi_sio)"
i2c=
for d in /sys/class/i2c-dev/i2c-*; do
	grep -q "SMBus stub driver" "$d/name" && i2c=${d##*/}
done
[ -n "$i2c" ] || fail "no i2c-stub bus"
# The MLX90614's object temperature register (0x07), 36.6 °C in its 0.02 K steps.
i2cset -y "${i2c#i2c-}" 0x5a 0x07 0x3ad3 w || fail "i2cset on $i2c"
chip=$(gpiodetect | awk '/\[gpio-testchip\]/ { print $1 }')
[ -n "$chip" ] || fail "no gpio-testchip chip"
# What udev rules on a Pi give these nodes (Debian's i2c-tools gives i2c's).
chgrp gpio "/dev/$chip" && chmod 0660 "/dev/$chip"
chgrp i2c "/dev/$i2c" && chmod 0660 "/dev/$i2c"
chgrp dialout /dev/ttyprintk && chmod 0660 /dev/ttyprintk

cat >/etc/gatescreen/gate.yaml <<EOY
site: {district: haidian, school: sandbox, gate: east}
devices:
  - {name: uart, driver: lineproto, port: /dev/ttyS1, baud: 9600, mode: body}
  - {name: usb, driver: lineproto, port: /dev/ttyUSB0, baud: 9600, mode: body}
  - {name: mlx, driver: mlx90614, bus: /dev/$i2c, address: 0x5a, mode: skin, offset_c: 2.8}
  - {name: denied, driver: lineproto, port: /dev/ttyprintk, baud: 9600, mode: body}
lanes:
  - {name: lane-1, role: student, device: uart, output: lane1}
  - {name: lane-2, role: student, device: usb, output: lane2}
  - {name: staff, role: staff, device: mlx}
  - {name: denied, role: visitor, device: denied}
outputs:
  lane1: {green: GPIO17, red: GPIO27, amber: GPIO22}
  lane2: {green: GPIO5, red: GPIO6, amber: GPIO13}
uplink: {broker: ""}
metrics: {listen: "127.0.0.1:9464"}
EOY
check "check-config accepts the machine's configuration" quiet gatescreen check-config -config /etc/gatescreen/gate.yaml

# The package enabled the unit: it started at boot with the shipped
# configuration; a restart takes the machine's.
check "gatescreen.service started at boot" systemctl is-active --quiet gatescreen.service
echo "SANDBOX feed" # the host starts writing gate lines
check "systemctl restart gatescreen" systemctl restart gatescreen.service
pid=$(systemctl show -p MainPID --value gatescreen.service)
check "gatescreen.service is active" systemctl is-active --quiet gatescreen.service

show=$(systemctl show -p DevicePolicy -p DeviceAllow -p ProtectProc -p MemoryDenyWriteExecute -p SystemCallFilter -p RestrictAddressFamilies -p User gatescreen.service)
echo "$show" | sed 's/^/UNIT /'
check "DevicePolicy=closed" grep -qx "DevicePolicy=closed" <<<"$show"
for a in "char-ttyUSB rw" "char-ttyACM rw" "char-ttyS rw" "char-ttyAMA rw" "char-i2c rw" "char-gpiochip rw"; do
	check "DeviceAllow $a" grep -q "^DeviceAllow=.*$a" <<<"$show"
done
check "ProtectProc=invisible" grep -qx "ProtectProc=invisible" <<<"$show"
check "MemoryDenyWriteExecute=yes" grep -qx "MemoryDenyWriteExecute=yes" <<<"$show"
check "the daemon runs as gatescreen" grep -qx "User=gatescreen" <<<"$show"
metrics() {
	exec 3<>/dev/tcp/127.0.0.1/9464 || return 1
	printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	cat <&3
	exec 3<&-
}
has_metric() { metrics 2>/dev/null | grep -q "$1"; }
valid_frames() { has_metric "gatescreen_device_frames_total{device=\"$1\",outcome=\"valid\"} [1-9]"; }
check "readings from ttyS1 (lane-1)" wait_for 60 valid_frames uart
check "readings from ttyUSB0 (lane-2)" wait_for 60 valid_frames usb
check "device uart up" wait_for 30 has_metric 'gatescreen_device_state{device="uart",state="up"} 1'
check "device usb up" wait_for 30 has_metric 'gatescreen_device_state{device="usb",state="up"} 1'
check "lane-1 passes (36.6 °C on ttyS1)" wait_for 30 has_metric 'gatescreen_readings_total{lane="lane-1",verdict="pass"} [1-9]'
check "lane-2 flags (38.4 °C on ttyUSB0)" wait_for 30 has_metric 'gatescreen_readings_total{lane="lane-2",verdict="flag"} [1-9]'
metrics | grep -E '^gatescreen_(device_state|device_frames_total|readings_total)' | grep -v ' 0$' | sed 's/^/METRIC /'

# Every allowed node is open in the daemon (root sees its /proc from here).
fds=$(ls -l "/proc/$pid/fd" 2>/dev/null)
for n in /dev/ttyS1 /dev/ttyUSB0 "/dev/$chip"; do
	check "the daemon holds $n open" grep -q " -> $n\$" <<<"$fds"
done
# i2c-stub answers SMBus commands only, not the plain I²C transfers the
# MLX90614 driver makes: the daemon opened the bus and its transfer reached
# the adapter, which refused it ("operation not supported"), not the
# cgroup's device policy ("operation not permitted").
mlx_reached() { journalctl -b -u gatescreen.service -o cat | grep '"device":"mlx"' | grep -q 'sysfs-i2c: operation not supported'; }
check "the daemon opened /dev/$i2c: its transfer reached i2c-stub" wait_for 20 mlx_reached
check "no I²C open refused" bash -c '! journalctl -b -u gatescreen.service -o cat | grep "\"device\":\"mlx\"" | grep -Eq "I²C bus|not permitted|permission denied"'

# The lamps: lane-2's flag holds its red (GPIO6) on; lane-1's passes light
# its green (GPIO17) for the hold. The kernel's GPIO debugfs shows the level.
gpio_is() { grep -Eq "\($1 +\|gatescreen[^)]*\) out $2" /sys/kernel/debug/gpio; }
grep gatescreen /sys/kernel/debug/gpio | sed 's/^/GPIO /'
check "lane-2's red lamp (GPIO6) on" wait_for 10 gpio_is GPIO6 hi
check "lane-1's green lamp (GPIO17) on" wait_for 10 gpio_is GPIO17 hi
check "lane-1's red lamp (GPIO27) off" gpio_is GPIO27 lo

# The node the unit does not allow: the daemon's user may open it (its
# group, 0660), the daemon in its unit may not.
check "gatescreen's user opens /dev/ttyprintk outside the unit" \
	setpriv --reuid gatescreen --regid gatescreen --groups dialout,i2c,gpio -- /bin/sh -c 'exec 3<>/dev/ttyprintk'
denied() { journalctl -b -u gatescreen.service -o cat | grep -q '/dev/ttyprintk.*operation not permitted'; }
check "the daemon in its unit is refused /dev/ttyprintk: operation not permitted" wait_for 20 denied
check "device denied down" has_metric 'gatescreen_device_state{device="denied",state="down"} 1'
journalctl -b -u gatescreen.service -o cat | grep -m3 ttyprintk | sed 's/^/JOURNAL /'

check "the daemon still runs, never restarted" test "$(systemctl show -p NRestarts --value gatescreen.service)" = 0 -a "$(systemctl show -p MainPID --value gatescreen.service)" = "$pid"
check "no seccomp kill or SIGSYS in the journal" bash -c '! journalctl -b -o cat | grep -Eiq "SIGSYS|bad system call|code=killed.*SYS"'
check "no error in the daemon's journal besides the denied and the stub I²C device" \
	bash -c '! journalctl -b -u gatescreen.service -o cat | grep -iE "\"level\":\"(error|fatal)\"" | grep -vE "ttyprintk|\"device\":\"(mlx|denied)\"|mlx"'
journalctl -b -u gatescreen.service -o cat | grep -m5 -E '"device":"mlx"|mlx' | sed 's/^/JOURNAL /'
check "systemctl stop gatescreen: exit 0" systemctl stop gatescreen.service
check "gatescreen.service ended cleanly" test "$(systemctl show -p Result --value gatescreen.service)" = success
# Stopped, the daemon leaves every lamp off (the chip keeps the last level).
check "lamps off after the stop (gpioget: GPIO6 GPIO17 = 0 0)" test "$(gpioget "$chip" 6 17)" = "0 0"

# The refusal is the policy's: the drop-in docs/install.md tells a box with
# another adapter to add lets the daemon open the same node.
mkdir -p /etc/systemd/system/gatescreen.service.d
printf '[Service]\nDeviceAllow=/dev/ttyprintk rw\n' >/etc/systemd/system/gatescreen.service.d/ttyprintk.conf
systemctl daemon-reload
check "with a DeviceAllow= drop-in for it, gatescreen.service starts" systemctl start gatescreen.service
pid=$(systemctl show -p MainPID --value gatescreen.service)
holds_printk() { ls -l "/proc/$pid/fd" 2>/dev/null | grep -q ' -> /dev/ttyprintk$'; }
check "with the drop-in, the daemon holds /dev/ttyprintk open" wait_for 20 holds_printk
systemctl stop gatescreen.service

sed 's/^/PROCDEV /' /proc/devices
