#!/bin/sh
# Build the Debian source package and the binary packages fastsocket and
# fastsocket-dkms from this tree.
#
#   packaging/build-deb.sh   -> build/packages/fastsocket_<ver>-<rel>.dsc,
#                               fastsocket_<ver>.orig.tar.gz,
#                               fastsocket_<ver>-<rel>.debian.tar.xz,
#                               fastsocket_<ver>-<rel>_amd64.deb,
#                               fastsocket-dkms_<ver>-<rel>_all.deb, ...
#
# Makes the upstream tarball fastsocket_<ver>.orig.tar.gz from the tree
# (tracked and untracked, not ignored files; reproducible: sorted, owner 0,
# mtime of the last commit), unpacks it in a temporary directory, puts
# packaging/debian there as debian/ with the metadata of
# packaging/common/package.conf filled in (maintainer, revision), writes
# debian/changelog and runs dpkg-buildpackage -us -uc (source "3.0 (quilt)"
# and binaries).  Needs the build dependencies of packaging/debian/control
# (scripts/install-deps.sh installs them).
#
# Environment:
#   FASTSOCKET_DEB_VERSION  upstream version (default: contents of VERSION);
#                           the package version is <it>-<RELEASE>
#   FASTSOCKET_PKG_OUT      output directory (default: build/packages)
#   FASTSOCKET_DEB_SOURCE_ONLY=1  only the source package (.dsc, tarballs):
#                           packaging/build-deb-suite.sh builds its binaries
#                           in a clean chroot of another Debian release
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=packaging/common/package.conf
. "$top/packaging/common/package.conf"
upver=${FASTSOCKET_DEB_VERSION:-$(cat "$top/VERSION")}
ver=$upver-$RELEASE
out=${FASTSOCKET_PKG_OUT:-$top/build/packages}
# The template names the build directory: tests/install/run.sh greps the
# installed files for it (no build path may end up in a package).
work=$(mktemp -d /tmp/fastsocket-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src="$work/fastsocket-$upver"

cd "$top"
if git rev-parse --git-dir >/dev/null 2>&1; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
	describe=$(git describe --always --dirty)
else
	SOURCE_DATE_EPOCH=$(date +%s)
	describe="an unversioned tree"
fi
export SOURCE_DATE_EPOCH

# ---- upstream tarball ---------------------------------------------------------
mkdir -p "$src" "$out"
if git rev-parse --git-dir >/dev/null 2>&1; then
	# Every file git knows of or would add, minus build output.
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$src" -xf -
else
	tar --exclude=./build --exclude=./.cache --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
rm -rf "$src/debian"
tar -C "$work" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 \
	--numeric-owner -cf - "fastsocket-$upver" | gzip -9n >"$work/fastsocket_$upver.orig.tar.gz"

# ---- debian/ --------------------------------------------------------------------
cp -a "$top/packaging/debian" "$src/debian"
chmod +x "$src/debian/rules"
for f in control copyright; do
	sed -i "s|@MAINTAINER@|$MAINTAINER|g" "$src/debian/$f"
done
if [ -n "$HOMEPAGE" ]; then
	sed -i "/^Standards-Version:/a Homepage: $HOMEPAGE" "$src/debian/control"
fi
cat >"$src/debian/changelog" <<EOC
fastsocket ($ver) unstable; urgency=medium

  * Package of fastsocket $upver, built from $describe.

 -- $MAINTAINER  $(date -R -d "@$SOURCE_DATE_EPOCH")
EOC

cd "$src"
echo "build-deb: building fastsocket $ver in $src"
if [ "${FASTSOCKET_DEB_SOURCE_ONLY:-0}" = 1 ]; then
	# -d: the build dependencies are those of the release that builds it
	dpkg-buildpackage -S -d -us -uc
	debs=
else
	dpkg-buildpackage -us -uc -j"$(nproc)"
	debs="$work/*.deb"
fi
for f in $debs "$work"/*.dsc; do
	[ -e "$f" ] || { echo "build-deb: no .deb or .dsc produced" >&2; exit 1; }
done
rm -f "$out"/fastsocket_*.deb "$out"/fastsocket-dkms_*.deb "$out"/fastsocket-dbgsym_*.deb \
	"$out"/fastsocket_*.dsc "$out"/fastsocket_*.orig.tar.* "$out"/fastsocket_*.debian.tar.* \
	"$out"/fastsocket_*.buildinfo "$out"/fastsocket_*.changes
# shellcheck disable=SC2086 # debs: a glob or nothing
mv $debs "$work"/*.dsc "$work"/*.orig.tar.gz "$work"/*.debian.tar.* \
	"$work"/*.buildinfo "$work"/*.changes "$out/"
echo "build-deb: packages in $out:"
ls -l "$out"/fastsocket*_"$ver"* "$out"/fastsocket_"$upver".orig.tar.gz
