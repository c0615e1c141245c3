#!/bin/sh
# /init of the rig's initramfs (copied by tests/vm/run).  Mounts the basic
# filesystems, brings lo up, runs /suite.sh under timeout, prints
# RESULT=<rc>, reports rc through isa-debug-exit and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm /tmp /run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# The initramfs root is already writable; a tmpfs over /tmp or /run would
# hide host files the suite copied there (a build tree under /tmp).
for d in /tmp /run; do
	[ -n "$(ls -A $d)" ] || mount -t tmpfs tmpfs $d
done
mkdir -p /run/lock /var/run /var/log /var/tmp
[ -d /sys/kernel/debug ] && mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ip link set lo up

FS_PARAMS=
FS_TIMEOUT=300
FS_NIC_QUEUES=0
FS_SUITE=
FS_KERNEL=
FS_KO=/lib/fastsocket/fastsocket.ko
# shellcheck disable=SC1091
. /etc/fs-rig.env
FS_BIN=/opt/fs/bin
FS_NCPU=$(grep -c '^processor' /proc/cpuinfo)
export FS_KO FS_BIN FS_PARAMS FS_NCPU

# fs_load NAME: load an extra module with its dependencies.
fs_load() {
	modprobe "$1" 2>/dev/null && return 0
	# Fallback without modules.dep: everything in load order.
	while read -r m; do
		[ -d "/sys/module/${m%.ko}" ] || insmod "/lib/modules-extra/$m" 2>/dev/null
	done </lib/modules-extra/order
	[ -d "/sys/module/$(echo "$1" | tr - _)" ]
}

if [ "$FS_NIC_QUEUES" -gt 0 ]; then
	if fs_load virtio_pci && fs_load virtio_net; then
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -d /sys/class/net/eth0 ] && break
			sleep 0.2
		done
		ip link set eth0 up 2>/dev/null
	else
		echo "rig: could not load virtio_net for --nic-queues" >&2
	fi
fi

echo "rig: kernel $FS_KERNEL $(uname -r), $FS_NCPU CPUs, suite $FS_SUITE, timeout ${FS_TIMEOUT}s, params '$FS_PARAMS'"
start=$(date +%s)
cd /tmp || exit 1
timeout -k 10 "$FS_TIMEOUT" sh /suite.sh
rc=$?
end=$(date +%s)
if [ "$rc" -eq 143 ] || [ "$rc" -eq 137 ]; then
	echo "rig: suite stopped by timeout after $((end - start))s (limit ${FS_TIMEOUT}s)"
fi
echo "rig: suite finished in $((end - start))s"
echo "RESULT=$rc"
sync
sleep 0.5
# isa-debug-exit (iobase 0xf4): QEMU exits with (code << 1) | 1.
code=$((rc & 255))
# shellcheck disable=SC2059
printf "\\$(printf '%03o' "$code")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
poweroff -f
