#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dkms-all-kernels.sh - build and install a DKMS module for EVERY installed
# kernel that has its headers, and name the headers package of each kernel
# that has none.  Run by the fastsocket-dkms postinst (Debian, after
# dh_dkms's own step, which builds for the running and the newest kernel
# only) and %post (RPM); installed as
# /usr/share/fastsocket/dkms-all-kernels.sh.
#
# Usage:
#   dkms-all-kernels.sh [--headers-hint CMD] NAME VERSION
#
#   --headers-hint CMD  how to install a kernel's headers, with @KVER@ for the
#                       kernel version (default: "apt install linux-headers-@KVER@")
#
# Registers NAME/VERSION with `dkms add` when dkms does not know it yet.
# Every failure is reported on stderr with the log to read and the command
# to retry; nothing is hidden.  A kernel without headers is not a failure
# (DKMS builds for it when its headers are installed), and neither is a
# kernel the module's dkms.conf excludes (dkms exit 77).
#
# Exit status: 0 built (or nothing to build) for every kernel with headers;
# 1 `dkms add` failed; 2 the build failed for at least one kernel; 64 usage.
#
# FASTSOCKET_SYSROOT (default empty) is prepended to /lib/modules and /boot,
# so the kernel list can be tested against a fake tree; `dkms` is taken from
# PATH.

set -u

hint="apt install linux-headers-@KVER@"
while [ $# -gt 0 ]; do
	case "$1" in
	--headers-hint)
		[ $# -ge 2 ] || { echo "dkms-all-kernels: --headers-hint needs CMD" >&2; exit 64; }
		hint=$2
		shift 2
		;;
	-h|--help)
		sed -n '4,/^$/s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	--) shift; break ;;
	-*) echo "dkms-all-kernels: unknown option '$1' (see --help)" >&2; exit 64 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { echo "usage: dkms-all-kernels.sh [--headers-hint CMD] NAME VERSION" >&2; exit 64; }
name=$1
ver=$2
root=${FASTSOCKET_SYSROOT:-}
me="$name-dkms"

# Installed kernels: a /lib/modules/<ver> directory that still belongs to a
# kernel (a leftover of a removed kernel holds none of these).
kernels() {
	for d in "$root"/lib/modules/*; do
		[ -d "$d" ] || continue
		k=${d##*/}
		if [ -e "$d/build/include" ] || [ -e "$d/modules.dep" ] ||
			[ -e "$root/boot/vmlinuz-$k" ]; then
			echo "$k"
		fi
	done
}

if [ -z "$(dkms status -m "$name" -v "$ver" 2>/dev/null)" ]; then
	if ! dkms add -m "$name" -v "$ver"; then
		echo "$me: dkms add -m $name -v $ver FAILED: is /usr/src/$name-$ver complete?" >&2
		exit 1
	fi
fi

missing=""
failed=""
for k in $(kernels); do
	if [ ! -e "$root/lib/modules/$k/build/include" ]; then
		missing="$missing $k"
		continue
	fi
	if dkms status -m "$name" -v "$ver" -k "$k" 2>/dev/null | grep -q ': installed'; then
		continue
	fi
	echo "$me: building $name.ko for kernel $k"
	rc=0
	dkms install -m "$name" -v "$ver" -k "$k" || rc=$?
	case $rc in
	0) ;;
	77) echo "$me: kernel $k is excluded by the module's dkms.conf (too old); skipped" ;;
	*) failed="$failed $k" ;;
	esac
done

if [ -n "$missing" ]; then
	echo ""
	echo "$me: $name.ko was NOT built for these kernels, their"
	echo "  headers are not installed (no /lib/modules/<version>/build):"
	for k in $missing; do
		echo "    $k:  $(echo "$hint" | sed "s/@KVER@/$k/g")"
	done
	echo "  DKMS builds the module as soon as the headers package is installed."
	echo ""
fi
if [ -n "$failed" ]; then
	{
		echo ""
		echo "$me: the DKMS build FAILED for:$failed"
		for k in $failed; do
			echo "    kernel $k: log /var/lib/dkms/$name/$ver/build/make.log"
			echo "      retry: dkms install -m $name -v $ver -k $k"
		done
		echo ""
	} >&2
	exit 2
fi
exit 0
