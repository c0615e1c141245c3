#!/bin/bash
# Proxy scenario: haproxy (one thread per CPU) in front of a stock backend
# (fsbench-server), short-lived connections from fsbench-load.  Three
# configurations in one run, alternating, ROUNDS times each, median rate:
#   stock       the library preloaded with FASTSOCKET_MODE=off: counts only
#   fastsocket  libfsocket.so, RFD off (listen spawn only)
#   fs+rfd      libfsocket.so with FASTSOCKET_RFD=1: backend connections get
#               a source port with port % R == the haproxy thread's CPU
# Printed as ratios to stock, with the library's counters (rfd_bound,
# epoll_mod, epoll_skip, out_local/out_remote: replies processed on the
# closing thread's CPU) of the last round of each configuration.
#   bench/proxy.sh [-d SECONDS] [-r ROUNDS] [-b BUILD_DIR] [--veth]
# Default: the backend on loopback; without RPS every packet is processed on
# the sending CPU anyway, so RFD cannot win there.
# --veth (root): the backend in a network namespace behind a veth pair
# (fsb0 10.78.0.1 <-> fsb1 10.78.0.2, tx checksum offload off on fsb1), and
# `fastsocket apply` of proxy.yaml limited to fsb0 (RPS + RFS there, the
# sysctls) for every configuration; fs+rfd applies it with
# enable_receive_flow_deliver=1, which attaches the fs_rfd XDP program to
# fsb0.  Everything is reverted at exit (refused if a profile is applied).
# On the host the library runs its user-space back end (no module).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DUR=5
ROUNDS=3
BUILD=${FSBENCH_BUILD:-/var/tmp/build-fsbench}
VETH=0
while [ $# -gt 0 ]; do
	case "$1" in
	-d) DUR=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-b) BUILD=$2; shift 2 ;;
	--veth) VETH=1; shift ;;
	-h|--help) sed -n '2,24p' "$0"; exit 0 ;;
	*) echo "proxy.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
command -v haproxy >/dev/null || { echo "proxy.sh: haproxy not installed" >&2; exit 1; }

echo "== building into $BUILD"
cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target fsocket fsbench-server fsbench-load fastsocket fs-txcsum >/dev/null
LIB=$(find "$BUILD" -name libfsocket.so -type f | head -1)
SRV=$BUILD/bench/fsbench-server
LOAD=$BUILD/bench/fsbench-load
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_init fsproxy

FS=$BUILD/src/cli/fastsocket
BE_PF=$WORK/be.port
BE_ADDR=127.0.0.1
BE_RUN=()
if [ "$VETH" = 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "proxy.sh: --veth needs root" >&2; exit 1; }
	if [ -e /var/lib/fastsocket/saved.json ]; then
		echo "proxy.sh: a fastsocket profile is applied here; --veth would revert it: refusing" >&2
		exit 1
	fi
	NS=fsbench-be$$
	ip netns add "$NS"
	bench_on_exit "'$FS' revert >/dev/null; ip link del fsb0 2>/dev/null; ip netns del $NS"
	ip link add fsb0 type veth peer name fsb1 netns "$NS"
	ip addr add 10.78.0.1/24 dev fsb0
	ip link set fsb0 up
	ip -n "$NS" addr add 10.78.0.2/24 dev fsb1
	ip -n "$NS" link set fsb1 up
	ip -n "$NS" link set lo up
	# After an XDP redirect a CHECKSUM_PARTIAL segment from the veth peer is
	# dropped as a bad checksum: the backend side computes its checksums.
	ip netns exec "$NS" "$BUILD/tests/lib/fs-txcsum" fsb1 off >/dev/null
	cp "$REPO"/etc/fastsocket/profiles/*.yaml "$WORK/"
	for rfd in 0 1; do
		cat >"$WORK/bench-rfd$rfd.yaml" <<YAML
version: 1
include: proxy
interfaces: [fsb0]
module:
  load: false
  parameters:
    enable_receive_flow_deliver: $rfd
YAML
	done
	BE_ADDR=10.78.0.2
	BE_RUN=(ip netns exec "$NS")
fi
setsid "${BE_RUN[@]}" "$SRV" -a "$BE_ADDR" -w "$NCPU" -f "$BE_PF" >"$WORK/be.out" 2>&1 &
PIDS+=($!)
disown $!	# killed by bench_cleanup: no job report
for _ in $(seq 1 200); do [ -s "$BE_PF" ] && break; sleep 0.02; done
HAP_PORT=$(free_port)
write_haproxy_cfg "$WORK/haproxy.cfg" "$HAP_PORT" "$(cat "$BE_PF")" "$BE_ADDR"

round() { # CONFIG -> "rate failures"
	local cfg=$1 pid out
	rm -f "$WORK/stats"
	if [ "$VETH" = 1 ]; then
		"$FS" apply "$WORK/bench-rfd$([ "$cfg" = rfd ] && echo 1 || echo 0).yaml" >"$WORK/apply.out" 2>&1 ||
			{ cat "$WORK/apply.out" >&2; exit 1; }
	fi
	case "$cfg" in
	stock) setsid env LD_PRELOAD="$LIB" FASTSOCKET_MODE=off FASTSOCKET_STATS_FILE="$WORK/stats" \
		haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/h.out" 2>&1 & ;;
	fastsocket) setsid env LD_PRELOAD="$LIB" FASTSOCKET_RUNDIR="$WORK/run" FASTSOCKET_RFD=0 \
		FASTSOCKET_STATS_FILE="$WORK/stats" haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/h.out" 2>&1 & ;;
	rfd) setsid env LD_PRELOAD="$LIB" FASTSOCKET_RUNDIR="$WORK/run" FASTSOCKET_RFD=1 \
		FASTSOCKET_STATS_FILE="$WORK/stats" haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/h.out" 2>&1 & ;;
	esac
	pid=$!
	PIDS+=("$pid")
	wait_port "$HAP_PORT" || echo "proxy.sh: haproxy did not start: $(tail -3 "$WORK/h.out")" >&2
	sleep 0.2
	out=$("$LOAD" -p "$HAP_PORT" -d "$DUR" -t "$NCPU" || true)
	kill -USR1 "$pid" 2>/dev/null || true	# soft stop: the library writes its counters
	for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ -f "$WORK/stats" ] && cp "$WORK/stats" "$WORK/stats.$cfg"
	case "$out" in *"first error"*) echo "   $cfg: $out" >&2 ;; esac	# say why requests failed
	echo "$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out") $(sed -n 's/.*failures=\([0-9]*\).*/\1/p' <<<"$out")"
}

echo "== host: $(uname -r), $NCPU CPUs, $DUR s per run, $ROUNDS rounds; haproxy $NCPU threads -> fsbench-server at $BE_ADDR$([ "$VETH" = 1 ] && echo " (veth, RPS+RFS on fsb0; fs+rfd adds the XDP program)")"
for i in $(seq 1 "$ROUNDS"); do
	for cfg in stock fastsocket rfd; do
		line=$(round $cfg)
		echo "$line" >>"$WORK/$cfg.res"
		echo "   $cfg round $i: rate/s failures = $line"
	done
	sleep 1	# let TIME_WAIT ports of the previous rounds age a little
done
s=$(cut -d' ' -f1 "$WORK/stock.res" | median)
f=$(cut -d' ' -f1 "$WORK/fastsocket.res" | median)
r=$(cut -d' ' -f1 "$WORK/rfd.res" | median)
fails=$(cat "$WORK"/*.res | awk '{s += $2} END {print s + 0}')
echo
printf '%-12s %10s %8s\n' config "median c/s" "ratio"
printf '%-12s %10s %8s\n' stock "$s" 1.00
printf '%-12s %10s %8s\n' fastsocket "$f" "$(awk -v a="$f" -v b="$s" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
printf '%-12s %10s %8s\n' fs+rfd "$r" "$(awk -v a="$r" -v b="$s" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
echo "failures (all rounds): $fails"
for cfg in stock fastsocket rfd; do
	# haproxy is one process: one line of counters per round.
	echo "library counters, last $cfg round: $(cat "$WORK/stats.$cfg" 2>/dev/null || echo none)"
done
