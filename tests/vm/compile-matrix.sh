#!/bin/bash
# compile-matrix.sh [--testmod] [--force] [NAME...]: build fastsocket.ko
# through DKMS in the build root of every kernel NAME (default: all of
# 5.10 6.1 6.12 sid) and print a table
#   kernel | KVER | build | warnings
# A build with any compiler or modpost warning counts as failed.  Exit
# status: 0 only if every kernel built cleanly.  Roots that do not exist
# yet are created in parallel first (that part is network bound).
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

ARGS=()
NAMES=()
for a in "$@"; do
	case "$a" in
	--testmod | --force) ARGS+=("$a") ;;
	-h | --help) echo "usage: $0 [--testmod] [--force] [NAME...]   (NAME: $ALL_KERNELS)" >&2; exit 2 ;;
	-*) die "unknown option $a" ;;
	*) catalogue "$a"; NAMES+=("$a") ;;
	esac
done
if [ "${#NAMES[@]}" -eq 0 ]; then
	read -r -a NAMES <<<"$ALL_KERNELS"
fi
need_root_user
LOGS=$CACHE/matrix
mkdir -p "$LOGS"
T0=$(date +%s)

# 1. roots, in parallel
pids=()
for n in "${NAMES[@]}"; do
	"$VM_DIR/make-root.sh" "$n" >"$LOGS/$n-root.log" 2>&1 &
	pids+=($!)
done
i=0
for n in "${NAMES[@]}"; do
	if ! wait "${pids[$i]}"; then
		log "$n: root creation failed (log: $LOGS/$n-root.log)"
	fi
	i=$((i + 1))
done
T1=$(date +%s)

# 2. builds, one after the other (each uses every core)
rows=()
failed=0
for n in "${NAMES[@]}"; do
	root=$(root_dir "$n")
	kver=$(cat "$root/.fs-root-ok" 2>/dev/null || echo "-")
	log "$n: building"
	if [ "$kver" = "-" ]; then
		status="FAIL (no root)"
		warn="-"
	elif "$VM_DIR/build-module.sh" "${ARGS[@]}" "$n" >"$LOGS/$n-build.log" 2>&1; then
		status=ok
		warn=0
	else
		status=FAIL
		warn=$(grep -Eic 'warning:' "$LOGS/$n-build.log" || true)
		[ "$warn" -eq 0 ] || status="FAIL (warnings)"
		if grep -q 'error:' "$LOGS/$n-build.log"; then
			status="FAIL (errors)"
		fi
	fi
	[ "$status" = ok ] || failed=$((failed + 1))
	rows+=("$n|$kver|$status|$warn")
done
T2=$(date +%s)

printf '\n%-7s | %-24s | %-16s | %s\n' kernel KVER build warnings
printf '%s\n' "--------+--------------------------+------------------+---------"
for r in "${rows[@]}"; do
	IFS='|' read -r n kver status warn <<<"$r"
	printf '%-7s | %-24s | %-16s | %s\n' "$n" "$kver" "$status" "$warn"
done
echo
echo "roots $((T1 - T0))s, builds $((T2 - T1))s; logs in $LOGS/<kernel>-{root,build}.log"
if [ "$failed" -ne 0 ]; then
	for r in "${rows[@]}"; do
		n=${r%%|*}
		case "$r" in *"|ok|"*) continue ;; esac
		echo "---- $n: last 40 lines of $LOGS/$n-build.log ----" >&2
		tail -n 40 "$LOGS/$n-build.log" >&2 2>/dev/null || tail -n 40 "$LOGS/$n-root.log" >&2 || true
	done
	exit 1
fi
