#!/bin/bash
# tests/install/make-root.sh: create (once) the pristine Debian bookworm root
# of the package install test, $CACHE/roots/install-bookworm (the rig's
# cache layout, tests/vm/lib.sh), and print its headers' KVER.
#
# The root holds what a customer machine has before our packages: minbase,
# dkms, linux-headers-amd64 and systemd (for systemd-analyze).  It is never
# modified after the stamp .fs-root-ok is written: tests/install/run.sh works
# on a copy, so every run starts clean.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/../vm/lib.sh"

NAME=install-bookworm
SUITE=bookworm
ROOT=$(root_dir "$NAME")
STAMP=$ROOT/.fs-root-ok
PKGS="dkms linux-headers-amd64 systemd udev kmod gcc make"
SOURCES="deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SEC_MIRROR bookworm-security main"

build_root() {
	local tmp=$ROOT.tmp kver
	[ -f "$STAMP" ] && return 0
	if [ -e "$tmp" ] || [ -e "$ROOT" ]; then
		awk -v a="$ROOT" '$2 == a || index($2, a) == 1 { print $2 }' /proc/mounts |
			sort -r | while read -r mp; do umount -l "$mp" || true; done
		rm -rf --one-file-system "$tmp" "$ROOT"
	fi
	mkdir -p "$(dirname "$ROOT")"
	log "$NAME: debootstrap --variant=minbase $SUITE (log: $ROOT.debootstrap.log)"
	retry 3 debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 || {
		tail -n 20 "$ROOT.debootstrap.log" >&2
		die "$NAME: debootstrap failed"
	}
	printf '%s\n' "$SOURCES" >"$tmp/etc/apt/sources.list"
	cat >"$tmp/etc/apt/apt.conf.d/90fastsocket-install-test" <<'CONF'
// Written by tests/install/make-root.sh.
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "3";
CONF
	# No daemon may start inside the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
	kver=$(install_in_root "$tmp" "$NAME" "$PKGS" "$ROOT.apt.log") || exit 1
	mv "$tmp" "$ROOT"
	echo "$kver" >"$STAMP"
	log "$NAME: pristine root ready, headers $kver"
}

need_root_user
need_tools debootstrap chroot mount flock
with_lock "$CACHE/locks/root-$NAME.lock" build_root
cat "$STAMP"
