#!/bin/bash
# boot-retry-test.sh: the rig's boot loop (vm_boot in tests/vm/lib.sh) with a
# stand-in for QEMU that plays one scripted boot per call: a kernel that
# hangs before /init is stopped at the boot limit and booted again (a CI run
# of 6.1 hung after "sched_clock: Marking stable" until the 480 s host
# limit); a slow suite after /init is never cut; a kernel that keeps hanging
# ends after 5 boots; a stale int3 is retried, a real one and the host limit
# are not.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
FIX=$(dirname "$0")/rig/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/fs-boot-retry.XXXXXX")
trap 'rm -rf "$T"' EXIT

# The stand-in: `fake-qemu PLAN ... -serial file:LOG ...` plays the next
# word of PLAN (one per call, counted in $T/calls).
cat >"$T/fake-qemu" <<'FAKE'
#!/bin/bash
plan=$1 log=
shift
while [ $# -gt 0 ]; do
	case "$1" in -serial) log=${2#file:}; shift ;; esac
	shift
done
n=$(($(cat "$CALLS" 2>/dev/null || echo 0) + 1))
echo "$n" >"$CALLS"
read -r -a steps <<<"$plan"
step=${steps[$((n - 1))]:-${steps[-1]}}
boot='[    3.132500] sched_clock: Marking stable (3100398875, 30006118)->(3430927731, -300522738)'
init='[    3.500000] Run /init as init process'
case "$step" in
hang) echo "$boot" >"$log"; exec sleep 300 ;;
ok) printf '%s\n%s\nRESULT=0\n' "$boot" "$init" >"$log" ;;
slow) printf '%s\n%s\n' "$boot" "$init" >"$log"; sleep 3; echo RESULT=0 >>"$log" ;;
died) printf '%s\n[    3.2] Kernel panic - not syncing: Fatal exception\n' "$boot" >"$log" ;;
stale) { echo "$init"; cat "$FIXDIR/stale-sched_clock_cpu.log"; } >"$log" ;;
real) { echo "$init"; cat "$FIXDIR/real-int3-testmod-6.1.log"; } >"$log" ;;
forever) printf '%s\n%s\n' "$boot" "$init" >"$log"; exec sleep 300 ;;
esac
FAKE
chmod +x "$T/fake-qemu"
export CALLS=$T/calls FIXDIR=$FIX

failed=0
# case NAME PLAN HOST_LIMIT WANT_BOOTS WANT_HUNG WANT_QRC WANT_RESULT(yes|no) MAX_SECONDS
case_() {
	local name=$1 plan=$2 host=$3 boots=$4 hung=$5 qrc=$6 result=$7 max=$8 t0 got_boots got_result=no why=""
	rm -f "$CALLS" "$T"/serial*.log
	t0=$SECONDS
	vm_boot "$T/serial.log" "$T/out" "$host" 2 1 "$T/fake-qemu" "$plan" -serial "file:$T/serial.log" 2>"$T/err" || true
	got_boots=$(cat "$CALLS")
	grep -q '^RESULT=0' "$T/serial.log" 2>/dev/null && got_result=yes
	[ "$got_boots" -eq "$boots" ] || why="$why boots $got_boots (wanted $boots);"
	[ "$VM_HUNG" -eq "$hung" ] || why="$why VM_HUNG $VM_HUNG (wanted $hung);"
	{ [ "$qrc" = any ] || [ "$VM_QRC" -eq "$qrc" ]; } || why="$why exit $VM_QRC (wanted $qrc);"
	[ "$got_result" = "$result" ] || why="$why RESULT line: $got_result (wanted $result);"
	[ $((SECONDS - t0)) -le "$max" ] || why="$why took $((SECONDS - t0))s (at most $max);"
	[ "$(find "$T" -name 'serial.*.log' | wc -l)" -eq $((boots - 1)) ] || why="$why $(find "$T" -name 'serial.*.log' | wc -l) kept logs;"
	if [ -z "$why" ]; then
		echo "ok   $name ($got_boots boot(s), ${VM_RETRIED:-no retry})"
	else
		echo "FAIL $name:$why"
		sed 's/^/     | /' "$T/err"
		failed=$((failed + 1))
	fi
}
case_ "boots at once"                   "ok"                        60 1 0 0   yes 10
case_ "hangs before /init, then boots"  "hang ok"                   60 2 0 0   yes 15
case_ "suite slower than the limit"     "slow"                      60 1 0 0   yes 15
case_ "hangs on every boot"             "hang"                      60 5 1 any no  30
case_ "dies before /init, then boots"   "died hang ok"              60 3 0 0   yes 15
case_ "stale int3, then boots"          "stale ok"                  60 2 0 0   yes 10
case_ "real int3: no retry"             "real ok"                   60 1 0 0   no  10
case_ "suite hangs: host limit, no retry" "forever ok"              4  1 0 124 no  25
# The last case retried nothing after cases that did: VM_RETRIED is per call.
[ -z "$VM_RETRIED" ] || { echo "FAIL VM_RETRIED kept from an earlier call: $VM_RETRIED"; failed=$((failed + 1)); }
[ "$failed" -eq 0 ] || { echo "$failed case(s) failed"; exit 1; }
echo "vm_boot: all cases passed"
