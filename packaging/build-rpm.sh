#!/bin/sh
# Build the RPM packages fastsocket, fastsocket-dkms (and
# fastsocket-debuginfo) and the source RPM from this tree.
#
#   packaging/build-rpm.sh   -> build/packages/fastsocket-<ver>-<rel>.x86_64.rpm,
#                               fastsocket-dkms-<ver>-<rel>.noarch.rpm,
#                               fastsocket-debuginfo-<ver>-<rel>.x86_64.rpm,
#                               fastsocket-<ver>-<rel>.src.rpm
#
# Makes a source tarball of the tree (tracked and untracked, not ignored
# files), fills packaging/rpm/fastsocket.spec's @VERSION@ (VERSION),
# @RELEASE@ and @MAINTAINER@ (packaging/common/package.conf) and @DATE@,
# then rpmbuild -ba in a temporary _topdir.
#
# On a host whose rpm lacks the standard Fedora macros (%cmake,
# %systemd_post, ...: Debian), packaging/rpm/macros.debian-host supplies
# them.  --nodeps: on Debian, rpmbuild checks BuildRequires against the rpm
# database, which is empty (the real build dependencies are Debian packages
# installed by scripts/install-deps.sh), so the check can only fail.  On an
# RPM distribution run rpmbuild without --nodeps (FASTSOCKET_RPM_NODEPS=0).
#
# Environment: FASTSOCKET_PKG_OUT (default build/packages),
#              FASTSOCKET_RPM_NODEPS (default 1), FASTSOCKET_RPM_RELEASE (default
#              RELEASE of packaging/common/package.conf).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=packaging/common/package.conf
. "$top/packaging/common/package.conf"
# Another Release: for the upgrade test of the scriptlets (tests/install/rpm-scriptlets.sh).
RELEASE=${FASTSOCKET_RPM_RELEASE:-$RELEASE}
ver=$(cat "$top/VERSION")
out=${FASTSOCKET_PKG_OUT:-$top/build/packages}
nodeps=${FASTSOCKET_RPM_NODEPS:-1}
command -v rpmbuild >/dev/null || { echo "build-rpm: rpmbuild missing: apt install rpm" >&2; exit 1; }
# The template names the build directory: tests/install/run.sh greps the
# packaged files for it.
work=$(mktemp -d /tmp/fastsocket-rpm.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/SOURCES" "$work/SPECS" "$work/stage/fastsocket-$ver" "$out"
cd "$top"
if git rev-parse --git-dir >/dev/null 2>&1; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null |
		tar -C "$work/stage/fastsocket-$ver" -xf -
else
	SOURCE_DATE_EPOCH=$(date +%s)
	tar --exclude=./build --exclude=./.cache --exclude=./.git -cf - . |
		tar -C "$work/stage/fastsocket-$ver" -xf -
fi
export SOURCE_DATE_EPOCH
tar -C "$work/stage" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 \
	--numeric-owner -cf - "fastsocket-$ver" | gzip -9n >"$work/SOURCES/fastsocket-$ver.tar.gz"

spec="$work/SPECS/fastsocket.spec"
sed -e "s|@VERSION@|$ver|g" -e "s|@RELEASE@|$RELEASE|g" \
	-e "s|@MAINTAINER@|$MAINTAINER|g" \
	-e "s|@DATE@|$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')|g" \
	"$top/packaging/rpm/fastsocket.spec" >"$spec"
if [ -n "$HOMEPAGE" ]; then
	sed -i "/^License:/a URL:            $HOMEPAGE" "$spec"
fi

set -- -ba --define "_topdir $work" --define "packager $MAINTAINER"
[ "$nodeps" = 1 ] && set -- "$@" --nodeps
if [ "$(rpm --eval '%cmake')" = "%cmake" ]; then
	set -- "$@" --load "$top/packaging/rpm/macros.debian-host"
fi
echo "build-rpm: rpmbuild $* $spec"
rpmbuild "$@" "$spec"
rm -f "$out"/fastsocket-*.rpm
find "$work/RPMS" "$work/SRPMS" -name '*.rpm' -exec mv {} "$out/" \;
echo "build-rpm: packages in $out:"
ls -l "$out"/*.rpm
