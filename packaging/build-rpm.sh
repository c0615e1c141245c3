#!/bin/sh
# Build the RPM packages fastsocket and fastsocket-dkms from this tree.
#
#   packaging/build-rpm.sh            -> build/packages/*.rpm
#
# Makes a source tarball of the tree (tracked and untracked, not ignored
# files), then rpmbuild -bb packaging/rpm/fastsocket.spec in a temporary
# _topdir.  --nodeps: on Debian, rpmbuild checks BuildRequires against the
# rpm database, which is empty (the real build dependencies are Debian
# packages installed by scripts/install-deps.sh), so the check can only
# fail.  On an RPM distribution run rpmbuild without --nodeps
# (FASTSOCKET_RPM_NODEPS=0).
#
# Environment: FASTSOCKET_PKG_OUT (default build/packages),
#              FASTSOCKET_RPM_NODEPS (default 1).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(cat "$top/VERSION")
out=${FASTSOCKET_PKG_OUT:-$top/build/packages}
nodeps=${FASTSOCKET_RPM_NODEPS:-1}
work=$(mktemp -d /tmp/fastsocket-rpm.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v rpmbuild >/dev/null || { echo "build-rpm: rpmbuild missing: apt install rpm" >&2; exit 1; }

mkdir -p "$work/SOURCES" "$work/stage/fastsocket-$ver" "$out"
cd "$top"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null |
		tar -C "$work/stage/fastsocket-$ver" -xf -
else
	tar --exclude=./build --exclude=./.cache --exclude=./.git -cf - . |
		tar -C "$work/stage/fastsocket-$ver" -xf -
fi
tar -C "$work/stage" -czf "$work/SOURCES/fastsocket-$ver.tar.gz" "fastsocket-$ver"
cp "$top/VERSION" "$work/SOURCES/"

set -- -bb --define "_topdir $work" --define "fs_version $ver"
[ "$nodeps" = 1 ] && set -- "$@" --nodeps
echo "build-rpm: rpmbuild $* packaging/rpm/fastsocket.spec"
rpmbuild "$@" "$top/packaging/rpm/fastsocket.spec"
rm -f "$out"/fastsocket-*.rpm
find "$work/RPMS" -name '*.rpm' -exec mv {} "$out/" \;
echo "build-rpm: packages in $out:"
ls -l "$out"/*.rpm
