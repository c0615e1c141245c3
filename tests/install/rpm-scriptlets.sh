#!/bin/bash
# tests/install/rpm-scriptlets.sh: run the RPM scriptlets for real (issue 13).
#
# No RPM-based root can be built here (no RPM distribution's packages are
# reachable), so the built RPMs are installed with `rpm --root` into a
# scratch copy of the Debian bookworm root of the install test (dkms,
# linux-headers-amd64, systemd: tests/install/make-root.sh), with --nodeps
# (the Requires: name Fedora packages, not Debian ones).  rpm runs every
# scriptlet chrooted in that root with its /bin/sh, dkms and systemctl:
#
#  1. install (release R): %post dkms builds and installs the module for
#     the root's kernel (dkms status: installed; the .ko under updates/dkms);
#     %post fastsocket: the systemd preset of the units
#  2. upgrade to release R+1 (a second build, FASTSOCKET_RPM_RELEASE): the
#     new %post runs before the old %preun, which must leave the module
#     installed (it removed it before: %preun now removes on erase only)
#  3. erase: %preun/%postun: no DKMS entry, no module, no /usr/src tree,
#     no /var/lib/fastsocket, no file of either package left
#
# Limits (docs/packaging.md): Debian's dkms and systemd, not Fedora's; no
# dnf transaction, no kernel-devel packages, no SELinux; the units are not
# started (a chroot has no running systemd).
#
#   sudo tests/install/rpm-scriptlets.sh
#
# RPMs from build/packages (FASTSOCKET_PKG_OUT); built with
# packaging/build-rpm.sh when missing (the bumped release always).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$HERE/../vm/lib.sh"
need_root_user
need_tools rpm rpmbuild chroot

BUILD=${FASTSOCKET_BUILD_DIR:-$REPO/build}
PKG_DIR=${FASTSOCKET_PKG_OUT:-$BUILD/packages}
VERSION=$(cat "$REPO/VERSION")
# shellcheck source=packaging/common/package.conf
. "$REPO/packaging/common/package.conf"
REL2=$((RELEASE + 1))
UP_DIR=$BUILD/packages-rel$REL2
PRISTINE=$(root_dir install-bookworm)
R=$BUILD/rpm-scriptlets-root
LOG=$BUILD/rpm-scriptlets.log
: >"$LOG"
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
cleanup() {
	chroot_umount
	rm -rf "$R"
}
trap cleanup EXIT

rpms() { ls "$1"/fastsocket-dkms-"$VERSION"-"$2".*noarch.rpm "$1"/fastsocket-"$VERSION"-"$2".*x86_64.rpm 2>/dev/null; }
if [ "$(rpms "$PKG_DIR" "$RELEASE" | wc -l)" != 2 ]; then
	log "building the RPMs (release $RELEASE)"
	FASTSOCKET_PKG_OUT=$PKG_DIR nice -n 19 "$REPO/packaging/build-rpm.sh" >>"$LOG" 2>&1 || die "build-rpm.sh failed ($LOG)"
fi
if [ "$(rpms "$UP_DIR" "$REL2" | wc -l)" != 2 ]; then
	log "building the RPMs (release $REL2)"
	FASTSOCKET_PKG_OUT=$UP_DIR FASTSOCKET_RPM_RELEASE=$REL2 nice -n 19 "$REPO/packaging/build-rpm.sh" >>"$LOG" 2>&1 ||
		die "build-rpm.sh (release $REL2) failed ($LOG)"
fi
mapfile -t RPM1 < <(rpms "$PKG_DIR" "$RELEASE")
mapfile -t RPM2 < <(rpms "$UP_DIR" "$REL2")

[ -d "$PRISTINE" ] || "$HERE/make-root.sh" >/dev/null || die "no install root ($PRISTINE)"
rm -rf "$R"
cp -a "$PRISTINE" "$R"
KVER=$(root_kver "$R")
chroot_mount "$R"
in_r() { in_root "$R" "$@"; }
rpm_r() { rpm --root "$R" --nodeps "$@" >>"$LOG" 2>&1; }
rpm --root "$R" --initdb
# the files of both packages, as rpm lists them (to check none is left)
rpm -qlp "${RPM1[@]}" 2>/dev/null | grep -v '^(contains no files)' | sort -u >"$BUILD/rpm-scriptlets.files"

# dkms_state: "installed" / other state of fastsocket/VERSION for KVER
dkms_state() { in_r dkms status -m fastsocket -v "$VERSION" -k "$KVER" 2>/dev/null; }
module_file() { ls "$R/lib/modules/$KVER/updates/dkms/"fastsocket.ko* 2>/dev/null; }

# 1. install
if rpm_r -ivh "${RPM1[@]}"; then ok "rpm -i ${RPM1[*]##*/}"; else bad "rpm -i (log $LOG)"; tail -20 "$LOG"; fi
check "install: dkms status says installed" grep -q ': installed' <<<"$(dkms_state)"
check "install: module in /lib/modules/$KVER/updates/dkms" test -n "$(module_file)"
check "install: DKMS source in /usr/src/fastsocket-$VERSION" test -f "$R/usr/src/fastsocket-$VERSION/dkms.conf"
# (not run: --nodeps leaves out the libraries the RPM Requires: under Fedora
# names, e.g. yaml-cpp, which the Debian root does not have)
check "install: /usr/bin/fastsocket and the private libfsocket.so installed" \
	test -x "$R/usr/bin/fastsocket" -a -n "$(ls "$R"/usr/lib*/fastsocket/libfsocket.so 2>/dev/null)"
check "install: both packages registered" test "$(rpm --root "$R" -q fastsocket fastsocket-dkms | grep -c "$VERSION-$RELEASE")" = 2

# 2. upgrade to the bumped release
if rpm_r -Uvh "${RPM2[@]}"; then ok "rpm -U to release $REL2"; else bad "rpm -U (log $LOG)"; tail -20 "$LOG"; fi
check "upgrade: both packages at release $REL2" test "$(rpm --root "$R" -q fastsocket fastsocket-dkms | grep -c "$VERSION-$REL2")" = 2
check "upgrade: the old %preun left the module the new %post built installed" \
	grep -q ': installed' <<<"$(dkms_state)"
check "upgrade: module still in updates/dkms" test -n "$(module_file)"

# 3. erase
if rpm_r -e fastsocket fastsocket-dkms; then ok "rpm -e"; else bad "rpm -e (log $LOG)"; tail -20 "$LOG"; fi
check "erase: no DKMS entry" test -z "$(in_r dkms status -m fastsocket 2>/dev/null)"
check "erase: no module file" test -z "$(module_file)"
check "erase: no /usr/src/fastsocket-$VERSION" test ! -e "$R/usr/src/fastsocket-$VERSION"
check "erase: no /var/lib/fastsocket, no /var/lib/dkms/fastsocket" test ! -e "$R/var/lib/fastsocket" -a ! -e "$R/var/lib/dkms/fastsocket"
left=$(while read -r f; do [ -e "$R$f" ] && [ ! -d "$R$f" ] && echo "$f"; done <"$BUILD/rpm-scriptlets.files")
[ -z "$left" ] && ok "erase: no packaged file left" || { echo "$left" | head; bad "erase: packaged files left"; }
echo "=== rpm scriptlets: $fails failure(s) (log $LOG)"
[ "$fails" = 0 ]
