#!/bin/sh
# Fuzz suite (guest side, busybox sh): random ioctls against /dev/fastsocket
# from 4 threads (tests/vm/guest/fuzz/fuzz_ioctl.c), then every fd closed and
# the module unloaded.  Fails on a kernel report in dmesg (oops, WARN, BUG,
# KASAN, UBSAN, lockdep, refcount, leak, hung task), a fuzzer that does not
# finish in time (a hung ioctl) and an rmmod that fails.  The rig's
# panic_on_warn=1 oops=panic turn the worst of these into a dead guest.
#
# Knobs, given on the kernel command line (tests/vm/run --append, the kernel
# hands unknown name=value words to /init's environment):
#   FS_FUZZ_SEED=N      the seed (default 1: CI runs are reproducible;
#                       FS_FUZZ_SEED=random picks one, printed either way)
#   FS_FUZZ_IOCTLS=N    64-bit ioctls (default 100000; the 32-bit round does
#                       a tenth of that through compat_ioctl)
#   FS_FUZZ_LIMIT=S     seconds each round may take (default 800, guest
#                       time, which runs fast under TCG on a loaded host; a
#                       round is slow, not hung, while every thread advances:
#                       the fuzzer itself fails after 120 s without progress)
FS_KO=${FS_KO:-/lib/fastsocket/fastsocket.ko}
FS_BIN=${FS_BIN:-/opt/fs/bin}
SEED=${FS_FUZZ_SEED:-1}
IOCTLS=${FS_FUZZ_IOCTLS:-100000}
LIMIT=${FS_FUZZ_LIMIT:-800}
PARAM=/sys/module/fastsocket/parameters/enable_listen_spawn
fails=0
pass() { echo "PASS: fuzz: $*"; }
fail() { echo "FAIL: fuzz: $*"; fails=$((fails + 1)); }
loaded() { grep -q '^fastsocket ' /proc/modules; }

[ "$SEED" = random ] && SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
case "$SEED$IOCTLS$LIMIT" in
*[!0-9]*) fail "FS_FUZZ_SEED/IOCTLS/LIMIT must be numbers: '$SEED' '$IOCTLS' '$LIMIT'"; exit 1 ;;
esac

# Kernel reports that fail the suite (kernel messages only: the fuzzer's
# own output goes to the console, not to dmesg).
BAD='Oops|BUG:|kernel BUG|WARNING:|KASAN|UBSAN|lockdep|circular locking|inconsistent lock|possible recursive locking|refcount|leak|Call Trace|general protection|blocked for more than|sleeping function called|corruption|double free|use-after-free|stack-protector'

# load PARAMS...
load() {
	if ! insmod "$FS_KO" "$@"; then
		fail "insmod $*"
		return 1
	fi
	i=0
	while [ ! -c /dev/fastsocket ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# unload: rmmod once every fd is closed (the fuzzer has exited); sockets
# the module released may take a moment (RCU) to let go of it.
unload() {
	i=0
	while [ $i -lt 20 ]; do
		rmmod fastsocket 2>/tmp/rmmod.err && ! loaded && return 0
		sleep 0.5
		i=$((i + 1))
	done
	fail "rmmod fastsocket after the fuzzer exited: $(cat /tmp/rmmod.err), refcnt $(cat /sys/module/fastsocket/refcnt 2>/dev/null)"
	return 1
}

# toggle: flip enable_listen_spawn while the fuzzer runs, when the module
# lets root write it (ABI v2's off switch); v1 makes it read-only.
toggle() {
	n=0
	while :; do
		for m in 0 2 1 2; do
			{ echo $m >"$PARAM"; } 2>/dev/null && n=$((n + 1))
			sleep 0.3
		done
		echo "$n" >/tmp/toggles
	done
}

# sockets: the kernel's socket counters (all sockets, TCP in the hash
# tables, TCP orphans) from /proc/net/sockstat.
sockets() {
	awk '/^sockets:/ { s = $3 } /^TCP:/ { t = $3; o = $5 }
		END { printf "sockets used %d, TCP inuse %d, orphan %d", s, t, o }' /proc/net/sockstat
}

# settle ROW BEFORE: the third field of /proc/net/sockstat's ROW line once it
# is back to BEFORE or less, or its value after 10 s; printed.
settle() {
	i=0
	while :; do
		v=$(awk -v row="$1:" '$1 == row { print $3 }' /proc/net/sockstat)
		[ "$v" -le "$2" ] || [ $i -ge 20 ] && break
		sleep 0.5
		i=$((i + 1))
	done
	echo "$v"
}

# no_socket_left NAME: once the fuzzer is gone and the module unloaded, the
# kernel holds no more TCP sockets than before it (loopback connections end
# in TIME_WAIT, which is not counted); a socket the module kept is a leak.
no_socket_left() {
	now=$(settle TCP "$tcp_before")
	if [ "$now" -le "$tcp_before" ]; then
		pass "$1: no TCP socket left ($(sockets); before: TCP inuse $tcp_before)"
	else
		fail "$1: $((now - tcp_before)) TCP socket(s) left after rmmod: $(sockets)"
		cat /proc/net/tcp /proc/net/tcp6 | head -n 20
	fi
}

# no_socket_held NAME: with the fuzzer gone (every fd closed) and the
# module still loaded, every socket is freed within 10 s: a socket that
# lives on until rmmod is a leak for a module that stays loaded for months.
no_socket_held() {
	used=$(settle sockets "$used_before")
	if [ "$used" -le "$used_before" ]; then
		pass "$1: every socket freed with the module loaded ($(sockets))"
	else
		fail "$1: $((used - used_before)) socket(s) still allocated 10 s after the fuzzer exited, module loaded: $(sockets)"
	fi
}

# round NAME BINARY IOCTLS PARAMS...: one load / fuzz / unload cycle.
round() {
	name=$1 bin=$2 count=$3
	shift 3
	if [ ! -x "$bin" ]; then
		# The 32-bit build needs gcc-multilib; the 64-bit one always exists
		# after a build, so its absence must not read as a clean run.
		case $name in
		64-bit) fail "$name: $bin not built (build first: cmake --build)" ;;
		*) echo "SKIP: fuzz: $name: $bin not built" ;;
		esac
		return
	fi
	tcp_before=$(awk '/^TCP:/ { print $3 }' /proc/net/sockstat)
	used_before=$(awk '/^sockets:/ { print $3 }' /proc/net/sockstat)
	load "$@" || return
	mode=$(cat $PARAM)
	echo 0 >/tmp/toggles
	toggle &
	tpid=$!
	t0=$(date +%s)
	timeout -k 5 "$LIMIT" "$bin" -s "$SEED" -n "$count" -t 4 -w 120
	rc=$?
	t1=$(date +%s)
	kill $tpid 2>/dev/null
	wait $tpid 2>/dev/null
	{ echo "$mode" >"$PARAM"; } 2>/dev/null
	# busybox timeout passes on the child's status: 143 after its TERM.
	if [ $rc -eq 3 ]; then
		fail "$name: a fuzzer thread hung (its ioctl is in the HUNG lines above); blocked tasks:"
		echo w >/proc/sysrq-trigger 2>/dev/null
		return
	elif [ $rc -eq 124 ] || [ $rc -eq 137 ] || [ $rc -eq 143 ]; then
		fail "$name: fuzzer still running after ${LIMIT}s (too slow a host, or FS_FUZZ_LIMIT too small)"
		return
	elif [ $rc -ne 0 ]; then
		fail "$name: fuzzer exited $rc"
	else
		pass "$name: $count ioctls (seed $SEED, params '$*') in $((t1 - t0)) s, $(cat /tmp/toggles) runtime mode switches"
	fi
	echo "fuzz: $name: after the fuzzer: $(sockets)"
	no_socket_held "$name"
	unload && pass "$name: rmmod fastsocket"
	no_socket_left "$name"
}

echo "fuzz: kernel $(uname -r), $FS_NCPU CPUs, seed $SEED, $IOCTLS ioctls"
loaded && rmmod fastsocket
dmesg -c >/dev/null
round "64-bit" "$FS_BIN/fastsocket_fuzz_ioctl" "$IOCTLS" enable_listen_spawn=2 $FS_PARAMS
round "32-bit compat" "$FS_BIN/fastsocket_fuzz_ioctl32" $((IOCTLS / 10)) enable_listen_spawn=1 $FS_PARAMS

hits=$(dmesg | grep -E "$BAD")
if [ -n "$hits" ]; then
	fail "kernel reports in dmesg:"
	echo "$hits" | head -n 40
else
	pass "dmesg has no oops/WARN/BUG/KASAN/UBSAN/lockdep/refcount/leak report"
fi
echo "fuzz: last kernel messages:"
dmesg | tail -n 8
exit $fails
