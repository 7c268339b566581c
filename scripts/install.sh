#!/usr/bin/env bash
# Installs gatescreen on a Raspberry Pi (run as root on the box, from a
# checkout or an unpacked release that holds a built binary):
#   sudo scripts/install.sh ./gatescreen
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-./gatescreen}
[ -x "$bin" ] || { echo "usage: $0 PATH-TO-BINARY (build one with scripts/cross-build.sh)"; exit 2; }

id gatescreen >/dev/null 2>&1 || useradd --system --home-dir /var/lib/gatescreen --shell /usr/sbin/nologin gatescreen
for g in dialout i2c gpio; do getent group "$g" >/dev/null || groupadd --system "$g"; done
install -m 0755 "$bin" /usr/local/bin/gatescreen
install -m 0644 scripts/gatescreen.service /etc/systemd/system/gatescreen.service
install -d -m 0750 -o root -g gatescreen /etc/gatescreen
if [ ! -e /etc/gatescreen/gate.yaml ]; then
	install -m 0640 -o root -g gatescreen configs/gate.example.yaml /etc/gatescreen/gate.yaml
	echo "edit /etc/gatescreen/gate.yaml, then: gatescreen check-config -config /etc/gatescreen/gate.yaml"
fi
install -d -m 0755 /usr/share/doc/gatescreen && install -m 0644 README.md /usr/share/doc/gatescreen/
systemctl daemon-reload
/usr/local/bin/gatescreen check-config -config /etc/gatescreen/gate.yaml && systemctl enable --now gatescreen
