#!/bin/bash
# Fastsocket benchmark, one command:
#   bench/run.sh [-d SECONDS] [-r ROUNDS] [-b BUILD_DIR] [--vm KERNEL]
#
# In one run, on this machine: short-lived connection rate (connect, small
# HTTP request, response, close) and locality, stock vs libfsocket.so, for
# our own epoll server (fsbench-server), nginx and haproxy; then the added
# cost per call of sockets the library does not accelerate.  Each case runs
# ROUNDS times alternating stock / fastsocket; the median rate is reported.
# On this host the library uses its user-space fallback (no module); with
# --vm KERNEL the module path is measured in QEMU by tests/vm/run (suite lib).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DUR=5
ROUNDS=3
# Not under /tmp: the VM rig copies files from it and the guest mounts a tmpfs on /tmp.
BUILD=${FSBENCH_BUILD:-/var/tmp/build-fsbench}
VM=""
while [ $# -gt 0 ]; do
	case "$1" in
	-d) DUR=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-b) BUILD=$2; shift 2 ;;
	--vm) VM=$2; shift 2 ;;
	-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

echo "== building into $BUILD"
cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target fsocket fsbench-server fsbench-load fsbench-overhead >/dev/null
LIB=$(find "$BUILD" -name libfsocket.so -type f | head -1)
SRV=$BUILD/bench/fsbench-server
LOAD=$BUILD/bench/fsbench-load
OVH=$BUILD/bench/fsbench-overhead
for f in "$LIB" "$SRV" "$LOAD" "$OVH"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "run.sh: missing $f" >&2; exit 1; }
done

# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_init fsbench
# start NAME PRELOAD(0/1) CMD... : runs CMD in its own process group
start() {
	local name=$1 pre=$2
	shift 2
	if [ "$pre" = 1 ]; then
		setsid env LD_PRELOAD="$LIB" FASTSOCKET_RUNDIR="$WORK/run" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	else
		setsid env -u LD_PRELOAD "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	fi
	LASTPID=$!
	PIDS+=("$LASTPID")
}
stop() { # PID SIGNAL
	kill "-${2:-TERM}" "$1" 2>/dev/null || true
	for _ in $(seq 1 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	kill -KILL -- "-$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
loadgen() { # PORT -> "rate failures"
	local out
	out=$("$LOAD" -p "$1" -d "$DUR" -t "$NCPU" || true)
	echo "$out" >>"$WORK/load.log"
	echo "$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out") $(sed -n 's/.*failures=\([0-9]*\).*/\1/p' <<<"$out")"
}

# --- one round of each server; prints "rate failures locality" -----------
round_own() { # PRELOAD
	local pf=$WORK/own.port r loc
	rm -f "$pf"
	start own "$1" "$SRV" -w "$NCPU" -f "$pf"
	local pid=$LASTPID
	for _ in $(seq 1 200); do [ -s "$pf" ] && break; sleep 0.02; done
	wait_port "$(cat "$pf")"
	r=$(loadgen "$(cat "$pf")")
	stop "$pid" TERM
	loc=$(sed -n 's/.*locality=\([0-9.]*\)%.*/\1/p' "$WORK/own.out")
	echo "$r ${loc:-n/a}"
}

NGX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<NGX
daemon off;
master_process on;
worker_processes $NCPU;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log notice;
events { accept_mutex off; worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server { listen 127.0.0.1:$NGX_PORT; location / { return 200 "ok\n"; } }
}
NGX
# round_server NAME PORT STOP_SIGNAL PRELOAD CMD...: one round of a server
# that does not count locality itself.
round_server() {
	local name=$1 port=$2 sig=$3 pre=$4 r pid
	shift 4
	start "$name" "$pre" "$@"
	pid=$LASTPID
	if ! wait_port "$port"; then
		echo "run.sh: $name did not start: $(tail -3 "$WORK/$name.err")" >&2
	fi
	sleep 0.2
	r=$(loadgen "$port")
	stop "$pid" "$sig"
	echo "$r n/a"
}
round_nginx() { round_server nginx "$NGX_PORT" QUIT "$1" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"; }

HAP_PORT=$(free_port)
round_haproxy() { round_server haproxy "$HAP_PORT" TERM "$1" haproxy -f "$WORK/haproxy.cfg" -db; }

echo "== host: $(uname -r), $NCPU CPUs, $DUR s per run, $ROUNDS rounds, load threads $NCPU (pinned)"
printf '%s\n' "$(env LD_PRELOAD="$LIB" FASTSOCKET_RUNDIR="$WORK/run" true 2>&1)"

declare -A RES
run_case() { # NAME FUNC
	local name=$1 fn=$2 i line
	: >"$WORK/$name.stock"; : >"$WORK/$name.fs"
	for i in $(seq 1 "$ROUNDS"); do
		line=$($fn 0); echo "$line" >>"$WORK/$name.stock"
		echo "   $name stock      round $i: rate/s failures locality% = $line"
		line=$($fn 1); echo "$line" >>"$WORK/$name.fs"
		echo "   $name fastsocket round $i: rate/s failures locality% = $line"
	done
}

run_case own round_own
if command -v nginx >/dev/null; then run_case nginx round_nginx; fi
if command -v haproxy >/dev/null; then
	BE_PF=$WORK/be.port
	start backend 0 "$SRV" -w "$NCPU" -f "$BE_PF"
	BE_PID=$LASTPID
	for _ in $(seq 1 200); do [ -s "$BE_PF" ] && break; sleep 0.02; done
	write_haproxy_cfg "$WORK/haproxy.cfg" "$HAP_PORT" "$(cat "$BE_PF")"
	run_case haproxy round_haproxy
	stop "$BE_PID" TERM
fi

echo
echo "== overhead per call for sockets the library does not accelerate (ns/op: fastest of 25 batches per run, median of $((ROUNDS * 3)) alternating runs)"
for i in $(seq 1 $((ROUNDS * 3))); do
	env -u LD_PRELOAD "$OVH" -n 100000 >>"$WORK/ovh.stock"
	env LD_PRELOAD="$LIB" FASTSOCKET_RUNDIR="$WORK/run" "$OVH" -n 100000 2>/dev/null >>"$WORK/ovh.fs"
done

echo
printf '%-28s %12s %12s %7s %10s %10s %9s\n' case "stock c/s" "fsock c/s" ratio "stock loc" "fsock loc" failures
for name in own nginx haproxy; do
	[ -s "$WORK/$name.stock" ] || continue
	s=$(awk '{print $1}' "$WORK/$name.stock" | median)
	f=$(awk '{print $1}' "$WORK/$name.fs" | median)
	sl=$(awk '{print $3}' "$WORK/$name.stock" | median)
	fl=$(awk '{print $3}' "$WORK/$name.fs" | median)
	fails=$(cat "$WORK/$name.stock" "$WORK/$name.fs" | awk '{n+=$2} END {print n+0}')
	case $name in
	own) label="fsbench-server ($NCPU workers)" ;;
	nginx) label="nginx ($NCPU workers)" ;;
	haproxy) label="haproxy ($NCPU threads)" ;;
	esac
	ratio=$(awk -v a="$f" -v b="$s" 'BEGIN {printf "%.2f", b ? a / b : 0}')
	[ "$sl" = n/a ] || sl="$sl%"
	[ "$fl" = n/a ] || fl="$fl%"
	printf '%-28s %12s %12s %7s %10s %10s %9s\n' "$label" "$s" "$f" "${ratio}x" "$sl" "$fl" "$fails"
done
echo
printf '%-26s %10s %10s %9s %11s %11s %9s\n' "call (not accelerated)" "stock ns" "fsock ns" "added" "stock usr" "fsock usr" "added"
for c in $(awk '{print $1}' "$WORK/ovh.stock" | sort -u); do
	col() { awk -v c="$c" -v k="$2" '$1 == c { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1" | median; }
	s=$(col "$WORK/ovh.stock" ns_per_op)
	f=$(col "$WORK/ovh.fs" ns_per_op)
	su=$(col "$WORK/ovh.stock" user_ns_per_op)
	fu=$(col "$WORK/ovh.fs" user_ns_per_op)
	printf '%-26s %10s %10s %9s %11s %11s %9s\n' "$c" "$s" "$f" "$(awk -v a="$f" -v b="$s" 'BEGIN {printf "%+.1f", a - b}')" \
		"$su" "$fu" "$(awk -v a="$fu" -v b="$su" 'BEGIN {printf "%+.1f", a - b}')"
done

if [ -n "$VM" ]; then
	echo
	echo "== module path in QEMU (kernel $VM): tests/vm/run --kernel $VM --suite lib"
	if [ -x "$REPO/tests/vm/run" ]; then
		FASTSOCKET_BUILD_DIR=$BUILD "$REPO/tests/vm/run" --kernel "$VM" --suite lib >"$WORK/vm.out" 2>&1 || true
		tail -n 1 "$WORK/vm.out"
		vmlog=$(grep -o '/[^ ]*vm-logs/[^ ]*\.log' "$WORK/vm.out" | tail -n 1)
		if [ -n "$vmlog" ] && [ -f "$vmlog" ]; then
			grep -aE '^   |^ok:|^FAIL:|^== ' "$vmlog" || true
		fi
	else
		echo "tests/vm/run not found: module path not measured"
	fi
fi
