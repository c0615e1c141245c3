#!/bin/sh
# Guest suite for fastsocket.ko (busybox sh).  The rig provides FS_KO (the
# module), FS_BIN (test binaries), FS_PARAMS (extra module parameters for
# the first load) and FS_NCPU.  Prints PASS/FAIL per step; exits non-zero
# if any step failed.
FS_KO=${FS_KO:-/lib/fastsocket/fastsocket.ko}
FS_BIN=${FS_BIN:-/opt/fs/bin}
fails=0
pass() { echo "PASS: module: $*"; }
fail() { echo "FAIL: module: $*"; fails=$((fails + 1)); }
loaded() { grep -q '^fastsocket ' /proc/modules; }
unload() { loaded && rmmod fastsocket; ! loaded; }

# load PARAMS...: insmod with the given parameters
load() {
	unload || { fail "cannot unload before loading '$*'"; return 1; }
	if insmod "$FS_KO" "$@"; then
		# devtmpfs creates the node asynchronously.
		i=0
		while [ ! -c /dev/fastsocket ] && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		return 0
	fi
	return 1
}

# gtests PARAMS [FILTER]: run the gtest binary with FS_PARAMS=PARAMS
gtests() {
	params=$1
	filter=${2:-*}
	if [ ! -x "$FS_BIN/fastsocket_module_test" ]; then
		fail "$FS_BIN/fastsocket_module_test missing"
		return
	fi
	if FS_PARAMS="$params" "$FS_BIN/fastsocket_module_test" \
		--gtest_filter="$filter" --gtest_color=no; then
		pass "gtests (params '$params', filter '$filter')"
	else
		fail "gtests (params '$params', filter '$filter')"
	fi
}

echo "module: kernel $(uname -r), $FS_NCPU CPUs, module $FS_KO"

# ---- 1. load with the rig's parameters (default: none) ----------------------
# shellcheck disable=SC2086
if load $FS_PARAMS; then
	pass "insmod with '$FS_PARAMS'"
	gtests "$FS_PARAMS"
	if [ -x "$FS_BIN/fastsocket_module_compat32" ]; then
		if "$FS_BIN/fastsocket_module_compat32"; then
			pass "32-bit compat_ioctl"
		else
			fail "32-bit compat_ioctl"
		fi
	else
		echo "SKIP: module: no 32-bit test binary"
	fi
else
	fail "insmod with '$FS_PARAMS'"
fi

# ---- 2. reload with non-default parameters ----------------------------------
nondefault="enable_fastsocket_debug=7 enable_listen_spawn=1 enable_receive_flow_deliver=1 enable_fast_epoll=0 enable_direct_tcp=1 enable_skb_pool=3 enable_receive_cpu_selection=1 enable_socket_pool_size=4096"
# shellcheck disable=SC2086
if load $nondefault; then
	pass "insmod with non-default parameters"
	ok=1
	for kv in $nondefault; do
		name=${kv%%=*}
		want=${kv#*=}
		got=$(cat "/sys/module/fastsocket/parameters/$name" 2>/dev/null)
		if [ "$got" != "$want" ]; then
			fail "sysfs $name is '$got', want '$want'"
			ok=0
		fi
	done
	[ $ok -eq 1 ] && pass "sysfs shows every non-default value"
	if dmesg | grep -q 'enable_direct_tcp=1: upstream equivalent is net.ipv4.tcp_early_demux'; then
		pass "non-default unimplemented parameter is reported at load"
	else
		fail "no load message for enable_direct_tcp=1"
	fi
	gtests "$nondefault"
else
	fail "insmod with non-default parameters"
fi

# ---- 2b. listen spawn off ---------------------------------------------------
if load enable_listen_spawn=0; then
	pass "insmod with enable_listen_spawn=0"
	gtests "enable_listen_spawn=0" "ListenSpawn.*:Device.*"
else
	fail "insmod with enable_listen_spawn=0"
fi

# ---- 2c. the run-time off switch: range-checked (root only: gtests) --------
if load; then
	sw=/sys/module/fastsocket/parameters/enable_listen_spawn
	if echo 3 >"$sw" 2>/dev/null; then
		fail "enable_listen_spawn accepted 3 at run time"
	else
		pass "enable_listen_spawn=3 refused at run time"
	fi
	if echo 0 >"$sw" && [ "$(cat "$sw")" = 0 ] && echo 2 >"$sw"; then
		pass "enable_listen_spawn switched off and on at run time"
	else
		fail "enable_listen_spawn cannot be switched at run time"
	fi
else
	fail "insmod for the off switch checks"
fi

# ---- 3. out-of-range values: the load fails and says why --------------------
unload || fail "rmmod before the range checks"
for spec in \
	"enable_fastsocket_debug 8 0..7" \
	"enable_fastsocket_debug -1 0..7" \
	"enable_listen_spawn 3 0, 1 or 2" \
	"enable_receive_flow_deliver 2 0 or 1" \
	"enable_fast_epoll -1 0 or 1" \
	"enable_direct_tcp 2 0 or 1" \
	"enable_skb_pool 4 0, 1, 2 or 3" \
	"enable_receive_cpu_selection 7 0 or 1" \
	"enable_socket_pool_size 65537 0..65536"; do
	# shellcheck disable=SC2086
	set -- $spec
	name=$1
	value=$2
	shift 2
	allowed=$*
	dmesg -c >/dev/null
	if insmod "$FS_KO" "$name=$value" 2>/dev/null; then
		fail "insmod accepted $name=$value"
		unload
		continue
	fi
	want="fastsocket: invalid value $value for parameter $name: allowed values are $allowed"
	if dmesg | grep -qF "$want"; then
		pass "$name=$value refused with '$want'"
	else
		fail "$name=$value refused, but dmesg lacks '$want':"
		dmesg | tail -n 5
	fi
	loaded && fail "module loaded after $name=$value"
done
dmesg -c >/dev/null
if insmod "$FS_KO" enable_listen_spawn=two 2>/dev/null; then
	fail "insmod accepted enable_listen_spawn=two"
	unload
else
	pass "non-numeric value refused"
fi

# ---- 4. no unload while the device is open -----------------------------------
if load; then
	sleep 1000 </dev/fastsocket &
	holder=$!
	sleep 0.5
	refcnt=$(cat /sys/module/fastsocket/refcnt)
	[ "$refcnt" = 1 ] && pass "refcnt 1 while the device is open" ||
		fail "refcnt is '$refcnt' while the device is open"
	if rmmod fastsocket 2>/tmp/rmmod.err; then
		fail "rmmod succeeded while /dev/fastsocket was open"
	else
		pass "rmmod refused while open: $(cat /tmp/rmmod.err)"
	fi
	loaded || fail "module gone while the device was open"
	kill "$holder"
	wait "$holder" 2>/dev/null
	if rmmod fastsocket && ! loaded; then
		pass "rmmod after the device was closed"
	else
		fail "rmmod after the device was closed"
	fi
else
	fail "insmod for the unload check"
fi

# ---- 4b. unload while listen groups and local listeners exist ----------------
if [ -x "$FS_BIN/fastsocket_module_holder" ] && load; then
	"$FS_BIN/fastsocket_module_holder" >/tmp/holder.out 2>&1 &
	holder=$!
	i=0
	while ! grep -q 'holder: ready' /tmp/holder.out && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if grep -q 'holder: ready' /tmp/holder.out; then
		if rmmod fastsocket && ! loaded; then
			pass "rmmod with a live group and a queued connection"
		else
			fail "rmmod with a live group"
		fi
	else
		fail "holder did not set up: $(cat /tmp/holder.out)"
	fi
	kill "$holder"
	wait "$holder" 2>/dev/null
	if load; then
		pass "insmod again after that"
		unload
	else
		fail "insmod again after unloading with live groups"
	fi
fi

# ---- 5. the kernel log stayed clean -----------------------------------------
if dmesg | grep -qE 'BUG:|WARNING:|Oops|Call Trace'; then
	fail "kernel log shows a problem"
	dmesg | grep -E -A5 'BUG:|WARNING:|Oops|Call Trace' | head -n 40
else
	pass "kernel log clean"
fi

echo "module: $fails failure(s)"
[ "$fails" -eq 0 ]
