#!/bin/bash
# Shared helpers for the QEMU test rig (sourced by tests/vm/*.sh and tests/vm/run).
# shellcheck shell=bash

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
CACHE=${FASTSOCKET_VM_CACHE:-$REPO/.cache/vm}
MIRROR=${FASTSOCKET_VM_MIRROR:-http://deb.debian.org/debian}
SEC_MIRROR=${FASTSOCKET_VM_SEC_MIRROR:-http://deb.debian.org/debian-security}
ALL_KERNELS="5.10 6.1 6.12 sid"

log() { printf '[vm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }

# catalogue NAME -> sets SUITE and SOURCES (apt sources.list lines of the root).
# shellcheck disable=SC2034
catalogue() {
	local name=$1
	case "$name" in
	5.10)
		SUITE=bullseye
		SOURCES="deb $MIRROR bullseye main
deb $MIRROR bullseye-updates main
deb $SEC_MIRROR bullseye-security main"
		;;
	6.1)
		SUITE=bookworm
		SOURCES="deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SEC_MIRROR bookworm-security main"
		;;
	6.12)
		SUITE=trixie
		SOURCES="deb $MIRROR trixie main
deb $MIRROR trixie-updates main
deb $SEC_MIRROR trixie-security main"
		;;
	sid)
		SUITE=sid
		SOURCES="deb $MIRROR sid main"
		;;
	*)
		die "unknown kernel name '$name' (known: $ALL_KERNELS)"
		;;
	esac
}

root_dir() { echo "$CACHE/roots/$1"; }
kernel_dir() { echo "$CACHE/kernels/$1"; }
out_dir() { echo "$CACHE/out/$1"; }

# retry N CMD...: run CMD up to N times, sleeping between attempts.
retry() {
	local n=$1 i=1
	shift
	until "$@"; do
		if [ "$i" -ge "$n" ]; then
			log "failed after $n attempts: $*"
			return 1
		fi
		log "attempt $i of $n failed, retrying: $*"
		sleep $((i * 3))
		i=$((i + 1))
	done
}

# Bind mounts for chroot work.  chroot_mount ROOT records what it mounted in
# _VM_MOUNTS; chroot_umount undoes it (called from traps, so it never fails).
_VM_MOUNTS=()
chroot_mount() {
	local root=$1 m
	for m in proc sys dev dev/pts; do
		mkdir -p "$root/$m"
		if mountpoint -q "$root/$m"; then
			continue
		fi
		case "$m" in
		proc) mount -t proc proc "$root/proc" ;;
		sys) mount -t sysfs sys "$root/sys" ;;
		dev) mount --bind /dev "$root/dev" ;;
		dev/pts) mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" ;;
		esac
		_VM_MOUNTS=("$root/$m" "${_VM_MOUNTS[@]}")
	done
}
chroot_umount() {
	local m
	for m in "${_VM_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	_VM_MOUNTS=()
}

# in_root ROOT CMD...: run CMD inside the chroot with a clean environment.
in_root() {
	local root=$1
	shift
	chroot "$root" /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# install_in_root ROOT NAME PKGS LOG: apt-get update + install PKGS inside
# ROOT (3 attempts, output in LOG) with /proc, /sys and /dev mounted only
# for the duration, then apt-get clean; prints the KVER of the headers.
# Dies (after unmounting) when the packages cannot be installed.
install_in_root() {
	local root=$1 name=$2 pkgs=$3 logf=$4 kver
	trap chroot_umount EXIT
	chroot_mount "$root"
	log "$name: installing $pkgs (log: $logf)"
	# shellcheck disable=SC2086
	retry 3 in_root "$root" sh -c "apt-get update -q && apt-get install -y -q $pkgs" >"$logf" 2>&1 || {
		tail -n 30 "$logf" >&2
		die "$name: package installation failed (log: $logf)"
	}
	in_root "$root" apt-get clean
	kver=$(root_kver "$root")
	chroot_umount
	trap - EXIT
	echo "$kver"
}

# root_kver ROOT: the kernel release of the headers installed in ROOT
# (from the linux-headers-amd64 metapackage, never from uname -r).
root_kver() {
	local root=$1 dep
	# shellcheck disable=SC2016
	dep=$(in_root "$root" dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) ||
		die "linux-headers-amd64 is not installed in $root"
	# e.g. "linux-base-amd64 (= 7.2.13-1), linux-headers-7.2.13+deb14-amd64 (= 7.2.13-1)"
	dep=$(echo "$dep" | tr ',' '\n' | sed -n 's/^[[:space:]]*linux-headers-\([^ ]*\).*/\1/p' | head -n 1)
	if [ -z "$dep" ] || [ ! -d "$root/usr/src/linux-headers-$dep" ]; then
		die "cannot find the headers of '$dep' in $root"
	fi
	echo "$dep"
}

need_root_user() {
	[ "$(id -u)" -eq 0 ] || die "$(basename "$0") must run as root (chroot, mount, debootstrap)"
}

need_tools() {
	local t missing=""
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] || die "missing tools:$missing (run scripts/install-deps.sh)"
}

# with_lock FILE CMD...: serialise work on one cache entry between parallel runs.
with_lock() {
	local lock=$1
	shift
	mkdir -p "$(dirname "$lock")"
	(
		flock 9
		"$@"
	) 9>"$lock"
}

# stale_int3 LOG: did the guest kernel die of an int3 that is no longer in
# its text?  Under TCG a vCPU sometimes runs a translation of the int3 that
# live code patching (static keys, text_poke_bp) places and removes again,
# after the patch completed; the kernel then finds no patch in progress and
# oopses.  The oops's Code: line shows the bytes of memory at that moment:
# the byte before the trapping RIP (shown as <xx>) is the int3's address, and
# if it is not cc the int3 was already gone.  Seen on 7.2: sched_clock_cpu,
# enqueue_task_fair (booting), secure_ipv4_port_ephemeral (proxy suite).
# Nothing a module or a suite does can put a breakpoint in memory that is
# not there, so this signature alone is retried; any other oops fails.
stale_int3() {
	awk '/\] (Oops: )?int3: [0-9a-f]+ \[#/ { o = 1; next }
	     o && /\] Code: / {
		for (i = 1; i <= NF; i++) if ($i ~ /^<[0-9a-f][0-9a-f]>$/) { b = $(i - 1); break }
		exit
	     }
	     END { exit !(o && b != "" && b != "cc") }' "$1"
}

# vm_boot_once LOG OUT HOST_LIMIT BOOT_LIMIT QUIET CMD...: run the QEMU
# command CMD once, its serial console in LOG and its own output in OUT.
# Sets VM_QRC (CMD's exit status; 124 at HOST_LIMIT) and VM_HUNG=1 when
# the kernel did not reach /init within BOOT_LIMIT seconds: then QEMU is
# stopped at once instead of at the host limit (TCG can hang a booting SMP
# guest as it can oops it: 6.1 stopped for good after "sched_clock: Marking
# stable" in a CI run, 3 s into boot).  A kernel reaches /init in 3-8 s of
# guest time here; the limit only has to tell that from never.
vm_boot_once() {
	local log=$1 out=$2 host_limit=$3 boot_limit=$4 quiet=$5 qpid tpid t0
	shift 5
	rm -f "$log"
	VM_QRC=0
	VM_HUNG=0
	timeout --foreground -k 10 "$host_limit" "$@" </dev/null >"$out" 2>&1 &
	qpid=$!
	if [ "$quiet" -eq 0 ]; then
		# Stream the guest's console from /init on (suite output and the
		# kernel messages it causes) while QEMU runs.
		tail -n +1 -s 0.2 -F --pid="$qpid" "$log" 2>/dev/null |
			awk 'f { print; fflush() } /Run \/init as init process/ { f = 1 }' &
		tpid=$!
	fi
	t0=$SECONDS
	while kill -0 "$qpid" 2>/dev/null && ! grep -aq 'Run /init as init process' "$log" 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge "$boot_limit" ]; then
			VM_HUNG=1
			kill -TERM "$qpid" 2>/dev/null || true
			break
		fi
		sleep 0.5
	done
	wait "$qpid" || VM_QRC=$?
	if [ "$quiet" -eq 0 ]; then
		wait "$tpid" || true
	fi
}

# vm_boot LOG OUT HOST_LIMIT BOOT_LIMIT QUIET CMD...: vm_boot_once, and boot
# again when the guest failed in a way no module or suite can cause, which
# TCG does now and then: the kernel hung or died before /init (7.2: a stale
# int3 in sched_clock_cpu when late init switches the sched clock's static
# key; once in ~30 boots on a quiet host, 2 boots of 3 in a row in a CI run
# with a build beside it), or it oopsed on a stale int3 (above) at any
# point.  At most 4 more boots (a failed boot costs about 6 s, a hung one
# BOOT_LIMIT); every failed log is kept as LOG's name with .boot-failed.N,
# .boot-hung.N or .stale-int3.N.  Sets VM_QRC, VM_HUNG (of the last boot)
# and VM_RETRIED (what was retried, for the verdict line).
vm_boot() {
	local log=$1 boot_limit=$4 try why kept
	VM_RETRIED=""
	vm_boot_once "$@"
	for try in 1 2 3 4; do
		if [ "$VM_HUNG" -eq 1 ]; then
			why="the kernel did not reach /init within ${boot_limit}s"
			kept=${log%.log}.boot-hung.$try.log
			[ -f "$log" ] || : >"$log"
		elif [ ! -f "$log" ] || [ "$VM_QRC" -eq 124 ]; then
			break
		elif ! grep -aq 'Run /init as init process' "$log" && ! grep -aqE '^RESULT=' "$log"; then
			why="the kernel died before /init"
			kept=${log%.log}.boot-failed.$try.log
		elif stale_int3 "$log"; then
			why="the guest kernel oopsed on an int3 no longer in its text (TCG and live code patching)"
			kept=${log%.log}.stale-int3.$try.log
		else
			break
		fi
		mv "$log" "$kept"
		log "$why (log kept: $kept); booting again ($try of at most 4)"
		{ grep -aE '\] ((Oops: )?int3: |RIP: |Code: )' "$kept" || tail -n 1 "$kept"; } | head -n 3 | cut -c1-200 >&2 || true
		VM_RETRIED="${VM_RETRIED:+$VM_RETRIED; }retry $try after: $why, $kept"
		vm_boot_once "$@"
	done
}
