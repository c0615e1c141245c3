#!/bin/sh
# rfd suite (guest side, run as /suite.sh by tests/vm/run --suite rfd):
# receive flow deliver and fast epoll, library + module parameters.
#  1. insmod enable_receive_flow_deliver=1: the library reads the parameter
#  2. port rule: every outgoing connection of a pinned worker has a source
#     port in ip_local_port_range with port % R == its CPU (IPv4, IPv6);
#     an explicit bind is left alone
#  3. exhaustion: connect() fails with EADDRNOTAVAIL, as without RFD
#  4. replies on the worker's CPU (SO_INCOMING_CPU of the outgoing socket):
#     RPS on lo, backend pinned to CPU 0; stock (RPS, no RFS) vs RFD with
#     RFS on (the mechanism `fastsocket apply proxy.yaml` configures): >= 99%
#  5. fast epoll on a real server (haproxy under the library): epoll_ctl
#     MOD calls made and skipped, counted
# Build first: cmake --build build --target fsocket rfd-probe fsbench-load
set -u
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

LIB=$(find / -xdev -name libfsocket.so -path '*src/lib*' 2>/dev/null | head -n 1)
PROBE=$(find / -xdev -name rfd-probe -type f 2>/dev/null | head -n 1)
LOAD=$(find / -xdev -name fsbench-load -type f 2>/dev/null | head -n 1)
N=${FS_NCPU:-4}
PER=${FS_RFD_CONNS:-150}
W=/tmp/rfd
mkdir -p $W/run
export FASTSOCKET_RUNDIR=$W/run
# The library writes its start-up line to stderr only when asked; 2. checks it.
export FASTSOCKET_VERBOSE=1
for f in "$LIB" "$PROBE"; do
	[ -n "$f" ] && [ -f "$f" ] || { bad "missing libfsocket.so / rfd-probe (rfd.files)"; exit 1; }
done

echo "== 1. module with enable_receive_flow_deliver=1"
insmod "$FS_KO" enable_receive_flow_deliver=1 $FS_PARAMS || { bad "insmod"; exit 1; }
p=$(cat /sys/module/fastsocket/parameters/enable_receive_flow_deliver)
[ "$p" = 1 ] && ok "parameter reads 1" || bad "parameter reads '$p'"

run_probe() { # TAG PRELOAD(0|1) ARGS... -> LINE
	tag=$1 pre=$2
	shift 2
	if [ "$pre" = 1 ]; then
		LINE=$(FASTSOCKET_STATS_FILE=$W/$tag.stats LD_PRELOAD=$LIB $PROBE "$@" 2>$W/$tag.err)
	else
		LINE=$($PROBE "$@" 2>$W/$tag.err)
	fi
	echo "$tag: $LINE"
}

echo "== 2. port rule"
echo "40000 40999" >/proc/sys/net/ipv4/ip_local_port_range
for fam in 4 6; do
	a=""
	[ $fam = 6 ] && a=-6
	run_probe rule$fam 1 -n "$PER" $a
	c=$(field conns "$LINE")
	if [ -n "$c" ] && [ "$c" -gt 0 ] && [ "$(field failures "$LINE")" = 0 ] &&
	   [ "$(field rule_ok "$LINE")" = "$c" ] && [ "$(field in_range "$LINE")" = "$c" ] &&
	   [ "$(field range "$LINE")" = 40000-40999 ]; then
		ok "IPv$fam: $c/$c ports in 40000-40999 with port % R == CPU"
	else
		bad "IPv$fam port rule: $LINE"; cat $W/rule$fam.err
	fi
done
grep -q "using module" $W/rule4.err && ok "library on the module path" ||
	bad "library not on the module path: $(cat $W/rule4.err)"
run_probe bind 1 -n 50 -b
st=$(cat $W/bind.stats 2>/dev/null)
if [ "$(field rfd_bound "$st")" = 0 ] && [ "$(field rfd_explicit "$st")" = "$(field conns "$LINE")" ]; then
	ok "explicit bind left alone ($st)"
else
	bad "explicit bind: $st / $LINE"
fi

echo "== 3. exhaustion"
echo "41000 41063" >/proc/sys/net/ipv4/ip_local_port_range
run_probe ex_stock 0 -x -n 40
e0=$(field first_errno "$LINE")
run_probe ex_rfd 1 -x -n 40
e1=$(field first_errno "$LINE")
c1=$(field conns "$LINE")
if [ "$e0" = 99 ] && [ "$e1" = 99 ] && [ "$c1" = 64 ] && [ "$(field rule_ok "$LINE")" = 64 ]; then
	ok "EADDRNOTAVAIL (99) stock and RFD; RFD used all 64 ports, 16 per CPU"
else
	bad "exhaustion: stock errno $e0, RFD errno $e1, RFD conns $c1"
fi
echo "32768 60999" >/proc/sys/net/ipv4/ip_local_port_range

echo "== 4. replies processed on the worker's CPU"
mask=$(printf '%x' $(( (1 << N) - 1 )))
echo "$mask" >/sys/class/net/lo/queues/rx-0/rps_cpus
echo 0 >/proc/sys/net/core/rps_sock_flow_entries
echo 0 >/sys/class/net/lo/queues/rx-0/rps_flow_cnt
run_probe loc_stock 0 -n "$PER" -s 0
ls0=$(field local "$LINE") c0=$(field conns "$LINE")
run_probe loc_rfd_norfs 1 -n "$PER" -s 0
ls1=$(field local "$LINE") c1=$(field conns "$LINE")
echo 32768 >/proc/sys/net/core/rps_sock_flow_entries
echo 32768 >/sys/class/net/lo/queues/rx-0/rps_flow_cnt
run_probe loc_stock_rfs 0 -n "$PER" -s 0
ls2=$(field local "$LINE") c2=$(field conns "$LINE")
run_probe loc_rfd_rfs 1 -n "$PER" -s 0
ls3=$(field local "$LINE") c3=$(field conns "$LINE")
run_probe loc_rfd_rfs6 1 -n "$PER" -s 0 -6
ls4=$(field local "$LINE") c4=$(field conns "$LINE")
pct() { [ "${2:-0}" -gt 0 ] && echo $(( $1 * 1000 / $2 )) || echo 0; }
echo "LOCALITY stock(RPS)=$ls0/$c0 rfd(RPS,no RFS)=$ls1/$c1 stock(RPS+RFS)=$ls2/$c2 rfd(RPS+RFS)=$ls3/$c3 rfd6(RPS+RFS)=$ls4/$c4"
[ "$(pct "$ls3" "$c3")" -ge 990 ] && ok "RFD + RFS: $ls3/$c3 replies on the worker's CPU (IPv4)" ||
	bad "RFD + RFS locality $ls3/$c3 < 99%"
[ "$(pct "$ls4" "$c4")" -ge 990 ] && ok "RFD + RFS: $ls4/$c4 replies on the worker's CPU (IPv6)" ||
	bad "RFD + RFS locality IPv6 $ls4/$c4 < 99%"
[ "$(pct "$ls0" "$c0")" -lt 990 ] && ok "stock with RPS is not local ($ls0/$c0): the test can fail" ||
	bad "stock with RPS already local: the test proves nothing"
echo 0 >/proc/sys/net/core/rps_sock_flow_entries
echo 0 >/sys/class/net/lo/queues/rx-0/rps_flow_cnt
echo 0 >/sys/class/net/lo/queues/rx-0/rps_cpus

echo "== 5. fast epoll on haproxy"
if [ -x /usr/sbin/haproxy ] && [ -n "$LOAD" ]; then
	cat >$W/h.cfg <<CFG
global
	nbthread $N
defaults
	mode http
	timeout connect 5s
	timeout client 5s
	timeout server 5s
frontend f
	bind 127.0.0.1:18080
	http-request return status 200 content-type text/plain string ok
CFG
	rm -f $W/h.stats
	FASTSOCKET_STATS_FILE=$W/h.stats LD_PRELOAD=$LIB /usr/sbin/haproxy -f $W/h.cfg -db >$W/h.out 2>&1 &
	hp=$!
	# Under TCG on a busy host haproxy can take seconds to start: wait for
	# the port (up to 60 s) rather than a fixed sleep.
	for _ in $(seq 60); do
		[ "$(field failures "$($LOAD -p 18080 -t 1 -n 1 -T 2000 2>/dev/null)")" = 0 ] && break
		sleep 1
	done
	LL=$($LOAD -p 18080 -t "$N" -n 400 -T 20000)
	kill -USR1 $hp	# soft stop: exits through exit(), the library writes its counters
	wait $hp
	st=$(cat $W/h.stats 2>/dev/null)
	echo "haproxy load: $LL"
	echo "EPOLL haproxy: $st"
	[ -n "$st" ] && [ "$(field failures "$LL")" = 0 ] && ok "haproxy under the library, counted: $st" ||
		bad "haproxy epoll count: '$st' load '$LL'"
else
	echo "skip: no haproxy / fsbench-load"
fi

rmmod fastsocket || bad "rmmod"
echo "RESULT_RFD=$fails"
exit $fails
