#!/bin/bash
# One case of the hostile profile corpus (tests/cli/hostile/MANIFEST):
# runs the real binary on it under a 100 MB address-space limit and checks
# the exit code, a message substring, a substring that must NOT appear (a
# secret), the output size (<= 16 KiB), CPU time (< 1 s) and wall time.
# usage: hostile_case.sh FASTSOCKET HOSTILE_DIR CASE
# Cases with no CASE.yaml file are made at run time by gen_CASE in
# generate.sh (big files, FIFOs, include bombs).
set -u
fs=$1
dir=$2
case=$3
line=$(awk -F'|' -v c="$case" '$1 == c { print; exit }' "$dir/MANIFEST")
if [ -z "$line" ]; then
	echo "FAIL: $case: not in $dir/MANIFEST"
	exit 1
fi
IFS='|' read -r _ want_rc cmd want forbid <<<"$line"
t=$(mktemp -d /tmp/fastsocket-hostile.XXXXXX)
trap 'rm -rf "$t"' EXIT
if [ -f "$dir/$case.yaml" ]; then
	spec=$dir/$case.yaml
else
	# shellcheck source=generate.sh
	. "$dir/generate.sh"
	export FASTSOCKET_BINARY=$fs
	# Not in $(...): a generator may export FASTSOCKET_PROFILE_PATH.
	"gen_${case//-/_}" "$t" >"$t/spec" || { echo "FAIL: $case: generator failed"; exit 1; }
	spec=$(cat "$t/spec")
fi
mkdir -p "$t/root"
args=("$cmd" "$spec")
case $cmd in plan | apply) args=(--root "$t/root" "$cmd" "$spec") ;; esac
# validate-unprivileged: as nobody when run as root (root reads any file).
runas=()
if [ "$cmd" = validate-unprivileged ]; then
	args=(validate "$spec")
	if [ "$(id -u)" = 0 ]; then
		runas=(setpriv --reuid=65534 --regid=65534 --clear-groups)
		# A copy nobody can run wherever the build directory is.
		chmod 755 "$t"
		cp "$fs" "$t/fastsocket"
		fs=$t/fastsocket
	fi
fi

TIMEFORMAT='%3U %3S %3R'
{ time (
	ulimit -v 102400
	timeout 10 "${runas[@]}" "$fs" "${args[@]}" >"$t/out" 2>&1 </dev/null
	echo $? >"$t/rc"
); } 2>"$t/time"
rc=$(cat "$t/rc")
read -r user sys real < <(tail -n 1 "$t/time")
fail=0
bad() { echo "FAIL: $case: $*"; fail=1; }
[ "$rc" = "$want_rc" ] || bad "exit code $rc, expected $want_rc"
[ -z "$want" ] || grep -qF -- "$want" "$t/out" || bad "'$want' not in the output"
[ -z "$forbid" ] || ! grep -qF -- "$forbid" "$t/out" || bad "the output shows '$forbid'"
size=$(wc -c <"$t/out")
[ "$size" -le 16384 ] || bad "$size bytes of output (more than 16 KiB)"
awk -v u="$user" -v s="$sys" 'BEGIN { exit !(u + s < 1.0) }' || bad "CPU time ${user}s user + ${sys}s sys (limit 1 s)"
awk -v r="$real" 'BEGIN { exit !(r < 5.0) }' || bad "wall time ${real}s (limit 5 s)"
echo "--- output of fastsocket ${args[*]} (exit $rc, ${user}s user ${sys}s sys ${real}s wall):"
head -c 2000 "$t/out"
[ $fail = 0 ] && echo "ok: $case"
exit $fail
