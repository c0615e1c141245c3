#!/bin/bash
# make-root.sh NAME: create (once) the debootstrap build root of kernel NAME
# under $CACHE/roots/NAME with gcc, make, dkms, kmod and linux-headers-amd64
# of that suite, and print the KVER of its headers.  Idempotent: the stamp
# file .fs-root-ok is written only when everything succeeded.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

PKGS="gcc make dkms kmod linux-headers-amd64 xz-utils zstd"

usage() { echo "usage: $0 NAME   (NAME: $ALL_KERNELS)" >&2; exit 2; }
[ $# -eq 1 ] || usage
NAME=$1
catalogue "$NAME"
ROOT=$(root_dir "$NAME")
STAMP=$ROOT/.fs-root-ok

# safe_rm DIR: unmount anything left below DIR, then delete it without
# crossing into other filesystems.
safe_rm() {
	local dir=$1 mp
	[ -e "$dir" ] || return 0
	dir=$(readlink -f "$dir")
	while read -r mp; do
		umount "$mp" 2>/dev/null || umount -l "$mp" || true
	done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r)
	if awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { f = 1 } END { exit !f }' /proc/mounts; then
		die "refusing to delete $dir: something is still mounted below it"
	fi
	rm -rf --one-file-system "$dir"
}

bootstrap() {
	local tmp=$ROOT.tmp
	safe_rm "$tmp"
	mkdir -p "$(dirname "$ROOT")"
	log "$NAME: debootstrap --variant=minbase $SUITE (log: $ROOT.debootstrap.log)"
	if ! debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1; then
		tail -n 20 "$ROOT.debootstrap.log" >&2
		safe_rm "$tmp"
		return 1
	fi
	mv "$tmp" "$ROOT"
	touch "$ROOT/.fs-debootstrap-ok"
}

configure() {
	printf '%s\n' "$SOURCES" >"$ROOT/etc/apt/sources.list"
	cat >"$ROOT/etc/apt/apt.conf.d/90fastsocket-rig" <<'CONF'
// Written by tests/vm/make-root.sh.
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "3";
// sid's Release file can be past its Valid-Until date on the mirror.
Acquire::Check-Valid-Until "false";
CONF
	# A throw-away build root: skip dpkg's fsyncs.
	echo force-unsafe-io >"$ROOT/etc/dpkg/dpkg.cfg.d/fastsocket-rig"
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}

build_root() {
	local kver
	if [ -f "$STAMP" ]; then
		return 0
	fi
	if [ ! -f "$ROOT/.fs-debootstrap-ok" ]; then
		safe_rm "$ROOT"
		retry 3 bootstrap
	fi
	configure
	kver=$(install_in_root "$ROOT" "$NAME" "$PKGS" "$ROOT.apt.log") || exit 1
	echo "$kver" >"$STAMP"
	log "$NAME: root ready, headers $kver"
}

need_root_user
need_tools debootstrap chroot mount flock
with_lock "$CACHE/locks/root-$NAME.lock" build_root
cat "$STAMP"
