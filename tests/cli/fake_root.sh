# Shell helpers for the CLI tests that drive the binary: a tree shaped like /
# (sourced by cli_binary_test.sh, cli_operator_test.sh and cli_state_test.sh),
# and the two checks they report with (they set fail=1 on a failure).

check() { # check NAME EXPECTED_RC ACTUAL_RC
	if [ "$2" != "$3" ]; then
		echo "FAIL: $1: exit code $3, expected $2"
		fail=1
	else
		echo "ok: $1"
	fi
}
contains() { # contains NAME FILE TEXT
	if grep -qF -- "$3" "$2"; then echo "ok: $1"; else
		echo "FAIL: $1: '$3' not in:"
		sed 's/^/    /' "$2"
		fail=1
	fi
}

# fake_sysctls DIR: the sysctls the shipped profiles set, at kernel defaults.
fake_sysctls() {
	local s
	mkdir -p "$1/proc/sys/net/core" "$1/proc/sys/net/ipv4"
	for s in core/somaxconn:4096 core/netdev_max_backlog:1000 core/rps_sock_flow_entries:0 ipv4/tcp_max_syn_backlog:512 \
		ipv4/tcp_fin_timeout:60 ipv4/tcp_migrate_req:0 ipv4/tcp_early_demux:1 ipv4/tcp_tw_reuse:2 \
		ipv4/tcp_max_tw_buckets:262144; do
		echo "${s#*:}" >"$1/proc/sys/net/${s%%:*}"
	done
	printf '32768\t60999\n' >"$1/proc/sys/net/ipv4/ip_local_port_range"
}

# make_fake_root DIR: 4 CPUs, eth0 with 2 queues (virtio), sysctls, and a
# fake modprobe inside the root that "loads" fastsocket with the options file.
make_fake_root() {
	local r=$1 q i
	mkdir -p "$r/sys/devices/system/cpu" "$r/proc/sys/net/core" "$r/proc/sys/net/ipv4" "$r/sys/devices/virtual/virtio0"
	echo 0-3 >"$r/sys/devices/system/cpu/online"
	echo 0-3 >"$r/sys/devices/system/cpu/possible"
	for q in 0 1; do
		mkdir -p "$r/sys/class/net/eth0/queues/rx-$q" "$r/sys/class/net/eth0/queues/tx-$q"
		echo 0 >"$r/sys/class/net/eth0/queues/rx-$q/rps_cpus"
		echo 0 >"$r/sys/class/net/eth0/queues/rx-$q/rps_flow_cnt"
		echo 0 >"$r/sys/class/net/eth0/queues/tx-$q/xps_cpus"
	done
	ln -s ../../../../sys/devices/virtual/virtio0 "$r/sys/class/net/eth0/device"
	printf '           CPU0       CPU1       CPU2       CPU3\n 24:  0 0 0 0  PCI-MSI 1-edge  virtio0-config\n 25:  0 0 0 0  PCI-MSI 2-edge  virtio0-input.0\n 26:  0 0 0 0  PCI-MSI 3-edge  virtio0-output.0\n 27:  0 0 0 0  PCI-MSI 4-edge  virtio0-input.1\n 28:  0 0 0 0  PCI-MSI 5-edge  virtio0-output.1\n' >"$r/proc/interrupts"
	for i in 24 25 26 27 28; do mkdir -p "$r/proc/irq/$i"; echo 0-3 >"$r/proc/irq/$i/smp_affinity_list"; done
	fake_sysctls "$r"
	mkdir -p "$r/sbin"
	cat >"$r/sbin/modprobe" <<'EOS'
#!/bin/sh
m=$FASTSOCKET_ROOT/sys/module/fastsocket
if [ "$1" = "-r" ]; then rm -rf "$m"; exit 0; fi
mkdir -p "$m/parameters"
echo 0 >"$m/refcnt"; echo 0.1.0 >"$m/version"
for p in enable_fastsocket_debug=3 enable_listen_spawn=2 enable_receive_flow_deliver=0 enable_fast_epoll=1 \
	enable_direct_tcp=0 enable_skb_pool=0 enable_receive_cpu_selection=0 enable_socket_pool_size=0 \
	$(sed -n 's/^options fastsocket//p' "$FASTSOCKET_ROOT/etc/modprobe.d/fastsocket.conf" 2>/dev/null); do
	echo "${p#*=}" >"$m/parameters/${p%%=*}"
done
EOS
	chmod +x "$r/sbin/modprobe"
}

# fingerprint DIR: checksums of every regular file, for byte-for-byte
# comparisons; the fake modprobe, the saved state and the lock file (which,
# like any lock file in /run, stays) are left out.
fingerprint() {
	(cd "$1" && find . -type f ! -path './sbin/*' ! -path './var/lib/fastsocket/*' ! -path './run/fastsocket/*' \
		-exec md5sum {} + | sort)
}
