#!/bin/sh
# Build the Debian packages fastsocket and fastsocket-dkms from this tree.
#
#   packaging/build-deb.sh            -> build/packages/*.deb
#
# Copies the source tree (tracked and untracked, not ignored files) to a
# temporary directory, puts packaging/debian there as debian/, writes
# debian/changelog with the version from VERSION, and runs
# dpkg-buildpackage -b -us -uc.  Needs the build dependencies of
# packaging/debian/control (scripts/install-deps.sh installs them).
#
# Environment:
#   FASTSOCKET_DEB_VERSION  package version (default: contents of VERSION);
#                           the install test uses it to build an upgrade
#   FASTSOCKET_PKG_OUT      output directory (default: build/packages)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ver=${FASTSOCKET_DEB_VERSION:-$(cat "$top/VERSION")}
out=${FASTSOCKET_PKG_OUT:-$top/build/packages}
work=$(mktemp -d /tmp/fastsocket-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src="$work/fastsocket-$ver"

mkdir -p "$src" "$out"
cd "$top"
if git rev-parse --git-dir >/dev/null 2>&1; then
	# Every file git knows of or would add, minus build output.
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$src" -xf -
else
	tar --exclude=./build --exclude=./.cache --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -a "$top/packaging/debian" "$src/debian"
chmod +x "$src/debian/rules"
date=$(date -R)
cat >"$src/debian/changelog" <<EOC
fastsocket ($ver) unstable; urgency=medium

  * Build of fastsocket $ver from $(git -C "$top" describe --always --dirty 2>/dev/null || echo "an unversioned tree").

 -- Fastsocket maintainers <fastsocket@localhost>  $date
EOC

cd "$src"
echo "build-deb: building fastsocket $ver in $src"
dpkg-buildpackage -b -us -uc -j"$(nproc)"
for f in "$work"/*.deb; do
	[ -e "$f" ] || { echo "build-deb: no .deb produced" >&2; exit 1; }
done
rm -f "$out"/fastsocket_*.deb "$out"/fastsocket-dkms_*.deb "$out"/fastsocket-dbgsym_*.deb
mv "$work"/*.deb "$out/"
mv "$work"/*.buildinfo "$work"/*.changes "$out/" 2>/dev/null || true
echo "build-deb: packages in $out:"
ls -l "$out"/*.deb
