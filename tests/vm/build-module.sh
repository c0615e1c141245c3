#!/bin/bash
# build-module.sh [--testmod] [--force] NAME
#
# Default: build fastsocket.ko through DKMS inside the build root of kernel
# NAME (stage the source with dkms/stage-source.sh into
# /usr/src/fastsocket-<VERSION>, then dkms remove/add/build/install -k KVER)
# and copy it to $CACHE/out/NAME/fastsocket.ko (decompressed).
# --testmod: build the rig's self-test module tests/vm/rig/testmod with
# plain kbuild instead, into $CACHE/out/NAME/fs_rig_test.ko.
#
# Fails, printing the build log, on a compile error and on any compiler or
# modpost warning.  A build is skipped when the same source was already
# built for the same KVER (--force rebuilds).  Prints the module's path.
# --out FILE: also copy the module to FILE while holding the build lock (a
# concurrent rebuild for another caller cannot swap it underneath).
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { echo "usage: $0 [--testmod] [--force] [--out FILE] NAME   (NAME: $ALL_KERNELS)" >&2; exit 2; }
TESTMOD=0
FORCE=0
COPY_TO=
NAME=
while [ $# -gt 0 ]; do
	case "$1" in
	--testmod) TESTMOD=1 ;;
	--force) FORCE=1 ;;
	--out) COPY_TO=${2:?--out needs a file}; shift ;;
	-h | --help) usage ;;
	-*) echo "unknown option $1" >&2; usage ;;
	*) [ -z "$NAME" ] || usage; NAME=$1 ;;
	esac
	shift
done
[ -n "$NAME" ] || usage
catalogue "$NAME"
need_root_user
"$VM_DIR/make-root.sh" "$NAME" >/dev/null
ROOT=$(root_dir "$NAME")
KVER=$(cat "$ROOT/.fs-root-ok")
OUT=$(out_dir "$NAME")
mkdir -p "$OUT"

# src_hash DIR: a hash of every file under DIR (names and contents) + KVER.
src_hash() {
	(
		cd "$1"
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
		echo "$KVER"
	) | sha256sum | cut -d' ' -f1
}

# check_log LOG WHAT: fail if LOG shows a compiler or modpost warning.
check_log() {
	local log=$1 what=$2
	if grep -Eiq 'warning:' "$log"; then
		echo "---- $what: warnings in $log ----" >&2
		cat "$log" >&2
		echo "---- $what: $(grep -Eic 'warning:' "$log") warning line(s) ----" >&2
		die "$NAME ($KVER): $what built with warnings"
	fi
}

# copy_ko SRC DEST: copy a module, decompressing .ko.xz/.ko.zst/.ko.gz.
# Writes DEST.tmp and renames it, so readers never see a partial file.
copy_ko() {
	case "$1" in
	*.ko.xz) xz -dc "$1" >"$2.tmp" ;;
	*.ko.zst) zstd -q -dc "$1" >"$2.tmp" ;;
	*.ko.gz) gzip -dc "$1" >"$2.tmp" ;;
	*.ko) cp "$1" "$2.tmp" ;;
	*) die "unexpected module file $1" ;;
	esac
	mv -f "$2.tmp" "$2"
}

build_testmod() {
	local src=/var/tmp/fs-rig-testmod hash log
	rm -rf "${ROOT:?}$src"
	mkdir -p "$ROOT$src"
	cp "$VM_DIR"/rig/testmod/Kbuild "$VM_DIR"/rig/testmod/*.c "$ROOT$src/"
	hash=$(src_hash "$ROOT$src")
	if [ "$FORCE" -eq 0 ] && [ -f "$OUT/fs_rig_test.ko" ] &&
		[ "$(cat "$OUT/fs_rig_test.ko.hash" 2>/dev/null)" = "$hash" ]; then
		return 0
	fi
	log=$OUT/fs_rig_test.build.log
	log "$NAME: building the rig self-test module for $KVER"
	# objtool (7.x) needs /proc inside the root.
	trap chroot_umount EXIT
	chroot_mount "$ROOT"
	if ! in_root "$ROOT" make -C "/lib/modules/$KVER/build" M="$src" modules >"$log" 2>&1; then
		cat "$log" >&2
		die "$NAME ($KVER): the self-test module failed to compile (log: $log)"
	fi
	chroot_umount
	trap - EXIT
	check_log "$log" "fs_rig_test"
	copy_ko "$ROOT$src/fs_rig_test.ko" "$OUT/fs_rig_test.ko"
	echo "$hash" >"$OUT/fs_rig_test.ko.hash"
}

build_dkms() {
	local ver src hash log ko mlog mv="-m fastsocket"
	ver=$(tr -d '[:space:]' <"$REPO/VERSION")
	[ -n "$ver" ] || die "empty VERSION file"
	[ -f "$REPO/src/kernel/Kbuild" ] || [ -f "$REPO/src/kernel/Makefile" ] ||
		die "no src/kernel/Kbuild yet: the module source is missing (use --testmod for the rig self-test)"
	src=/usr/src/fastsocket-$ver
	rm -rf "${ROOT:?}$src"
	mkdir -p "$ROOT$src"
	# stage-source.sh may return non-zero from its last optional copy, so
	# judge the staged tree rather than its exit status.
	"$REPO/dkms/stage-source.sh" "$ROOT$src" || true
	if [ ! -f "$ROOT$src/dkms.conf" ] || ! ls "$ROOT$src"/src/kernel/*.c >/dev/null 2>&1; then
		die "dkms/stage-source.sh did not stage dkms.conf and the kernel sources into $ROOT$src"
	fi
	hash=$(src_hash "$ROOT$src")
	if [ "$FORCE" -eq 0 ] && [ -f "$OUT/fastsocket.ko" ] &&
		[ "$(cat "$OUT/fastsocket.ko.hash" 2>/dev/null)" = "$hash" ]; then
		return 0
	fi
	# The old module stays until the new one replaces it; without a matching
	# hash nobody takes it for this source.
	rm -f "$OUT/fastsocket.ko.hash"
	log=$OUT/dkms.log
	log "$NAME: dkms build fastsocket/$ver for $KVER (log: $log)"
	trap chroot_umount EXIT
	chroot_mount "$ROOT"
	{
		# shellcheck disable=SC2086
		if [ -n "$(in_root "$ROOT" dkms status $mv -v "$ver" 2>/dev/null)" ]; then
			in_root "$ROOT" dkms remove $mv -v "$ver" --all || true
		fi
		# Whatever an interrupted build left behind goes too (throw-away root),
		# and a module left in updates/dkms makes dkms install refuse to
		# replace it.
		rm -rf "$ROOT/var/lib/dkms/fastsocket"
		rm -f "$ROOT/lib/modules/$KVER/updates/dkms"/fastsocket.ko*
		# shellcheck disable=SC2086
		in_root "$ROOT" dkms add $mv -v "$ver" &&
			in_root "$ROOT" dkms build $mv -v "$ver" -k "$KVER" &&
			in_root "$ROOT" dkms install $mv -v "$ver" -k "$KVER" --force
	} >"$log" 2>&1 || {
		cat "$log" >&2
		if [ -f "$ROOT/var/lib/dkms/fastsocket/$ver/build/make.log" ]; then
			echo "---- make.log ----" >&2
			cat "$ROOT/var/lib/dkms/fastsocket/$ver/build/make.log" >&2
		fi
		die "$NAME ($KVER): DKMS build of fastsocket failed"
	}
	chroot_umount
	trap - EXIT
	# After a successful build DKMS keeps the log under KVER/ARCH/log/.
	mlog=$(find "$ROOT/var/lib/dkms/fastsocket/$ver/$KVER" -name make.log 2>/dev/null | head -n 1)
	[ -n "$mlog" ] || mlog=$ROOT/var/lib/dkms/fastsocket/$ver/build/make.log
	[ -f "$mlog" ] || die "$NAME ($KVER): DKMS left no make.log to check for warnings"
	cp "$mlog" "$OUT/make.log"
	check_log "$OUT/make.log" "fastsocket (DKMS make.log)"
	ko=$(find "$ROOT/lib/modules/$KVER/updates" -name 'fastsocket.ko*' 2>/dev/null | head -n 1)
	[ -n "$ko" ] || die "$NAME ($KVER): dkms install left no fastsocket.ko under /lib/modules/$KVER/updates"
	copy_ko "$ko" "$OUT/fastsocket.ko"
	echo "$hash" >"$OUT/fastsocket.ko.hash"
}

# build_and_copy BUILD-FUNCTION MODULE-FILE
build_and_copy() {
	"$1"
	if [ -n "$COPY_TO" ]; then
		cp "$2" "$COPY_TO"
	fi
}

if [ "$TESTMOD" -eq 1 ]; then
	with_lock "$CACHE/locks/build-$NAME.lock" build_and_copy build_testmod "$OUT/fs_rig_test.ko"
	echo "$OUT/fs_rig_test.ko"
else
	with_lock "$CACHE/locks/build-$NAME.lock" build_and_copy build_dkms "$OUT/fastsocket.ko"
	echo "$OUT/fastsocket.ko"
fi
