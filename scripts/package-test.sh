#!/usr/bin/env bash
# Proves the Debian packages the way a school's IT person meets them, on a
# pristine Debian root (debootstrap bookworm minbase, nothing else):
#
#   1. lintian: no error in any of the three packages;
#   2. the unit file as packaged: `systemd-analyze security --offline=yes`
#      exposure at most 2.5 ("OK");
#   3. dpkg -i of the amd64 package: the system user and its device groups,
#      the configuration 0640 root:gatescreen, a pseudonym key 0600 made
#      once, check-config accepting the shipped configuration;
#   4. the installed daemon started as the unit starts it (its user, its
#      groups, its state directory) answers on its screen and stops with 0;
#   5. an upgrade to a newer version over it keeps the administrator's edit of
#      the conffile, the key and the store;
#   6. dpkg -r keeps the configuration, dpkg -P removes it and keeps the
#      event store, saying so.
#
#   scripts/package-test.sh        builds the packages (scripts/package.sh) first
#   PKG_DIR=/var/tmp/x scripts/package-test.sh   where the root is made
#
# Needs root (debootstrap, chroot); reaches only Debian's mirror.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=bookworm
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
work=${PKG_DIR:-/var/tmp/gatescreen-package}
root=$work/root
die() { echo "package-test: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot); run it with sudo"
step_start=$SECONDS
step() { step_start=$SECONDS; printf 'package-test: %-60s' "$*"; }
done_step() { printf '%4d s\n' $((SECONDS - step_start)); }
cleanup() {
	umount -l "$root/proc" 2>/dev/null || true
	[ -n "${PKG_KEEP:-}" ] || rm -rf --one-file-system "$root"
}
trap cleanup EXIT
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -euo pipefail -c "$1"
}

step "host: debootstrap, lintian, systemd-analyze installed"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v lintian >/dev/null || need+=(lintian)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
done_step

step "build the packages (scripts/package.sh)"
mkdir -p "$work" && rm -rf "$work/debs-built" "$work/debs-next"
scripts/package.sh "$work/debs-built" >"$work/package.log" 2>&1 || { cat "$work/package.log"; die "scripts/package.sh failed"; }
deb=$(ls "$work"/debs-built/gatescreen_*_amd64.deb)
version=$(dpkg-deb -f "$deb" Version)
next=$version.1
VERSION=$next ARCHES=amd64 scripts/package.sh "$work/debs-next" >>"$work/package.log" 2>&1 || die "the upgrade package failed to build"
done_step

step "lintian: no errors"
for d in "$work"/debs-built/*.deb; do
	out=$(lintian --tag-display-limit 0 "$d" 2>&1 | grep -v 'running with root privileges' || true)
	if printf '%s\n' "$out" | grep -q '^E: '; then echo; printf '%s\n' "$out"; die "lintian errors in ${d##*/}"; fi
done
done_step

step "systemd-analyze security of the packaged unit ≤ 2.5"
rm -rf "$work/unpacked" && dpkg-deb -x "$deb" "$work/unpacked"
exposure=$(systemd-analyze security --offline=yes "$work/unpacked/lib/systemd/system/gatescreen.service" 2>&1 |
	sed -n 's/.*Overall exposure level for gatescreen.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || die "systemd-analyze gave no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.5) }' || die "exposure $exposure, above 2.5"
printf '%4d s  (exposure %s)\n' $((SECONDS - step_start)) "$exposure"

step "debootstrap $suite minbase"
if [ -d "$root" ]; then umount -l "$root/proc" 2>/dev/null || true; rm -rf --one-file-system "$root"; fi
mkdir -p "$work/cache" "$root"
debootstrap --variant=minbase --cache-dir="$work/cache" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	die "debootstrap failed; see $work/debootstrap.log"
mount -t proc proc "$root/proc"
cp "$deb" "$work"/debs-next/*.deb "$root/tmp/"
done_step

step "dpkg -i ${deb##*/}"
in_root "dpkg -i /tmp/${deb##*/}" >"$work/install.log" 2>&1 || { cat "$work/install.log"; die "dpkg -i failed"; }
in_root '
	id gatescreen
	for g in dialout i2c gpio; do getent group $g >/dev/null; done
	[ "$(stat -c "%a %U:%G" /etc/gatescreen/gate.yaml)" = "640 root:gatescreen" ] || { stat -c "%a %U:%G" /etc/gatescreen/gate.yaml; exit 1; }
	[ "$(stat -c "%a %U" /etc/gatescreen/pseudonym.key)" = "600 gatescreen" ]
	[ "$(wc -c </etc/gatescreen/pseudonym.key)" -ge 32 ]
	gatescreen version | grep -q "^gatescreen '"$version"'$"
	gatescreen check-config -config /etc/gatescreen/gate.yaml >/dev/null
	test -s /usr/share/man/man1/gatescreen.1.gz
	grep -q "complete -o filenames -F _gatescreen gatescreen" /usr/share/bash-completion/completions/gatescreen
	grep -q "^ExecStart=/usr/bin/gatescreen run -config /etc/gatescreen/gate.yaml$" /lib/systemd/system/gatescreen.service
' >"$work/check.log" 2>&1 || { cat "$work/check.log"; die "the installed package is not as it should be"; }
done_step

# start_daemon runs the installed daemon as the unit does: its user and
# groups, its state directory (StateDirectory=), in a network namespace of
# its own; the screen must answer and SIGTERM stop it with 0.
start_daemon() {
	local check
	check=$(
		cat <<'EOS'
install -d -m 0750 -o gatescreen -g gatescreen /var/lib/gatescreen
setpriv --reuid gatescreen --regid gatescreen --init-groups -- \
	gatescreen run -config /etc/gatescreen/gate.yaml >/tmp/daemon.log 2>&1 &
pid=$!
for _ in $(seq 100); do
	if exec 3<>/dev/tcp/127.0.0.1/8080 2>/dev/null; then
		printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
		head -n1 <&3 | grep -q ' 200 ' && ok=1
		exec 3<&-
		break
	fi
	sleep 0.1
done
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
[ "${ok:-}" = 1 ] || { cat /tmp/daemon.log; echo "the screen did not answer"; exit 1; }
[ "$rc" -eq 0 ] || { cat /tmp/daemon.log; echo "the daemon exited $rc on SIGTERM"; exit 1; }
test -s /var/lib/gatescreen/events.db
EOS
	)
	unshare --net -- /bin/bash -c 'ip link set lo up 2>/dev/null || busybox ip link set lo up 2>/dev/null; exec "$@"' _ \
		chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -uo pipefail -c "$check"
}
step "root imports a roster; the daemon, as its own user, reads it"
# As a school's IT person does it: sudo gatescreen roster import. The kept
# copy must stay readable by the daemon's user (root's 0600 file stopped it).
printf 'school:\n  roster: /etc/gatescreen/roster.csv\n' >>"$root/etc/gatescreen/gate.yaml"
printf '\xef\xbb\xbf学号,姓名,班级,年级,角色,卡号\nS1,王小明,一(1)班,1,学生,04A1\n' >"$root/tmp/roster.csv"
in_root "gatescreen roster import -config /etc/gatescreen/gate.yaml /tmp/roster.csv" >"$work/roster.log" 2>&1 ||
	{ cat "$work/roster.log"; die "roster import as root failed"; }
in_root "setpriv --reuid gatescreen --regid gatescreen --init-groups -- cat /etc/gatescreen/roster.csv >/dev/null" ||
	die "the daemon's user cannot read the roster root imported: $(stat -c '%a %U:%G' "$root/etc/gatescreen/roster.csv")"
done_step

step "the installed daemon starts as its unit would, and stops"
start_daemon >"$work/start.log" 2>&1 || { cat "$work/start.log"; die "the installed daemon did not start and stop cleanly"; }
done_step

step "upgrade to $next keeps the edited conffile, the key, the store"
key=$(cat "$root/etc/gatescreen/pseudonym.key")
echo "# edited by the school's IT person" >>"$root/etc/gatescreen/gate.yaml"
in_root "dpkg -i --force-confold /tmp/gatescreen_${next}_amd64.deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; die "the upgrade failed"; }
grep -q "edited by the school's IT person" "$root/etc/gatescreen/gate.yaml" || die "the upgrade lost the edit of gate.yaml"
[ "$(cat "$root/etc/gatescreen/pseudonym.key")" = "$key" ] || die "the upgrade replaced the pseudonym key"
test -s "$root/var/lib/gatescreen/events.db" || die "the upgrade lost the store"
in_root "gatescreen version | grep -q '^gatescreen $next\$'" || die "the upgrade did not install $next"
start_daemon >"$work/start2.log" 2>&1 || { cat "$work/start2.log"; die "the upgraded daemon did not start and stop cleanly"; }
done_step

step "dpkg -r keeps the configuration; dpkg -P removes it, keeps the store and its key"
in_root "dpkg -r gatescreen" >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; die "dpkg -r failed"; }
[ ! -e "$root/usr/bin/gatescreen" ] || die "dpkg -r left the binary"
[ -e "$root/etc/gatescreen/gate.yaml" ] || die "dpkg -r removed the configuration"
in_root "dpkg -P gatescreen" >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; die "dpkg -P failed"; }
[ ! -e "$root/etc/gatescreen/gate.yaml" ] || die "dpkg -P left the configuration"
test -s "$root/var/lib/gatescreen/events.db" || die "dpkg -P removed the event store"
[ "$(cat "$root/etc/gatescreen/pseudonym.key")" = "$key" ] || die "dpkg -P removed the pseudonym key the kept store's backlog needs"
grep -q "event store) and /etc/gatescreen/pseudonym.key are kept" "$work/purge.log" || die "dpkg -P did not say the store and key are kept"
done_step
echo "package-test: passed"
