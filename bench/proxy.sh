#!/bin/bash
# Proxy scenario: haproxy (one thread per CPU) in front of a stock backend
# (fsbench-server), short-lived connections from fsbench-load.  Three
# configurations in one run, alternating, ROUNDS times each, median rate:
#   stock       no library
#   fastsocket  libfsocket.so, RFD off (listen spawn only)
#   fs+rfd      libfsocket.so with FASTSOCKET_RFD=1: backend connections get
#               a source port with port % R == the haproxy thread's CPU
# Printed as ratios to stock, with the library's counters (rfd_bound,
# epoll_mod, epoll_skip) of the last fs+rfd round.
#   bench/proxy.sh [-d SECONDS] [-r ROUNDS] [-b BUILD_DIR]
# On the host the library runs its user-space back end (no module); replies
# are steered only if RFS is configured (fastsocket apply proxy.yaml); on
# loopback without RPS every packet is processed on the sending CPU anyway.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DUR=5
ROUNDS=3
BUILD=${FSBENCH_BUILD:-/var/tmp/build-fsbench}
while [ $# -gt 0 ]; do
	case "$1" in
	-d) DUR=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-b) BUILD=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "proxy.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
command -v haproxy >/dev/null || { echo "proxy.sh: haproxy not installed" >&2; exit 1; }

echo "== building into $BUILD"
cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target fsocket fsbench-server fsbench-load >/dev/null
LIB=$(find "$BUILD" -name libfsocket.so -type f | head -1)
SRV=$BUILD/bench/fsbench-server
LOAD=$BUILD/bench/fsbench-load
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_init fsproxy

BE_PF=$WORK/be.port
setsid "$SRV" -w "$NCPU" -f "$BE_PF" >"$WORK/be.out" 2>&1 &
PIDS+=($!)
disown $!	# killed by bench_cleanup: no job report
for _ in $(seq 1 200); do [ -s "$BE_PF" ] && break; sleep 0.02; done
HAP_PORT=$(free_port)
write_haproxy_cfg "$WORK/haproxy.cfg" "$HAP_PORT" "$(cat "$BE_PF")"

round() { # CONFIG -> "rate failures"
	local cfg=$1 pid out
	rm -f "$WORK/stats"
	case "$cfg" in
	stock) setsid env -u LD_PRELOAD haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/h.out" 2>&1 & ;;
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
	[ "$cfg" = rfd ] && [ -f "$WORK/stats" ] && cp "$WORK/stats" "$WORK/stats.rfd"
	echo "$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out") $(sed -n 's/.*failures=\([0-9]*\).*/\1/p' <<<"$out")"
}

echo "== host: $(uname -r), $NCPU CPUs, $DUR s per run, $ROUNDS rounds; haproxy $NCPU threads -> fsbench-server"
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
echo "library counters, last fs+rfd round: $(cat "$WORK/stats.rfd" 2>/dev/null || echo none)"
