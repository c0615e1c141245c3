#!/bin/sh
# Guest suite for the fastsocket CLI on a real kernel:
#   tests/vm/run --kernel 6.1 --suite cli --nic-queues 4
# With fastsocket.ko loaded with its defaults, `fastsocket apply proxy.yaml`
# must write RPS/RFS/XPS of the multi-queue virtio NIC, the queue IRQs'
# affinity and the sysctls, write /etc/modprobe.d/fastsocket.conf and reload
# the module with RFD on; a second apply changes nothing; apply refuses to
# reload while /dev/fastsocket is open; `fastsocket revert` restores every
# original value and reloads the module with its previous parameters.
set -u
REPO_DIR=$(dirname "$(find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -path '*/etc/fastsocket/profiles/proxy.yaml' -print 2>/dev/null | head -n 1)")
REPO_DIR=${REPO_DIR%/etc/fastsocket/profiles}
FS=$(find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -path '*/src/cli/fastsocket' -type f -print 2>/dev/null | head -n 1)
PROXY=$REPO_DIR/etc/fastsocket/profiles/proxy.yaml
WEB=$REPO_DIR/etc/fastsocket/profiles/web-server.yaml
FS_KO=${FS_KO:-/lib/fastsocket/fastsocket.ko}
fails=0
pass() { echo "PASS: cli: $*"; }
fail() { echo "FAIL: cli: $*"; fails=$((fails + 1)); }
expect() { # expect DESCRIPTION WANTED ACTUAL
	if [ "$2" = "$3" ]; then pass "$1 = $3"; else fail "$1: '$3', expected '$2'"; fi
}
param() { tr -d '\n' </sys/module/fastsocket/parameters/"$1"; }

[ -x "$FS" ] || { echo "FAIL: cli: fastsocket binary not found in the guest"; exit 1; }
[ -f "$PROXY" ] || { echo "FAIL: cli: proxy.yaml not found in the guest"; exit 1; }
echo "cli: binary $FS, profiles $REPO_DIR/etc/fastsocket/profiles"
[ -d /sys/class/net/eth0 ] || { echo "FAIL: cli: no eth0 (run with --nic-queues 4)"; exit 1; }
NQ=$(find /sys/class/net/eth0/queues -maxdepth 1 -name 'rx-*' | wc -l)
NCPU=$(grep -c '^processor' /proc/cpuinfo)
echo "cli: eth0 has $NQ rx queues, $NCPU CPUs, kernel $(uname -r)"
[ "$NQ" -ge 2 ] || fail "eth0 has $NQ rx queue(s); the suite wants a multi-queue NIC"

# `modprobe fastsocket` must find the DKMS-built module and read
# /etc/modprobe.d/fastsocket.conf, as on a real system.
KVER=$(uname -r)
cp "$FS_KO" /lib/modules-extra/fastsocket.ko
echo "extra/fastsocket.ko:" >>"/lib/modules/$KVER/modules.dep"
mkdir -p /etc/modprobe.d /var/lib

# Every file apply may touch, with its content before.
IRQS=$(awk '/virtio[0-9]+-(input|output)\./ { sub(":", "", $1); print $1 }' /proc/interrupts)
files() {
	for f in /sys/class/net/eth0/queues/*/rps_cpus /sys/class/net/eth0/queues/*/rps_flow_cnt \
		/sys/class/net/eth0/queues/*/xps_cpus /proc/sys/net/core/rps_sock_flow_entries \
		/proc/sys/net/core/somaxconn /proc/sys/net/core/netdev_max_backlog \
		/proc/sys/net/ipv4/tcp_max_syn_backlog /proc/sys/net/ipv4/tcp_fin_timeout \
		/proc/sys/net/ipv4/tcp_migrate_req /proc/sys/net/ipv4/tcp_early_demux \
		/proc/sys/net/ipv4/ip_local_port_range /proc/sys/net/ipv4/tcp_tw_reuse \
		/proc/sys/net/ipv4/tcp_max_tw_buckets; do
		[ -f "$f" ] && echo "$f: $(cat "$f")"
	done
	for i in $IRQS; do echo "irq $i: $(cat /proc/irq/"$i"/smp_affinity_list)"; done
	echo "modprobe.conf: $(cat /etc/modprobe.d/fastsocket.conf 2>&1)"
}
files >/tmp/before

echo "== module loaded with its defaults (apply must reload it)"
if modprobe fastsocket; then pass "modprobe fastsocket"; else fail "modprobe fastsocket"; fi
expect "enable_receive_flow_deliver before" 0 "$(param enable_receive_flow_deliver)"

echo "== validate, plan"
"$FS" validate "$PROXY" || fail "validate proxy.yaml"
"$FS" plan "$PROXY" >/tmp/plan 2>&1
rc=$?
cat /tmp/plan
expect "plan exit code" 0 "$rc"
grep -q "will be reloaded for: .*enable_receive_flow_deliver: 0 -> 1;" /tmp/plan && pass "plan announces the reload" ||
	fail "plan does not announce the reload"
files >/tmp/after-plan
cmp -s /tmp/before /tmp/after-plan && pass "plan wrote nothing" || fail "plan changed the system"

echo "== apply"
"$FS" apply "$PROXY" >/tmp/apply 2>&1
rc=$?
cat /tmp/apply
expect "apply exit code" 0 "$rc"
grep -q "fastsocket.ko reloaded" /tmp/apply && pass "module reloaded" || fail "no reload reported"
ALL=$(printf '%x' $(((1 << NCPU) - 1)))
CNT=$((65536 / NQ))
q=0
while [ "$q" -lt "$NQ" ]; do
	expect "rx-$q rps_cpus" "$ALL" "$(cat /sys/class/net/eth0/queues/rx-$q/rps_cpus)"
	expect "rx-$q rps_flow_cnt" "$CNT" "$(cat /sys/class/net/eth0/queues/rx-$q/rps_flow_cnt)"
	if [ "$NQ" -le "$NCPU" ]; then
		m=0
		c=$q
		while [ "$c" -lt "$NCPU" ]; do m=$((m | (1 << c))); c=$((c + NQ)); done
		expect "tx-$q xps_cpus" "$(printf '%x' $m)" "$(cat /sys/class/net/eth0/queues/tx-$q/xps_cpus)"
	fi
	q=$((q + 1))
done
expect "rps_sock_flow_entries" 65536 "$(cat /proc/sys/net/core/rps_sock_flow_entries)"
expect "somaxconn" 65535 "$(cat /proc/sys/net/core/somaxconn)"
expect "ip_local_port_range" "1024 65535" "$(cat /proc/sys/net/ipv4/ip_local_port_range | tr '\t' ' ')"
expect "tcp_tw_reuse" 1 "$(cat /proc/sys/net/ipv4/tcp_tw_reuse)"
for i in $IRQS; do
	name=$(awk -v i="$i:" '$1 == i { print $NF }' /proc/interrupts)
	qn=${name##*.}
	expect "irq $i ($name) smp_affinity_list" "$((qn % NCPU))" "$(cat /proc/irq/"$i"/smp_affinity_list)"
done
grep -q "^options fastsocket .*enable_receive_flow_deliver=1" /etc/modprobe.d/fastsocket.conf &&
	pass "modprobe.d options written" || fail "modprobe.d: $(cat /etc/modprobe.d/fastsocket.conf)"
expect "live enable_receive_flow_deliver" 1 "$(param enable_receive_flow_deliver)"
expect "live enable_listen_spawn" 1 "$(param enable_listen_spawn)"
# RFD's receive half: the XDP cpumap program on the tuned interface.
"$FS" status >/tmp/status-applied 2>&1
grep -q "xdp: fs_rfd (prog [0-9]*, RFD reply steering)" /tmp/status-applied &&
	pass "XDP reply steering attached to eth0" || fail "no fs_rfd on eth0: $(grep xdp /tmp/apply /tmp/status-applied)"
# libxdp keeps the dispatcher's state in bpffs, which apply mounted.
grep -q " /sys/fs/bpf bpf " /proc/mounts && pass "bpffs mounted on /sys/fs/bpf" || fail "no bpffs: $(cat /tmp/apply)"
# Built from src/bpf/fs_rfd.bpf.c with BTF: bpftool shows its C lines.
rfd_id=$(sed -n 's/.*xdp: fs_rfd (prog \([0-9]*\),.*/\1/p' /tmp/status-applied)
/usr/sbin/bpftool prog dump xlated id "${rfd_id:-0}" >/tmp/xlated 2>&1
grep -q "; sk = bpf_sk_lookup_tcp(ctx, tuple, tuple_size, BPF_F_CURRENT_NETNS, 0);" /tmp/xlated &&
	pass "bpftool prog dump xlated shows fs_rfd's source lines" || fail "xlated: $(head -c 300 /tmp/xlated)"
# Everything of ours pinned under /sys/fs/bpf/fastsocket (docs/cli.md).
ls -l /sys/fs/bpf/fastsocket >/tmp/pins 2>&1
cat /tmp/pins
[ -e /sys/fs/bpf/fastsocket/eth0-rfd-prog ] && [ -e /sys/fs/bpf/fastsocket/eth0-rfd-cpus ] &&
	pass "fs_rfd and its cpumap pinned under /sys/fs/bpf/fastsocket" || fail "pins: $(cat /tmp/pins)"
/usr/sbin/bpftool prog show pinned /sys/fs/bpf/fastsocket/eth0-rfd-prog >/tmp/pinned-prog 2>&1
grep -q "^${rfd_id:-x}: .*name fs_rfd" /tmp/pinned-prog && pass "bpftool prog show pinned: fs_rfd (prog $rfd_id)" ||
	fail "pinned prog: $(cat /tmp/pinned-prog)"
/usr/sbin/bpftool link show >/tmp/links 2>&1
grep -q "prog ${rfd_id:-x}\b" /tmp/links && pass "bpftool link show: the link running fs_rfd" ||
	fail "links: $(cat /tmp/links)"

echo "== apply again: no changes"
out=$("$FS" apply "$PROXY" 2>&1)
expect "second apply" "no changes: the system already matches profile proxy" "$out"

echo "== status"
"$FS" status
rc=$?
expect "status exit code (no drift)" 0 "$rc"
"$FS" status --prometheus >/tmp/prom
grep -q '^fastsocket_module_loaded 1$' /tmp/prom && pass "prometheus: module loaded" || fail "prometheus output"
grep -q '^fastsocket_parameter{name="enable_receive_flow_deliver"} 1$' /tmp/prom &&
	pass "prometheus: live RFD parameter" || fail "prometheus parameter line"
echo 1 >/sys/class/net/eth0/queues/rx-0/rps_cpus
"$FS" status --json >/tmp/status.json
expect "status exit code with drift" 3 "$?"
grep -q '"target": "eth0 rx-0"' /tmp/status.json && pass "drift of rx-0 reported" || fail "no drift in JSON"
"$FS" apply "$PROXY" >/dev/null 2>&1 && expect "drift repaired by apply" "$ALL" \
	"$(cat /sys/class/net/eth0/queues/rx-0/rps_cpus)"
# A pin removed behind our back: drift, and apply attaches fs_rfd anew.
rm /sys/fs/bpf/fastsocket/eth0-rfd-cpus
"$FS" status >/tmp/status-pin 2>&1
expect "status exit code with a pin missing" 3 "$?"
grep -q "missing /sys/fs/bpf/fastsocket/eth0-rfd-cpus" /tmp/status-pin && pass "status names the missing pin" ||
	fail "status: $(cat /tmp/status-pin)"
"$FS" apply "$PROXY" >/tmp/apply-pin 2>&1
[ -e /sys/fs/bpf/fastsocket/eth0-rfd-cpus ] && "$FS" status >/dev/null 2>&1 &&
	pass "apply pinned fs_rfd again" || fail "pin not repaired: $(cat /tmp/apply-pin)"

echo "== module in use: a reload is refused"
exec 3</dev/fastsocket
expect "refcnt with /dev/fastsocket open" 1 "$(cat /sys/module/fastsocket/refcnt)"
files >/tmp/in-use-before
"$FS" apply "$WEB" >/tmp/refused 2>&1
expect "apply web-server while in use" 1 "$?"
cat /tmp/refused
grep -q "it is in use (refcnt 1" /tmp/refused && pass "refusal names the refcnt" || fail "refusal message"
files >/tmp/in-use-after
cmp -s /tmp/in-use-before /tmp/in-use-after && pass "nothing changed by the refused apply" ||
	fail "the refused apply changed something"
exec 3<&-

echo "== revert"
"$FS" revert >/tmp/revert 2>&1
rc=$?
cat /tmp/revert
expect "revert exit code" 0 "$rc"
files >/tmp/after
if cmp -s /tmp/before /tmp/after; then
	pass "every value is back to its original"
else
	fail "values differ after revert:"
	diff /tmp/before /tmp/after
fi
expect "enable_receive_flow_deliver after revert" 0 "$(param enable_receive_flow_deliver)"
[ ! -e /var/lib/fastsocket/saved.json ] && pass "saved state removed" || fail "saved state left behind"
"$FS" status >/tmp/status-reverted 2>&1
grep -q "^profile: none applied" /tmp/status-reverted && pass "status: no profile applied" || fail "status after revert"
grep -q "xdp: none" /tmp/status-reverted && pass "XDP reply steering detached from eth0" ||
	fail "eth0 XDP after revert: $(grep xdp /tmp/status-reverted)"
[ ! -e /sys/fs/bpf/fastsocket ] && pass "revert unpinned and removed /sys/fs/bpf/fastsocket" ||
	fail "left in bpffs: $(ls -l /sys/fs/bpf/fastsocket)"

echo "== XDP alone as a pinned bpf_link (LIBXDP_SKIP_DISPATCHER=1)"
LIBXDP_SKIP_DISPATCHER=1 "$FS" apply "$PROXY" >/tmp/apply-link 2>&1
expect "apply with LIBXDP_SKIP_DISPATCHER=1" 0 "$?"
link_id=$(sed -n 's/.*XDP reply steering attached, prog \([0-9]*\).*/\1/p' /tmp/apply-link)
ls -l /sys/fs/bpf/fastsocket
/usr/sbin/bpftool link show pinned /sys/fs/bpf/fastsocket/eth0-rfd-link >/tmp/link 2>&1
cat /tmp/link
grep -Eq "^[0-9]+: xdp +prog ${link_id:-x}\b" /tmp/link &&
	pass "fs_rfd (prog $link_id) attached as an XDP bpf_link pinned at eth0-rfd-link" ||
	fail "link: $(cat /tmp/apply-link /tmp/link)"
/usr/sbin/bpftool net show dev eth0 >/tmp/net 2>&1
grep -Eq "^eth0\([0-9]+\) driver id ${link_id:-x}\b" /tmp/net && pass "bpftool net show: prog $link_id on eth0 (driver)" ||
	fail "net: $(cat /tmp/net)"
"$FS" revert >/tmp/revert-link 2>&1
expect "revert of the link" 0 "$?"
/usr/sbin/bpftool net show dev eth0 >/tmp/net 2>&1
! grep -q "driver id" /tmp/net && [ ! -e /sys/fs/bpf/fastsocket ] &&
	pass "revert detached the link and removed its pins" || fail "after revert: $(cat /tmp/revert-link /tmp/net)"

echo "== XDP beside another program (libxdp's dispatcher)"
# Someone else's counter, attached first as xdp-loader does; apply joins it,
# revert leaves it attached.
COUNT_OBJ=$(find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -path '*/tests/cli/xdp_count.bpf.o' -print 2>/dev/null | head -n 1)
/usr/sbin/xdp-loader load -m native eth0 "$COUNT_OBJ" >/tmp/xdp-loader 2>&1 ||
	fail "xdp-loader load: $(cat /tmp/xdp-loader)"
"$FS" apply "$PROXY" >/tmp/apply2 2>&1
expect "apply beside fst_count" 0 "$?"
/usr/sbin/xdp-loader status eth0 >/tmp/xdp-both 2>&1
grep -q fst_count /tmp/xdp-both && grep -q fs_rfd /tmp/xdp-both &&
	pass "fst_count and fs_rfd both run on eth0" || fail "eth0: $(cat /tmp/apply2 /tmp/xdp-both)"
"$FS" status >/tmp/status-both 2>&1
grep -q "xdp: fs_rfd (prog [0-9]*, RFD reply steering)" /tmp/status-both &&
	pass "status: fs_rfd beside fst_count" || fail "status: $(grep xdp /tmp/status-both)"
[ -e /sys/fs/bpf/fastsocket/eth0-rfd-prog ] && [ ! -e /sys/fs/bpf/fastsocket/eth0-rfd-link ] &&
	pass "in the dispatcher: fs_rfd pinned, its link is libxdp's" || fail "pins: $(ls -l /sys/fs/bpf/fastsocket)"
"$FS" revert >/tmp/revert2 2>&1
expect "revert beside fst_count" 0 "$?"
/usr/sbin/xdp-loader status eth0 >/tmp/xdp-after 2>&1
grep -q fst_count /tmp/xdp-after && ! grep -q fs_rfd /tmp/xdp-after &&
	pass "revert detached fs_rfd only" || fail "eth0 after revert: $(cat /tmp/revert2 /tmp/xdp-after)"
/usr/sbin/xdp-loader unload eth0 --all >/dev/null 2>&1
# The host test on this kernel: fs_rfd beside fst_count on a veth pair keeps
# 40/40 replies on CPU port % R while fst_count counts them.
XDP_TESTS=$(find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -path '*/tests/cli/fastsocket_xdp_tests' -type f -print 2>/dev/null | head -n 1)
PATH=/usr/sbin:$PATH "$XDP_TESTS" >/tmp/xdp-tests 2>&1
expect "cli.xdp on this kernel" 0 "$?"
grep -E '^\[ +(OK|SKIPPED|FAILED) +\] Veth' /tmp/xdp-tests
! grep -q 'SKIPPED \] Veth' /tmp/xdp-tests && pass "cli.xdp: no test skipped" || fail "cli.xdp skipped tests"
grep -q "OK ] Veth.RunsBesideAnotherLibxdpProgram" /tmp/xdp-tests &&
	pass "cli.xdp: RunsBesideAnotherLibxdpProgram ran and passed" || { fail "cli.xdp:"; cat /tmp/xdp-tests; }

echo "cli: $fails failure(s)"
[ "$fails" -eq 0 ]
