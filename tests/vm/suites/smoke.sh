#!/bin/sh
# Smoke suite (guest side, run as /suite.sh by tests/vm/run).
#  1. rig self-test: load the rig's own module with a parameter, read its
#     device back, unload it.
#  2. FS_KO: insmod with FS_PARAMS; for fastsocket.ko check /dev/fastsocket
#     and /sys/module/fastsocket, then rmmod and check both are gone.
set -u
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# wait_node PATH: devtmpfs creates device nodes asynchronously.
wait_node() {
	i=0
	while [ ! -c "$1" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -c "$1" ]
}

echo "== rig self-test"
T=/lib/fastsocket/fs_rig_test.ko
if insmod "$T" value=1234; then
	ok "insmod $T value=1234"
	if wait_node /dev/fs_rig_test; then
		ok "/dev/fs_rig_test is a character device"
	else
		bad "/dev/fs_rig_test missing"
	fi
	line=$(cat /dev/fs_rig_test 2>&1)
	if [ "$line" = "fs-rig-test value=1234" ]; then
		ok "read back '$line'"
	else
		bad "read '$line', expected 'fs-rig-test value=1234'"
	fi
	if rmmod fs_rig_test && [ ! -e /dev/fs_rig_test ] && [ ! -d /sys/module/fs_rig_test ]; then
		ok "rmmod fs_rig_test"
	else
		bad "rmmod fs_rig_test left the module or its device behind"
	fi
else
	bad "insmod $T"
fi
n=0
while read -r m; do
	n=$((n + 1))
	[ -s "/lib/modules-extra/$m" ] || bad "extra module $m is empty"
done </lib/modules-extra/order
ok "$n extra modules present"
if modprobe veth && ip link add fsv0 type veth peer name fsv1 && ip link del fsv0; then
	ok "modprobe veth, veth pair created and deleted"
else
	bad "veth from /lib/modules-extra"
fi

if [ -d /sys/class/net/eth0 ]; then
	# tests/vm/run --nic-queues N: a multi-queue virtio-net NIC.
	rxq=$(find /sys/class/net/eth0/queues -maxdepth 1 -name 'rx-*' | wc -l)
	txq=$(find /sys/class/net/eth0/queues -maxdepth 1 -name 'tx-*' | wc -l)
	drv=$(basename "$(readlink /sys/class/net/eth0/device/driver)")
	ok "eth0 ($drv): $rxq rx / $txq tx queues, $(grep -c virtio /proc/interrupts) virtio interrupt lines"
	if echo f >/sys/class/net/eth0/queues/rx-0/rps_cpus &&
		[ "$(cat /sys/class/net/eth0/queues/rx-0/rps_cpus)" != 0 ]; then
		ok "RPS mask of eth0 rx-0 is writable"
	else
		bad "cannot write /sys/class/net/eth0/queues/rx-0/rps_cpus"
	fi
fi

echo "== $FS_KO (params: '$FS_PARAMS')"
name=$(basename "$FS_KO" .ko)
if [ ! -f "$FS_KO" ]; then
	bad "$FS_KO missing"
elif [ "$name" = fs_rig_test ]; then
	ok "FS_KO is the rig self-test module, already tested"
else
	# shellcheck disable=SC2086
	if insmod "$FS_KO" $FS_PARAMS; then
		ok "insmod $FS_KO $FS_PARAMS"
		if [ "$name" = fastsocket ]; then
			if wait_node /dev/fastsocket; then
				ok "/dev/fastsocket is a character device ($(ls -l /dev/fastsocket))"
			else
				bad "/dev/fastsocket missing after insmod"
			fi
			if [ -d /sys/module/fastsocket/parameters ]; then
				for p in /sys/module/fastsocket/parameters/*; do
					echo "   $(basename "$p")=$(cat "$p")"
				done
			else
				bad "/sys/module/fastsocket/parameters missing"
			fi
		fi
		if rmmod "$name"; then
			ok "rmmod $name"
			[ ! -d "/sys/module/$name" ] || bad "/sys/module/$name still present after rmmod"
			[ "$name" != fastsocket ] || [ ! -e /dev/fastsocket ] ||
				bad "/dev/fastsocket still present after rmmod"
		else
			bad "rmmod $name"
		fi
	else
		bad "insmod $FS_KO $FS_PARAMS"
	fi
fi

dmesg | grep -E 'fs_rig_test|fastsocket' | tail -n 20
echo "smoke: $fails failure(s)"
[ "$fails" -eq 0 ]
