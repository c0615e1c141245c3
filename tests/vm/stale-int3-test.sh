#!/bin/bash
# stale-int3-test.sh: the rig's stale_int3 (tests/vm/lib.sh) on oops
# excerpts of real serial logs (tests/vm/rig/fixtures): the two 7.2 TCG
# oopses whose int3 was gone from memory are stale; the same oops with the
# int3 byte still there, a real int3 from the self-test module (7.2, 6.1), another
# oops and a clean boot are not.  A stale verdict retries the guest, so a
# false "stale" would hide a real crash.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
FIX=$(dirname "$0")/rig/fixtures
T=$(mktemp -d "${TMPDIR:-/tmp}/fs-stale-int3.XXXXXX")
trap 'rm -rf "$T"' EXIT
failed=0
check() { # WANT(stale|not) FILE
	local got=not
	stale_int3 "$2" && got=stale
	if [ "$got" = "$1" ]; then
		echo "ok   $1 $(basename "$2")"
	else
		echo "FAIL $(basename "$2"): $got, wanted $1"
		failed=$((failed + 1))
	fi
}
check stale "$FIX/stale-sched_clock_cpu.log"
check stale "$FIX/stale-enqueue_task_fair.log"
check not "$FIX/real-int3-testmod-7.2.log"
check not "$FIX/real-int3-testmod-6.1.log"	# before 6.9: no "Oops: " prefix
# The 6.1 excerpt with the int3 gone from memory: stale in that format too.
sed 's/ cc <89>/ 90 <89>/' "$FIX/real-int3-testmod-6.1.log" >"$T/gone-6.1.log"
grep -q ' 90 <89>' "$T/gone-6.1.log"
check stale "$T/gone-6.1.log"
# The same excerpt with the int3 still in memory before the RIP.
sed -E 's/ [0-9a-f]{2} <([0-9a-f]{2})>/ cc <\1>/' "$FIX/stale-enqueue_task_fair.log" >"$T/still-there.log"
grep -q ' cc <1f>' "$T/still-there.log"
check not "$T/still-there.log"
# A different oops (a NULL dereference) with a non-cc byte before the RIP.
sed 's/Oops: int3:/Oops: general protection fault:/' "$FIX/stale-sched_clock_cpu.log" >"$T/gpf.log"
check not "$T/gpf.log"
# No Code: line after the int3 oops (the log was cut): not stale.
grep -v '\] Code: ' "$FIX/stale-sched_clock_cpu.log" >"$T/cut.log"
check not "$T/cut.log"
printf '[    0.000000] Linux version 7.2\nRESULT=0\n' >"$T/clean.log"
check not "$T/clean.log"
[ "$failed" -eq 0 ] || { echo "$failed case(s) failed"; exit 1; }
echo "stale_int3: all cases passed"
