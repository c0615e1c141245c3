#!/bin/bash
# Steps the scenarios share (sourced by tests/system/run after vm.sh):
# installing the packages in a guest, the test profile, the services under
# the shipped drop-ins, and the load with its locality check.
# shellcheck shell=bash

# The profile of the tests: web-server with its module parameters spelt
# out, so the check after the reboot compares against values written here.
PROFILE_PARAMS="enable_listen_spawn=2 enable_fast_epoll=1"
test_profile() {
	cat <<'EOP'
version: 1
description: whole-system test (tests/system)
include: web-server
module:
  load: true
  parameters:
    enable_listen_spawn: 2
    enable_fast_epoll: 1
EOP
}

# guest_install NAME: copy the .debs and the load generator in, then
# `apt install` them in the running system (DKMS builds for its kernel).
guest_install() {
	local name=$1 t0=$SECONDS
	vm_copy "$name" /root/fs "${DEBS[@]}" "$LOAD" || { bad "$name: copy packages"; return 1; }
	if vm_ssh "$name" 'cd /root/fs && DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends ./fastsocket-dkms_*.deb ./fastsocket_*.deb' >"$RUN_DIR/$name.apt.log" 2>&1; then
		ok "$name: apt install ./fastsocket*.deb"
	else
		tail -30 "$RUN_DIR/$name.apt.log"
		bad "$name: apt install ./fastsocket*.deb (log $RUN_DIR/$name.apt.log)"
		return 1
	fi
	record "${name}_apt_install_s" $((SECONDS - t0))
	check "$name: DKMS built and installed fastsocket for the running kernel" \
		vm_ssh "$name" 'dkms status fastsocket -k "$(uname -r)" | grep -q ": installed"'
}

# guest_services NAME: the shipped drop-ins for nginx and haproxy, a
# haproxy frontend answering itself on :8080, nginx's default site on :80.
guest_services() {
	vm_ssh "$1" 'set -e
		ex=/usr/share/doc/fastsocket/examples/systemd
		for s in nginx haproxy; do
			install -D -m 0644 $ex/$s.service.d/fastsocket.conf /etc/systemd/system/$s.service.d/fastsocket.conf
		done
		# as the nginx drop-in asks: keep the library settings in the workers
		grep -q "^env LD_PRELOAD" /etc/nginx/nginx.conf ||
			sed -i "1i env LD_PRELOAD; env FASTSOCKET_MODE; env FASTSOCKET_VERBOSE;" /etc/nginx/nginx.conf
		cat >>/etc/haproxy/haproxy.cfg <<EOC

frontend fs_test
	bind 127.0.0.1:8080
	mode http
	http-request return status 200 content-type text/plain string "ok"
EOC
		haproxy -c -f /etc/haproxy/haproxy.cfg >/dev/null
		systemctl daemon-reload'
}

# guest_profile NAME: write the test profile, validate and apply it.
guest_profile() {
	test_profile | vm_ssh "$1" 'mkdir -p /etc/fastsocket && cat >/etc/fastsocket/profile.yaml' &&
		vm_ssh "$1" 'fastsocket validate /etc/fastsocket/profile.yaml && fastsocket apply /etc/fastsocket/profile.yaml' \
			>"$RUN_DIR/$1.apply.log" 2>&1
}

# check_module_params NAME: the module is loaded with the profile's values
check_module_params() {
	local kv k v now
	for kv in $PROFILE_PARAMS; do
		k=${kv%=*} v=${kv#*=}
		now=$(vm_ssh "$1" "cat /sys/module/fastsocket/parameters/$k" 2>/dev/null)
		[ "$now" = "$v" ] && ok "$1: module parameter $k=$now" ||
			bad "$1: module parameter $k is '$now', the profile says $v"
	done
}

# check_applied NAME: fastsocket.service active, it applied the profile at
# this boot, and `fastsocket status` reports no drift.
check_applied() {
	local st
	check "$1: fastsocket.service active" vm_ssh "$1" 'systemctl is-active -q fastsocket.service'
	check "$1: fastsocket.service ran apply of /etc/fastsocket/profile.yaml this boot" \
		vm_ssh "$1" 'journalctl -b -u fastsocket.service -o cat | grep -q "^applied profile " &&
			systemctl show -p ExecMainStatus --value fastsocket.service | grep -qx 0'
	st=$(vm_ssh "$1" 'fastsocket status' 2>&1)
	echo "$st" >"$RUN_DIR/$1.status.txt"
	if echo "$st" | grep -q '^profile: .*(/etc/fastsocket/profile.yaml)' &&
		echo "$st" | grep -q '^drift: none'; then ok "$1: fastsocket status: no drift"; else
		echo "$st" | tail -20
		bad "$1: fastsocket status shows drift or no profile"
	fi
}

# listener_counts NAME PORT: "local remote" of the module's group on PORT
listener_counts() {
	vm_ssh "$1" "cat /proc/fastsocket/listeners" | awk -v p=":$2" '
		$0 ~ "addr=[^ ]*" p " " {
			for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "local") l += kv[2]; if (kv[1] == "remote") r += kv[2] }
		} END { printf "%d %d\n", l, r }'
}

# check_load NAME SERVICE PORT: SERVICE (started by systemd, libfsocket.so
# mapped) serves N requests with 0 failures and >= 99% of the connections
# queued on the listener of the CPU that completed them (the module's
# per-listener counters in /proc/fastsocket/listeners, before/after).
check_load() {
	local name=$1 svc=$2 port=$3 n=${FASTSOCKET_SYSTEM_CONNS:-3000} out before after l r loc pid
	check "$name: $svc active (systemd)" vm_ssh "$name" "systemctl is-active -q $svc"
	pid=$(vm_ssh "$name" "systemctl show -p MainPID --value $svc")
	check "$name: $svc (pid $pid) runs with libfsocket.so" vm_ssh "$name" "grep -q libfsocket /proc/$pid/maps"
	before=$(listener_counts "$name" "$port")
	out=$(vm_ssh "$name" "/root/fs/fsbench-load -a 127.0.0.1 -p $port -t $VM_SMP -n $n -T 10000" 2>&1)
	after=$(listener_counts "$name" "$port")
	echo "$name $svc: $out"
	[ "$(echo "$out" | sed -n 's/.*failures=\([0-9]*\).*/\1/p')" = 0 ] &&
		echo "$out" | grep -q "conns=$n " && ok "$name: $svc: $n requests, 0 failed" ||
		bad "$name: $svc: load failed: $out"
	l=$(($(echo "$after" | cut -d' ' -f1) - $(echo "$before" | cut -d' ' -f1)))
	r=$(($(echo "$after" | cut -d' ' -f2) - $(echo "$before" | cut -d' ' -f2)))
	loc=$(awk -v l="$l" -v r="$r" 'BEGIN { printf "%.2f", l + r ? 100 * l / (l + r) : 0 }')
	record "${name}_${svc}_locality_pct" "$loc"
	awk -v x="$loc" 'BEGIN { exit !(x >= 99) }' && [ $((l + r)) -ge "$n" ] &&
		ok "$name: $svc: locality $loc% ($l local, $r remote) >= 99%" ||
		bad "$name: $svc: locality $loc% ($l local, $r remote; want >= 99% of >= $n)"
}

# check_rebooted_serving NAME: install-reboot's checks after the reboot (also
# fleet's): the module loaded with the profile's parameters, the profile
# applied at boot without drift, nginx and haproxy under the shipped
# drop-ins serving with >= 99% locality.
check_rebooted_serving() {
	vm_ssh "$1" 'systemd-analyze' 2>/dev/null | head -1 | tee -a "$RUN_DIR/$1.systemd-analyze.txt"
	check "$1: fastsocket.ko loaded after the reboot" vm_ssh "$1" 'test -d /sys/module/fastsocket'
	check_module_params "$1"
	check_applied "$1"
	check_load "$1" nginx 80
	check_load "$1" haproxy 8080
}

# snapshot NAME: what a profile may change (sysctls, queue steering, IRQ
# affinity, the module) and the profile file
snapshot() {
	vm_ssh "$1" 'sysctl -a 2>/dev/null | grep -E "^net\.(core|ipv4)\." | grep -v -e _key -e "\.random"
		for f in /sys/class/net/*/queues/*/rps_cpus /sys/class/net/*/queues/*/rps_flow_cnt \
			/sys/class/net/*/queues/*/xps_cpus; do
			[ -r "$f" ] && echo "$f $(cat "$f" 2>/dev/null)"; done
		# IRQs by their action name (virtio1-input.0): the numbers depend on
		# the order drivers loaded in, which changes from boot to boot.
		awk "\$1 ~ /^[0-9]+:\$/ { n = \$1; sub(/:/, \"\", n); print n, \$NF }" /proc/interrupts |
			while read -r n name; do
				echo "irq $name $(cat "/proc/irq/$n/smp_affinity_list" 2>/dev/null)"
			done | sort
		test -d /sys/module/fastsocket && echo "module loaded" || echo "module not loaded"
		sha256sum /etc/fastsocket/profile.yaml 2>/dev/null || echo "no profile"'
}

# booted NAME KEY [OLD]: vm_wait, record KEY = the boot time; a failed
# boot is a failed check (the caller returns).
booted() {
	if vm_wait "$1" "${3:-}"; then record "$2" "$BOOT_S"; else bad "$1: boot"; return 1; fi
}

# rebooted NAME KEY: vm_reboot, record KEY = the reboot time.
rebooted() {
	if vm_reboot "$1"; then record "$2" "$BOOT_S"; else bad "$1: reboot"; return 1; fi
}
