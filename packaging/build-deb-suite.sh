#!/bin/sh
# Build the binary .debs for another Debian release (its library names
# differ: trixie has libyaml-cpp0.8 and libelf1t64 where bookworm has
# libyaml-cpp0.7 and libelf1) from the source package of this tree, in a
# clean chroot of that release, as a buildd would.
#
#   sudo packaging/build-deb-suite.sh trixie   -> build/packages/trixie/*.deb
#
# packaging/build-deb.sh makes the source package (FASTSOCKET_DEB_SOURCE_ONLY);
# one mmdebstrap run (variant buildd, root mode) creates the chroot in a
# temporary directory, unpacks the source there, installs its build
# dependencies with `apt-get build-dep`, runs dpkg-buildpackage -b, copies
# the results out and throws the chroot away.  The downloaded packages are
# kept in the cache (FASTSOCKET_VM_CACHE/debs/SUITE) for the next run.
#
# Environment: FASTSOCKET_PKG_OUT (default build/packages; the packages go
# to its subdirectory SUITE), FASTSOCKET_VM_MIRROR (default deb.debian.org).
set -eu
suite=${1:-}
case "$suite" in
bookworm | trixie | sid) ;;
*) echo "usage: $0 bookworm|trixie|sid" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "build-deb-suite: run as root (mmdebstrap --mode=root)" >&2; exit 1; }
top=$(cd "$(dirname "$0")/.." && pwd)
out=${FASTSOCKET_PKG_OUT:-$top/build/packages}/$suite
mirror=${FASTSOCKET_VM_MIRROR:-http://deb.debian.org/debian}
cache=${FASTSOCKET_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastsocket-vm}/debs/$suite
work=$(mktemp -d /tmp/fastsocket-deb-suite.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$cache" "$work/src" "$work/out"

FASTSOCKET_DEB_SOURCE_ONLY=1 FASTSOCKET_PKG_OUT=$work/src "$top/packaging/build-deb.sh" >"$work/source.log" 2>&1 ||
	{ tail -n 20 "$work/source.log" >&2; echo "build-deb-suite: source package failed" >&2; exit 1; }
dsc=$(ls "$work"/src/fastsocket_*.dsc)
echo "build-deb-suite: building $(basename "$dsc") in a clean $suite chroot"

# The hooks run on the host with the chroot as $1; `chroot "$1"` runs in it.
# shellcheck disable=SC2016 # $1 is mmdebstrap's, expanded by its hooks
mmdebstrap --mode=root --variant=buildd --skip=download/empty \
	--aptopt='APT::Install-Recommends "false"' \
	--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
	--setup-hook="sync-in $cache /var/cache/apt/archives" \
	--customize-hook='mkdir -p "$1/build"' \
	--customize-hook="sync-in $work/src /build" \
	--customize-hook='chroot "$1" sh -ec "cd /build && dpkg-source -x fastsocket_*.dsc src >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q ./src >/dev/null &&
		cd src && dpkg-buildpackage -b -us -uc -j$(nproc)" >"'"$work"'/binary.log" 2>&1' \
	--customize-hook='rm -rf "$1/build/src"' \
	--customize-hook="sync-out /build $work/out" \
	--customize-hook="sync-out /var/cache/apt/archives $cache" \
	"$suite" /dev/null "deb $mirror $suite main" >"$work/mmdebstrap.log" 2>&1 || {
	tail -n 30 "$work/binary.log" "$work/mmdebstrap.log" 2>/dev/null >&2
	echo "build-deb-suite: the $suite build failed" >&2
	exit 1
}
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mv "$work"/out/*.deb "$work"/out/*.buildinfo "$work"/out/*.changes "$out/"
echo "build-deb-suite: packages for $suite in $out:"
ls -l "$out"
