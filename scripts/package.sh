#!/usr/bin/env bash
# Builds the Debian packages of gatescreen with nfpm (a Go tool of this
# module: go.mod's tool directive, no download at build time beyond modules):
#
#   scripts/package.sh [OUTDIR]     default dist/
#   ARCHES="amd64" scripts/package.sh   only these Debian architectures
#
# gives OUTDIR/gatescreen_<version>_{amd64,arm64,armhf}.deb. armhf carries
# the GOARM=6 build, which runs on every Raspberry Pi (Raspberry Pi OS's
# armhf is ARMv6) and on Debian's ARMv7 armhf. The version is the latest
# tag v<X.Y.Z> (with commits since it as +<n>.g<hash>), else
# 0.0.0+git<date>.<hash>; VERSION overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist}")
mkdir -p "$out"

if [ -z "${VERSION:-}" ]; then
	if desc=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
		# v1.2.3-4-gabcdef0 → 1.2.3+4.gabcdef0
		VERSION=$(printf '%s' "${desc#v}" | sed -E 's/-([0-9]+)-g/+\1.g/')
	else
		VERSION="0.0.0+git$(git log -1 --format=%cd --date=format:%Y%m%d).$(git rev-parse --short=12 HEAD)"
	fi
fi
export VERSION

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
vcs=-buildvcs=false
git rev-parse --git-dir >/dev/null 2>&1 && vcs=-buildvcs=true

cp scripts/package/nfpm.yaml scripts/package/postinst scripts/package/prerm scripts/package/postrm \
	scripts/package/copyright scripts/package/lintian-overrides README.md "$stage/"
cp configs/gate.minimal.yaml "$stage/gate.yaml"
cp configs/gate.example.yaml "$stage/gate.example.yaml"
# The package installs the binary as /usr/bin/gatescreen; scripts/install.sh
# keeps /usr/local/bin for a hand install.
sed 's#/usr/local/bin/gatescreen#/usr/bin/gatescreen#g' scripts/gatescreen.service >"$stage/gatescreen.service"
# The completion script lists the binary's commands: the host's build prints
# it for every architecture.
go build -o "$stage/host-gatescreen" ./cmd/gatescreen
"$stage/host-gatescreen" completion bash >"$stage/gatescreen.bash"
gzip -9n <scripts/package/gatescreen.1 >"$stage/gatescreen.1.gz"
{
	printf 'gatescreen (%s) unstable; urgency=medium\n\n' "$VERSION"
	printf '  * Built from commit %s.\n\n' "$(git rev-parse HEAD 2>/dev/null || echo unknown)"
	printf ' -- gatescreen developers <gatescreen@example.org>  %s\n' "$(git log -1 --format=%cD 2>/dev/null || date -R)"
} | gzip -9n >"$stage/changelog.gz"

# nfpm reads its files relative to the working directory: run the tool's
# binary (built by the go command, cached) in the staging directory.
nfpm=$(go tool -n nfpm)

build() { # nfpm-arch GOARCH GOARM deb-arch
	CGO_ENABLED=0 GOOS=linux GOARCH=$2 GOARM=$3 go build "$vcs" -trimpath \
		-ldflags "-s -w -X main.version=${VERSION}" -o "$stage/gatescreen" ./cmd/gatescreen
	local deb="$out/gatescreen_${VERSION}_$4.deb"
	(cd "$stage" && ARCH=$1 "$nfpm" package --config nfpm.yaml --packager deb --target "$deb" >/dev/null)
	printf '%-56s %s bytes\n' "$deb" "$(stat -c %s "$deb")"
}
for a in ${ARCHES:-amd64 arm64 armhf}; do
	case $a in
	amd64) build amd64 amd64 "" amd64 ;;
	arm64) build arm64 arm64 "" arm64 ;;
	armhf) build arm6 arm 6 armhf ;;
	*) echo "package: unknown architecture $a (amd64, arm64, armhf)" >&2; exit 2 ;;
	esac
done
