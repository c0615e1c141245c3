#!/bin/sh
# rig self-test: the environment, --params, .files and .d reach the guest.
set -u
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
[ "$FS_BIN" = /opt/fs/bin ] || bad "FS_BIN=$FS_BIN"
[ "$FS_NCPU" -eq "$(grep -c '^processor' /proc/cpuinfo)" ] || bad "FS_NCPU=$FS_NCPU"
[ -f "$FS_KO" ] || bad "FS_KO=$FS_KO missing"
[ "$(cat /etc/fs-suite/marker)" = "from env.d" ] || bad "/etc/fs-suite/marker"
# shellcheck disable=SC2086
insmod "$FS_KO" $FS_PARAMS || bad "insmod $FS_KO $FS_PARAMS"
[ "$(cat /dev/fs_rig_test)" = "fs-rig-test value=77" ] || bad "FS_PARAMS did not reach the module"
rmmod fs_rig_test || bad "rmmod"
mount | grep -q ' /tmp type tmpfs' || bad "/tmp is not a tmpfs"
mount | grep -q ' /run type tmpfs' || bad "/run is not a tmpfs"
[ -c /dev/pts/ptmx ] || bad "/dev/pts not mounted"
ip link show lo | grep -q 'UP' || bad "lo is not up"
# iproute2's ip (from env.files, with its libraries).  The guest shell is
# busybox's standalone ash, which runs its own applet for a bare "ip": host
# binaries that share an applet's name are called by absolute path.
if /usr/bin/ip netns add fsrig && /usr/bin/ip netns exec fsrig /usr/bin/ip link set lo up; then
	/usr/bin/ip netns del fsrig
else
	bad "iproute2 ip netns"
fi
[ ! -L /usr/bin/ip ] || bad "/usr/bin/ip is still the busybox link"
echo "env: $fails failure(s)"
[ "$fails" -eq 0 ]
