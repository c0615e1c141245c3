#!/bin/bash
# Short connections (Connection: close) against the best stock servers and
# the same servers under `fastsocket run`, with an independent load
# generator, in one run: ROUNDS x (every server in turn), so each ratio
# comes from alternating rounds under the same host load.
#
#   bench/compare.sh [-d SECONDS] [-r ROUNDS] [-b BUILD_DIR] [-w WORKERS]
#                    [-l wrk|ab|fsbench] [-t THREADS] [-c CONNS]
#                    [-L shared|apart|pinned] [-S CPUS -C CPUS] [-s "SERVER ..."]
#                    [-o SUMMARY_FILE] [-v]
#
# Servers (-s, default "nginx nginx-rp haproxy fs-nginx fs-haproxy"):
#   nginx        nginx, WORKERS workers, one shared listener (the default config)
#   nginx-rp     nginx `listen ... reuseport` + `worker_cpu_affinity auto`
#   haproxy      haproxy, WORKERS threads, `bind ... shards by-thread`, `cpu-map`
#   fs-nginx     the `nginx` config under `fastsocket run` (its defaults)
#   fs-haproxy   haproxy, one plain bind, WORKERS threads, under `fastsocket run`
#   fs-nginx-ls1 / fs-nginx-ls2   `fastsocket run --listen-spawn 1 / 2`
#   fs-nginx-rp  the nginx-rp config (workers pinned by nginx) under `fastsocket run`
#   fs-haproxy-mq0     fs-haproxy with `tune.listener.multi-queue off`
#   fs-haproxy-shards  the haproxy config (shards by-thread, cpu-map) under `fastsocket run`
#   NAME@VAR=VALUE,...  extra environment (FSBENCH_LIB=PATH: another libfsocket.so)
# Layouts (-L):
#   shared  load generator and server on every CPU, nobody pinned (default)
#   apart   server on the upper half of the CPUs, load generator on the lower
#           half (taskset); WORKERS defaults to the server's CPU count
#   pinned  like shared, but fsbench-load pins one thread per CPU (-l fsbench)
#   -S CPUS -C CPUS: the server on CPU list -S, the load generator on -C
#           (layout "custom"; bench/scale.sh uses it)
# -o FILE: also write "server rate p50_us p99_us cpu_us_per_conn ratio errors"
# lines (medians) to FILE.
# Load generators: wrk (-t THREADS -c CONNS, header Connection: close),
# ab (-c CONNS, HTTP/1.0, one thread), fsbench-load (-t THREADS, one
# connection at a time per thread).
# Printed per server: median rate, median p50/p99 latency, server CPU time
# per connection (utime+stime of every process of the server's session,
# /proc/PID/stat, during the load only), the ratio to the best stock server
# (median rates), and the rates of each round.  -v adds per round: per-CPU
# busy % (/proc/stat), the server's run-queue delay per connection
# (/proc/PID/task/*/schedstat) and its voluntary / involuntary context
# switches, and the share of CPU time of each server process.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SRV_CPUS_OPT="" LOAD_CPUS_OPT="" SUMMARY=""
DUR=5 ROUNDS=3 LOADGEN=wrk THREADS=1 CONNS=64 LAYOUT=shared VERBOSE=0 WORKERS=""
SERVERS="nginx nginx-rp haproxy fs-nginx fs-haproxy"
BUILD=${FSBENCH_BUILD:-$REPO/build}
while [ $# -gt 0 ]; do
	case "$1" in
	-d) DUR=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-b) BUILD=$2; shift 2 ;;
	-w) WORKERS=$2; shift 2 ;;
	-l) LOADGEN=$2; shift 2 ;;
	-t) THREADS=$2; shift 2 ;;
	-c) CONNS=$2; shift 2 ;;
	-L) LAYOUT=$2; shift 2 ;;
	-s) SERVERS=$2; shift 2 ;;
	-S) SRV_CPUS_OPT=$2; LAYOUT=custom; shift 2 ;;
	-C) LOAD_CPUS_OPT=$2; LAYOUT=custom; shift 2 ;;
	-o) SUMMARY=$2; shift 2 ;;
	-v) VERBOSE=1; shift ;;
	-h|--help) sed -n '2,43p' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
case "$LOADGEN" in wrk|ab|fsbench) ;; *) echo "compare.sh: -l wrk, ab or fsbench" >&2; exit 2 ;; esac
case "$LAYOUT" in shared|apart|pinned|custom) ;; *) echo "compare.sh: -L shared, apart or pinned" >&2; exit 2 ;; esac
if [ "$LAYOUT" = custom ]; then
	[ -n "$SRV_CPUS_OPT" ] && [ -n "$LOAD_CPUS_OPT" ] || { echo "compare.sh: -S and -C go together" >&2; exit 2; }
	for l in "$SRV_CPUS_OPT" "$LOAD_CPUS_OPT"; do
		[[ "$l" =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] && [ "${#l}" -le 200 ] ||
			{ echo "compare.sh: not a CPU list: ${l:0:40}" >&2; exit 2; }
	done
fi
for n in "$DUR" "$ROUNDS" "$THREADS" "$CONNS" ${WORKERS:+"$WORKERS"}; do
	[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 100000 ] ||
		{ echo "compare.sh: not a count: ${n:0:40}" >&2; exit 2; }
done

# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
bench_init fscompare
[ -n "${FSBENCH_KEEP:-}" ] && bench_on_exit "cp -r \"\$WORK\" \"$FSBENCH_KEEP\""
# shellcheck source=bench/servers.sh
. "$(dirname "$0")/servers.sh"
servers_find_tools "$BUILD" || exit 1
[ "$LOADGEN" = fsbench ] || command -v "$LOADGEN" >/dev/null ||
	{ echo "compare.sh: $LOADGEN not installed (scripts/install-deps.sh)" >&2; exit 1; }

ALL_CPUS=$(cpulist_of_self)
LOAD_RUN=() SRV_RUN=()
SRV_CPUS=$ALL_CPUS
if [ "$LAYOUT" = apart ]; then
	[ "$NCPU" -ge 2 ] || { echo "compare.sh: -L apart needs 2 CPUs" >&2; exit 1; }
	read -r LOAD_CPUS SRV_CPUS < <(split_cpus "$ALL_CPUS")
	LOAD_RUN=(taskset -c "$LOAD_CPUS")
	SRV_RUN=(taskset -c "$SRV_CPUS")
elif [ "$LAYOUT" = custom ]; then
	LOAD_CPUS=$LOAD_CPUS_OPT SRV_CPUS=$SRV_CPUS_OPT
	LOAD_RUN=(taskset -c "$LOAD_CPUS")
	SRV_RUN=(taskset -c "$SRV_CPUS")
fi
WORKERS=${WORKERS:-$(cpulist_count "$SRV_CPUS")}

# load PORT -> "rate p50_us p99_us requests errors"
load() {
	local url=http://127.0.0.1:$1/ out
	case "$LOADGEN" in
	wrk)
		out=$("${LOAD_RUN[@]}" wrk -t "$THREADS" -c "$CONNS" -d "${DUR}s" --latency \
			-H 'Connection: close' "$url" 2>&1 || true)
		echo "$out" >>"$WORK/load.log"
		awk -f "$(dirname "$0")/parse-wrk.awk" <<<"$out" ;;
	ab)
		out=$("${LOAD_RUN[@]}" ab -q -c "$CONNS" -t "$DUR" -n 100000000 "$url" 2>&1 || true)
		echo "$out" >>"$WORK/load.log"
		awk -f "$(dirname "$0")/parse-ab.awk" <<<"$out" ;;
	fsbench)
		local nopin=(-N)
		[ "$LAYOUT" = pinned ] && nopin=()
		out=$("${LOAD_RUN[@]}" "$LOAD" -p "$1" -d "$DUR" -t "$THREADS" "${nopin[@]}" || true)
		echo "$out" >>"$WORK/load.log"
		awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		     END { printf "%d %d %d %d %d\n", v["rate"], v["p50_us"], v["p99_us"], v["conns"], v["failures"] }' <<<"$out" ;;
	esac
}

# one_round SERVER -> "rate p50 p99 cpu_us_per_conn errors" (+ detail in $WORK/detail)
one_round() {
	local name=$1 port sid r c0 c1 s0 s1 cs0 cs1 st0 st1 rate p50 p99 req err
	port=$(free_port)
	server_start "$name" "$port" "$WORKERS" "$SRV_CPUS" "${SRV_RUN[@]}" || return 1
	sid=$LASTPID
	sleep 0.3
	c0=$(session_ticks "$sid"); s0=$(session_sched "$sid"); cs0=$(session_ctxsw "$sid")
	st0=$(cpu_busy_snapshot)
	r=$(load "$port")
	st1=$(cpu_busy_snapshot)
	c1=$(session_ticks "$sid"); s1=$(session_sched "$sid"); cs1=$(session_ctxsw "$sid")
	local split
	split=$(session_split "$sid")
	server_stop "$sid"
	read -r rate p50 p99 req err <<<"$r"
	[ "${req:-0}" -gt 0 ] || req=1
	awk -v a="$c0" -v b="$c1" -v n="$req" -v hz="$(getconf CLK_TCK)" -v rt="${rate:-0}" -v p5="${p50:-0}" \
		-v p9="${p99:-0}" -v e="${err:-0}" 'BEGIN { printf "%d %d %d %.1f %d\n", rt, p5, p9, (b - a) * 1e6 / hz / n, e }'
	awk -v s0="$s0" -v s1="$s1" -v n="$req" -v cs0="$cs0" -v cs1="$cs1" -v t0="$st0" -v t1="$st1" \
		-v sp="$split" -v nm="$name" 'BEGIN {
		split(cs0, a, " "); split(cs1, b, " ")
		split(t0, x, " "); split(t1, y, " "); busy = ""
		for (i = 1; i in x; i += 2) busy = busy sprintf(" cpu%d=%.0f%%", (i - 1) / 2,
			(y[i + 1] - x[i + 1]) ? 100 * (y[i] - x[i]) / (y[i + 1] - x[i + 1]) : 0)
		printf "   %-12s busy:%s  runq-delay/conn=%.1fus  vol-cs/conn=%.2f invol-cs/conn=%.2f  procs(share of server CPU): %s\n",
			nm, busy, (s1 - s0) / 1000 / n, (b[1] - a[1]) / n, (b[2] - a[2]) / n, sp }' >>"$WORK/detail"
}

host_line() {
	echo "host $(uname -r), $NCPU CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M:%S) UTC"
}
case "$LOADGEN" in
wrk) LG="wrk -t$THREADS -c$CONNS -H 'Connection: close'" ;;
ab) LG="ab -c$CONNS (HTTP/1.0, closes)" ;;
fsbench) LG="fsbench-load -t$THREADS ($([ "$LAYOUT" = pinned ] && echo pinned || echo unpinned))" ;;
esac
echo "== $LG, $DUR s, $ROUNDS rounds alternating; layout $LAYOUT (server CPUs $SRV_CPUS${LOAD_RUN:+, load CPUs $LOAD_CPUS}), $WORKERS workers"
echo "== start: $(host_line)"
for i in $(seq 1 "$ROUNDS"); do
	for s in $SERVERS; do
		line=$(one_round "$s") || { echo "compare.sh: $s did not start" >&2; exit 1; }
		echo "$line" >>"$WORK/${s//[^A-Za-z0-9_.-]/_}.res"
		[ "$VERBOSE" = 1 ] && echo "   round $i $s: rate p50us p99us cpu-us/conn errors = $line" && tail -n 1 "$WORK/detail"
	done
done
echo "== end:   $(host_line)"

# The program a server name runs (fs-nginx-rp -> nginx): "app" compares
# with the best stock configuration of the same program, the alternative a
# user of that program would pick instead of fastsocket run.
app_of() { case "$1" in *nginx*) echo nginx ;; *haproxy*) echo haproxy ;; *) echo other ;; esac; }
best=0 bestname=""
declare -A appbest=() appbestname=()
NAMEW=$(for s in $SERVERS server; do echo "${#s}"; done | sort -n | tail -n 1)
for s in $SERVERS; do
	case "$s" in fs-*) continue ;; esac
	m=$(awk '{print $1}' "$WORK/${s//[^A-Za-z0-9_.-]/_}.res" | median)
	if [ "${m%.*}" -gt "$best" ]; then best=${m%.*}; bestname=$s; fi
	a=$(app_of "$s")
	if [ "${m%.*}" -gt "${appbest[$a]:-0}" ]; then appbest[$a]=${m%.*}; appbestname[$a]=$s; fi
done
printf '%-*s %9s %8s %8s %11s %7s %7s %6s  %s\n' "$NAMEW" server "rate/s" "p50 ms" "p99 ms" "CPU us/conn" "ratio" "app" errors "rounds (rate/s)"
for s in $SERVERS; do
	f=$WORK/${s//[^A-Za-z0-9_.-]/_}.res
	ab=${appbest[$(app_of "$s")]:-0}
	printf '%-*s %9s %8s %8s %11s %7s %7s %6s  %s\n' "$NAMEW" "$s" "$(awk '{print $1}' "$f" | median)" \
		"$(awk '{print $2 / 1000}' "$f" | median)" "$(awk '{print $3 / 1000}' "$f" | median)" \
		"$(awk '{print $4}' "$f" | median)" \
		"$(awk '{print $1}' "$f" | median | awk -v b="$best" '{printf "%.2fx", b ? $1 / b : 0}')" \
		"$(awk '{print $1}' "$f" | median | awk -v b="$ab" '{printf "%.2fx", b ? $1 / b : 0}')" \
		"$(awk '{n += $5} END {print n + 0}' "$f")" "$(awk '{printf "%s%s", (NR > 1 ? ", " : ""), $1}' "$f")"
done
echo "(ratio: median rate / median of the best stock server, $bestname)"
echo "(app: the same against the best stock server of the same program:$(for a in "${!appbestname[@]}"; do printf ' %s' "${appbestname[$a]}"; done))"
if [ -n "$SUMMARY" ]; then
	for s in $SERVERS; do
		f=$WORK/${s//[^A-Za-z0-9_.-]/_}.res
		echo "$s $(awk '{print $1}' "$f" | median) $(awk '{print $2}' "$f" | median) $(awk '{print $3}' "$f" | median)" \
			"$(awk '{print $4}' "$f" | median) $(awk '{print $1}' "$f" | median | awk -v b="$best" '{printf "%.2f", b ? $1 / b : 0}')" \
			"$(awk '{n += $5} END {print n + 0}' "$f")"
	done >"$SUMMARY"
fi
