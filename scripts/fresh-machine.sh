#!/usr/bin/env bash
# Proves the README's two commands on a pristine Debian machine: a bookworm
# root made by debootstrap from Debian's packages, with only what the README
# assumes (Go, and git with CA certificates, which cloning and the module
# proxy need; the host's own added certificate authorities, as any machine on
# its network has them). Inside a chroot it runs, from a fresh clone of HEAD:
#
#   1. the demo, exactly as the README gives it, for about 20 s in a network
#      namespace of its own (no network, no installed packages): it must
#      serve the gate screen, publish on its embedded broker, and exit 0 on
#      SIGINT;
#   2. the test command, exactly as the README gives it (CI=true, as root:
#      it installs its packages with apt-get through scripts/deps.sh);
#   3. that a package left out of the install list fails the test command's
#      dependency check with a message naming it.
#
# It prints one line per step with its time. Needs root (debootstrap, chroot,
# mounts) and reaches only Debian's mirror and the Go module proxy.
#
#   scripts/fresh-machine.sh
#   FRESH_DIR=/var/tmp/x scripts/fresh-machine.sh   where the root is made (default /var/tmp/gatescreen-fresh)
#   FRESH_KEEP=1 scripts/fresh-machine.sh           keep the root afterwards (chroot "$FRESH_DIR/root" to look around)
#
# The Go module and build caches are the caller's, bind-mounted, so that the
# suite does not compile every dependency again; downloaded .debs are kept in
# $FRESH_DIR/debs between runs (Debian's signed packages, checked by apt).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

suite=bookworm
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
work=${FRESH_DIR:-/var/tmp/gatescreen-fresh}
root=$work/root
home=/root/gatescreen # the clone, inside the root

die() { echo "fresh-machine: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mounts); run it with sudo"

started=$SECONDS
step_start=$SECONDS
step() { step_start=$SECONDS; printf 'fresh-machine: %-62s' "$*"; }
done_step() { printf '%4d s\n' $((SECONDS - step_start)); }

mounts=()
unmount_all() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount -l "${mounts[i]}" 2>/dev/null || true
	done
	mounts=()
}
cleanup() {
	unmount_all
	if [ -z "${FRESH_KEEP:-}" ] && [ -d "$root" ]; then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

bind() { # bind SRC DST-inside-root
	mkdir -p "$root$2"
	mount --bind "$1" "$root$2"
	mounts+=("$root$2")
}

# in_root runs a bash script inside the root with a clean environment, the
# way a user's login shell on the fresh machine would have it.
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI=true \
		PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -euo pipefail -c "$1"
}

# readme_command PREFIX prints the README's command line that starts with
# PREFIX, without its comment: the commands run are the README's own.
readme_command() {
	local line
	line=$(awk -v p="$1" 'index($0, p) == 1 { sub(/[ \t]*#.*/, ""); print; exit }' README.md)
	[ -n "$line" ] || die "README.md gives no command starting with '$1'"
	printf '%s' "$line"
}

step "host: debootstrap installed"
if ! command -v debootstrap >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
done_step

step "debootstrap $suite (minbase + git, ca-certificates)"
# A root left by an interrupted run may still have mounts in it.
if [ -d "$root" ]; then
	grep -o " $root[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf --one-file-system "$root"
fi
mkdir -p "$work/debs" "$root"
debootstrap --variant=minbase --include=ca-certificates,git --cache-dir="$work/debs" \
	"$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	die "debootstrap failed; see $work/debootstrap.log"
# What a Debian machine's apt has: the suite, its updates and security.
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A machine on this network trusts what its host trusts: certificate
# authorities the host added to Debian's (a proxy's, say) go in as local
# ones, the way Debian adds a CA, so HTTPS to the module proxy works.
split_pems() { # split_pems BUNDLE DIR: one file per certificate, named by its hash
	mkdir -p "$2"
	awk -v dir="$2" '/BEGIN CERTIFICATE/ { n++; f = dir "/" n ".pem" } f { print > f } /END CERTIFICATE/ { close(f); f = "" }' "$1"
	for f in "$2"/*.pem; do mv "$f" "$2/$(sha256sum <"$f" | cut -c1-16).pem"; done
}
rm -rf "$work/ca" && split_pems /etc/ssl/certs/ca-certificates.crt "$work/ca/host" &&
	split_pems "$root/etc/ssl/certs/ca-certificates.crt" "$work/ca/root"
for f in "$work/ca/host"/*.pem; do
	[ -e "$work/ca/root/${f##*/}" ] || cp "$f" "$root/usr/local/share/ca-certificates/host-${f##*/}.crt"
done
chroot "$root" update-ca-certificates >/dev/null 2>&1
# Packages installed in a chroot must not start their services (mosquitto).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
done_step

step "copy Go ($(go env GOVERSION)) and clone HEAD ($(git rev-parse --short HEAD))"
cp -a "$(go env GOROOT)" "$root/usr/local/go"
git clone --quiet --no-hardlinks "$repo" "$root$home"
done_step

mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount -t sysfs sysfs "$root/sys" && mounts+=("$root/sys")
bind /dev /dev
bind /dev/pts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm" && mounts+=("$root/dev/shm")
bind "$(go env GOMODCACHE)" /root/go/pkg/mod
bind "$(go env GOCACHE)" /root/.cache/go-build

step "go mod download (what go run fetches first)"
in_root "cd $home && go mod download" >"$work/modules.log" 2>&1 || die "go mod download failed; see $work/modules.log"
done_step

step "README demo command, 20 s, no network"
# The demo's own check, run inside the root: the screen answers, the
# embedded broker delivers the box's messages to a subscriber speaking raw
# MQTT 3.1.1 (nothing installed for it), and SIGINT stops it with 0.
demo_check=$(
	cat <<'EOF'
cd /root/gatescreen
out=/tmp/demo.out err=/tmp/demo.err
setsid bash -c "exec $DEMO_CMD" >"$out" 2>"$err" &
pid=$!
fail() { echo "$*"; echo "--- demo stdout"; cat "$out"; echo "--- demo stderr (last 20 lines)"; tail -n 20 "$err"; kill -KILL -- -"$pid" 2>/dev/null; exit 1; }
for _ in $(seq 1800); do grep -q 'mosquitto_sub' "$out" && break; kill -0 "$pid" 2>/dev/null || fail "demo exited before its welcome"; sleep 0.1; done
grep -q 'mosquitto_sub' "$out" || fail "no welcome within 180 s"
screen=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$out" | head -n1)
port=${screen##*:}
exec 3<>/dev/tcp/127.0.0.1/"$port"
printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$port" >&3
page=$(timeout 10 cat <&3 || true)
exec 3<&-
printf '%s' "$page" | head -n1 | grep -q ' 200 ' || fail "screen $screen answered: $(printf '%s' "$page" | head -n1)"
printf '%s' "$page" | grep -q '<html' || fail "screen $screen sent no page"
mqtt_port=$(grep -o 'mosquitto_sub -h [^ ]* -p [0-9]*' "$out" | awk '{print $5}')
exec 3<>/dev/tcp/127.0.0.1/"$mqtt_port"
# CONNECT (MQTT 3.1.1, clean session, client id "fresh-machine"), then
# SUBSCRIBE to gatescreen/v1/# at QoS 0.
printf '\x10\x19\x00\x04MQTT\x04\x02\x00\x3c\x00\x0dfresh-machine' >&3
printf '\x82\x14\x00\x01\x00\x0fgatescreen/v1/#\x00' >&3
timeout 20 cat <&3 >/tmp/mqtt.bin || true
exec 3<&-
readings=$(grep -a -o 'gatescreen/v1/[^"]*/readings' /tmp/mqtt.bin | wc -l)
[ "$readings" -gt 0 ] || fail "no readings published on the embedded broker in 20 s ($(wc -c </tmp/mqtt.bin) bytes received)"
# Ctrl-C in a terminal interrupts the go command too, which then exits 1
# whatever its program did (cmd/go's builder); SIGINT goes to the demo's
# own process, and go run passes its exit status on.
demo_pid=$(cat /proc/"$pid"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 . || true)
[ -n "$demo_pid" ] || fail "go run has no child process"
kill -INT "$demo_pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "demo exited $rc on SIGINT, want 0"
echo "$readings readings messages received"
EOF
)
# unshare: a network namespace with only loopback, so the demo needs no
# network and its fixed ports (8080, 1883) cannot meet anything of the host's.
demo_cmd=$(readme_command 'go run ./cmd/gatescreen demo')
demo_out=$(DEMO_CMD=$demo_cmd unshare --net -- /bin/bash -c 'ip link set lo up && exec "$@"' _ \
	chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 DEMO_CMD="$demo_cmd" \
	PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	/bin/bash -uo pipefail -c "$demo_check" 2>&1) || { echo; echo "$demo_out"; die "the README's demo command failed"; }
printf '%4d s  (%s)\n' $((SECONDS - step_start)) "$demo_out"

test_cmd=$(readme_command 'scripts/test.sh')
step "README test command: CI=true $test_cmd"
in_root "cd $home && $test_cmd" >"$work/test.log" 2>&1 || {
	echo; tail -n 40 "$work/test.log"; die "the README's test command failed; the whole log is $work/test.log"
}
done_step

step "a package left out of the install list is named"
# The dependency check must catch what the suite would otherwise skip or
# fail on obscurely: purge one package, leave it out, and read the message.
dropped=python3-serial-asyncio
in_root "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $dropped >/dev/null" >"$work/drop.log" 2>&1 || die "could not purge $dropped; see $work/drop.log"
if in_root "cd $home && DEPS_WITHOUT=$dropped scripts/deps.sh" >"$work/drop.log" 2>&1; then
	die "scripts/deps.sh passed without $dropped"
fi
grep -q "MISSING $dropped" "$work/drop.log" || { cat "$work/drop.log"; die "the failure does not name $dropped"; }
done_step

echo "fresh-machine: passed in $((SECONDS - started)) s"
