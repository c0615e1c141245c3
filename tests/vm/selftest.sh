#!/bin/bash
# selftest.sh [NAME...]: the rig's own tests (default kernel: 6.1; "all" =
# 5.10 6.1 6.12 sid).  For each kernel: the smoke suite with the rig's
# self-test module and a multi-queue NIC passes; the environment, --params,
# .files and .d reach the guest; a suite's exit status is the run's; a
# kernel crash, a kernel warning (with and without panic_on_warn) and a
# hanging suite fail the run; a real int3 fails it without a retry.  Prints one line per case.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

NAMES=("$@")
if [ "${#NAMES[@]}" -eq 0 ]; then
	NAMES=(6.1)
elif [ "${NAMES[0]}" = all ]; then
	read -r -a NAMES <<<"$ALL_KERNELS"
fi
ST=$VM_DIR/rig/selftest
OUT=$(mktemp -d "${TMPDIR:-/tmp}/fs-vm-selftest.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
failed=0

# expect NAME CASE WANT_RC GREP ARGS...: run the rig, check its exit status
# and that its output matches GREP.
expect() {
	local name=$1 case=$2 want=$3 pattern=$4 rc=0
	shift 4
	"$VM_DIR/run" --kernel "$name" "$@" >"$OUT/$name-$case.log" 2>&1 || rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq "$pattern" "$OUT/$name-$case.log"; then
		printf 'ok   %-5s %-8s (exit %s)\n' "$name" "$case" "$rc"
	else
		printf 'FAIL %-5s %-8s exit %s, wanted %s and /%s/\n' "$name" "$case" "$rc" "$want" "$pattern"
		tail -n 30 "$OUT/$name-$case.log" | sed 's/^/     | /'
		failed=$((failed + 1))
	fi
}

for n in "${NAMES[@]}"; do
	catalogue "$n"
	expect "$n" smoke 0 'PASS: .* suite smoke' --suite smoke --module testmod --nic-queues 2 --timeout 120
	expect "$n" env 0 'PASS: .* suite env' --suite "$ST/env.sh" --module testmod --params "value=77" --timeout 120
	expect "$n" exit3 3 'FAIL: suite exit3 returned 3' --suite "$ST/exit3.sh" --module testmod --timeout 60
	expect "$n" crash 1 'kernel problem in the serial log' --suite "$ST/crash.sh" --module testmod --timeout 60
	expect "$n" hang 143 'stopped by timeout' --suite "$ST/hang.sh" --module testmod --timeout 5
	expect "$n" warn 1 'kernel problem in the serial log' --suite "$ST/warn.sh" --module testmod \
		--params warn_on_load=1 --timeout 60
	expect "$n" warn-np 1 'kernel problem in the serial log' --suite "$ST/warn.sh" --module testmod \
		--params warn_on_load=1 --append panic_on_warn=0 --timeout 60
	# An int3 that is still in the text (the module's own) fails the run
	# at once: only a stale one (tests/vm/stale-int3-test.sh) is retried.
	expect "$n" int3 1 'kernel problem in the serial log' --suite "$ST/warn.sh" --module testmod \
		--params int3_on_load=1 --timeout 60
	# (a boot that died before /init may still be retried)
	if grep -q 'int3 no longer in its text' "$OUT/$n-int3.log"; then
		echo "FAIL $n int3: the rig retried a real int3"
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ] || die "$failed rig self-test case(s) failed"
echo "rig self-test: all cases passed"
