#!/bin/bash
# Scaling of the user-space fallback (no module) against the stock servers:
# 1, 2, 4, ... N server workers, the load generator on CPUs of its own.
#
#   bench/scale.sh [-d SECONDS] [-r ROUNDS] [-b BUILD_DIR] [-l wrk|fsbench]
#                  [-S SERVER_CPUS -C LOAD_CPUS] [-s "SERVER ..."] [--shared]
#
# CPUs: the ones this script may use (so `taskset -c 0-7 bench/scale.sh`
# pretends the machine has 8).  By default the upper half serves and the
# lower half loads (disjoint sets, N = half the CPUs); -S/-C choose them.
# --shared (for machines with too few CPUs to split, like a 2-CPU VM): server
# and load both on every CPU, N = all of them.  For each worker count W the
# server runs on the first W server CPUs with W workers / threads;
# bench/compare.sh measures each W (ROUNDS alternating rounds of every
# server, Connection: close).  Servers (-s): see bench/compare.sh; default
# "nginx nginx-rp haproxy fs-nginx fs-haproxy".
# Self-contained from a copy of the tree: builds libfsocket.so, the CLI and
# fsbench-load into BUILD_DIR (default ./build-scale) if they are missing;
# needs cmake, a C/C++ compiler and the build dependencies
# (scripts/install-deps.sh), and Debian's nginx, haproxy and wrk.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DUR=5 ROUNDS=3 LOADGEN=wrk SRV="" LOADC="" SHARED=0
SERVERS="nginx nginx-rp haproxy fs-nginx fs-nginx-rp fs-haproxy-shards"
BUILD=${FSBENCH_BUILD:-$REPO/build-scale}
while [ $# -gt 0 ]; do
	case "$1" in
	-d) DUR=$2; shift 2 ;;
	-r) ROUNDS=$2; shift 2 ;;
	-b) BUILD=$2; shift 2 ;;
	-l) LOADGEN=$2; shift 2 ;;
	-S) SRV=$2; shift 2 ;;
	-C) LOADC=$2; shift 2 ;;
	-s) SERVERS=$2; shift 2 ;;
	--shared) SHARED=1; shift ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "scale.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

if [ ! -e "$BUILD/src/lib/libfsocket.so" ] || [ ! -e "$BUILD/src/cli/fastsocket" ] ||
	[ ! -e "$BUILD/bench/fsbench-load" ]; then
	echo "== building into $BUILD"
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target fsocket fastsocket fsbench-load >/dev/null
fi

# shellcheck source=bench/common.sh
. "$HERE/common.sh"
bench_init fsscale
# shellcheck source=bench/servers.sh
. "$HERE/servers.sh"
servers_find_tools "$BUILD" || exit 1

ALL=$(cpulist_of_self)
if [ "$SHARED" = 1 ]; then
	SRV=$ALL LOADC=$ALL
elif [ -z "$SRV" ] || [ -z "$LOADC" ]; then
	if [ "$(cpulist_count "$ALL")" -lt 2 ]; then
		echo "scale.sh: one CPU: nothing to split (use --shared)" >&2
		exit 1
	fi
	read -r LOADC SRV < <(split_cpus "$ALL")
fi
N=$(cpulist_count "$SRV")
NLOAD=$(cpulist_count "$LOADC")
WS=""
for ((w = 1; w < N; w *= 2)); do WS="$WS $w"; done
WS="$WS $N"

echo "== scale: server CPUs $SRV (N=$N), load CPUs $LOADC ($LOADGEN, $NLOAD threads), workers:$WS; $DUR s x $ROUNDS rounds each"
echo "== start: $(uname -r), loadavg $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M:%S) UTC; $(env FASTSOCKET_VERBOSE=1 LD_PRELOAD="$LIB" true 2>&1 | head -n 1)"
for w in $WS; do
	cpus=$(cpulist_expand "$SRV" | head -n "$w" | paste -sd, -)
	echo "-- $w worker(s) on CPUs $cpus"
	"$HERE/compare.sh" -d "$DUR" -r "$ROUNDS" -b "$BUILD" -w "$w" -l "$LOADGEN" -t "$NLOAD" \
		-c $((NLOAD * 64)) -S "$cpus" -C "$LOADC" -s "$SERVERS" -o "$WORK/w$w" | sed 's/^/   /'
done
echo "== end: loadavg $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M:%S) UTC"
echo
echo "Scaling (median rate/s; in brackets the ratio to the best stock server at that worker count; CPU us/conn)"
{
	printf 'workers'
	for s in $SERVERS; do printf '\t%s' "$s"; done
	echo
	for w in $WS; do
		printf '%s' "$w"
		for s in $SERVERS; do
			awk -v s="$s" '$1 == s { printf "\t%d (%sx, %s)", $2, $6, $5 }' "$WORK/w$w"
		done
		echo
	done
} | column -t -s "$(printf '\t')"
