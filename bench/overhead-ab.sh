#!/bin/sh
# A/B of the library's per-call cost in one run: stock (no library), a
# baseline libfsocket.so (e.g. built from an older commit) and the current
# one, alternating, ROUNDS runs each; medians of fsbench-overhead's ns/op.
#   bench/overhead-ab.sh OVERHEAD_BIN BASELINE_LIB NEW_LIB [ROUNDS] [N]
set -eu
OVH=$1 OLD=$2 NEW=$3 ROUNDS=${4:-5} N=${5:-50000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for _ in $(seq 1 "$ROUNDS"); do
	env -u LD_PRELOAD "$OVH" -n "$N" >>"$W/stock"
	env LD_PRELOAD="$OLD" FASTSOCKET_MODE=userspace "$OVH" -n "$N" 2>/dev/null >>"$W/old"
	env LD_PRELOAD="$NEW" FASTSOCKET_MODE=userspace "$OVH" -n "$N" 2>/dev/null >>"$W/new"
done
median() { sort -n | awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : "n/a"}'; }
col() { awk -v c="$2" '$1 == c { split($2, kv, "="); print kv[2] }' "$1" | median; }
printf '%-34s %10s %12s %10s %9s\n' "case (ns/op, median of $ROUNDS)" stock baseline new "new/base"
for c in $(awk '{print $1}' "$W/stock" | sort -u); do
	s=$(col "$W/stock" "$c") o=$(col "$W/old" "$c") n=$(col "$W/new" "$c")
	printf '%-34s %10s %12s %10s %9s\n' "$c" "$s" "$o" "$n" \
		"$(awk -v a="$n" -v b="$o" 'BEGIN {printf "%+.1f%%", b ? (a - b) * 100 / b : 0}')"
done
