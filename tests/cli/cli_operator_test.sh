#!/bin/bash
# The operator commands through the binary on a fake tree: profile list,
# recommend, ps, plan --json, apply --json --detailed-exitcode (0 changed,
# 4 nothing to do), status --prometheus --output (mode 0644 under umask 077,
# no temporary file left), journald priorities when JOURNAL_STREAM names
# stderr (and none when it does not).  Each command's output is printed.
# usage: cli_operator_test.sh FASTSOCKET_BINARY SOURCE_DIR
set -u
fs=$1
src=$2
fail=0
. "$(dirname "$0")/fake_root.sh"
t=$(mktemp -d /tmp/fastsocket-cli-ops.XXXXXX)
trap 'rm -rf "$t"' EXIT

show() { echo "--- $1"; sed 's/^/    /' "$2"; }

for c in recommend ps "profile list"; do
	"$fs" $c --help >"$t/h" 2>&1
	check "$c --help" 0 $?
	contains "$c --help has examples" "$t/h" "Examples:"
	contains "$c --help has exit codes" "$t/h" "Exit codes:"
done

r=$t/root
make_fake_root "$r"
export FASTSOCKET_ROOT=$r
# The shipped directory is the build's datadir: /usr/share (packages) or /usr/local/share.
mkdir -p "$r/usr/share/fastsocket/profiles" "$r/usr/local/share/fastsocket/profiles" "$r/etc/fastsocket/profiles"
cp "$src"/etc/fastsocket/profiles/*.yaml "$r/usr/share/fastsocket/profiles/"
cp "$src"/etc/fastsocket/profiles/*.yaml "$r/usr/local/share/fastsocket/profiles/"
printf 'version: 1\ninclude: web-server\ndescription: Our edge web servers\n' >"$r/etc/fastsocket/profiles/edge.yaml"

# A haproxy using the library, listening on :80 (socket inode 4242).
mkdir -p "$r/proc/500/fd" "$r/proc/net"
echo haproxy >"$r/proc/500/comm"
echo "7f0000000000-7f0000001000 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libfsocket.so" >"$r/proc/500/maps"
ln -s 'socket:[4242]' "$r/proc/500/fd/5"
printf '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n' >"$r/proc/net/tcp"

"$fs" --root "$r" recommend >"$t/o" 2>&1
check "recommend" 0 $?
contains "recommend names proxy for haproxy" "$t/o" "profile: proxy"
show "fastsocket recommend" "$t/o"
"$fs" --root "$r" recommend --json >"$t/o" 2>&1
check "recommend --json" 0 $?
contains "recommend --json" "$t/o" '"profile": "proxy"'

"$fs" --root "$r" ps >"$t/o" 2>&1
check "ps" 0 $?
contains "ps lists haproxy's listener" "$t/o" "listening: 0.0.0.0:80 (inode 4242)"
show "fastsocket ps" "$t/o"
"$fs" --root "$r" ps --json >"$t/o" 2>&1
check "ps --json" 0 $?
contains "ps --json" "$t/o" '"port": 80'

"$fs" --root "$r" plan --json proxy >"$t/o" 2>&1
check "plan --json" 0 $?
contains "plan --json: changed" "$t/o" '"changed": true'
contains "plan --json: a sysctl change" "$t/o" '"path": "/proc/sys/net/core/somaxconn"'

"$fs" --root "$r" apply --json --detailed-exitcode proxy >"$t/o" 2>"$t/e"
check "apply --json --detailed-exitcode (changes)" 0 $?
contains "apply --json: changed" "$t/o" '"changed": true'
contains "apply --json: old value" "$t/o" '"old": "4096"'
contains "apply --json: progress on stderr" "$t/e" "applied profile proxy"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$t/o" || { echo "FAIL: apply --json is not JSON"; fail=1; }
"$fs" --root "$r" apply --json --detailed-exitcode proxy >"$t/o" 2>"$t/e"
check "apply --detailed-exitcode again: 4 = nothing to do" 4 $?
contains "apply --json again: unchanged" "$t/o" '"changed": false'
show "fastsocket apply --json --detailed-exitcode proxy (second run, exit 4)" "$t/o"
"$fs" --root "$r" apply proxy >"$t/o" 2>&1
check "apply again without --detailed-exitcode: 0" 0 $?

"$fs" --root "$r" profile list >"$t/o" 2>&1
check "profile list" 0 $?
contains "profile list: the active one" "$t/o" "* proxy"
contains "profile list: the override" "$t/o" "Our edge web servers"
show "fastsocket profile list" "$t/o"
"$fs" --root "$r" profile list --json >"$t/o" 2>&1
check "profile list --json" 0 $?
contains "profile list --json" "$t/o" '"active": true'

mkdir -p "$t/textfile"
(umask 077 && "$fs" --root "$r" status --prometheus --output "$t/textfile/fastsocket.prom" >"$t/o" 2>&1)
check "status --prometheus --output" 0 $?
[ "$(stat -c %a "$t/textfile/fastsocket.prom")" = 644 ] && echo "ok: .prom mode 0644 under umask 077" ||
	{ echo "FAIL: .prom mode $(stat -c %a "$t/textfile/fastsocket.prom")"; fail=1; }
[ "$(ls "$t/textfile")" = fastsocket.prom ] && echo "ok: no temporary file left" ||
	{ echo "FAIL: textfile dir holds: $(ls "$t/textfile")"; fail=1; }
[ -s "$t/o" ] && { echo "FAIL: --output also wrote to stdout"; fail=1; }
contains "the .prom has the metrics" "$t/textfile/fastsocket.prom" "# TYPE fastsocket_"
"$fs" --root "$r" status --prometheus --output "$t/missing/fastsocket.prom" >"$t/o" 2>&1
check "status --output into a missing directory" 1 $?
contains "status --output error" "$t/o" "No such file or directory"

# journald: stderr is the "journal stream" named by JOURNAL_STREAM.
: >"$t/journal"
js=$(stat -c '%d:%i' "$t/journal")
JOURNAL_STREAM=$js "$fs" --root "$r" plan no-such-profile >/dev/null 2>>"$t/journal"
contains "error lines get <3>" "$t/journal" "<3>error: "
mkdir -p "$r/etc/tuned" "$r/run/tuned" "$r/proc/777" "$r/usr/lib/tuned/throughput-performance"
echo throughput-performance >"$r/etc/tuned/active_profile"
echo 777 >"$r/run/tuned/tuned.pid"
echo tuned >"$r/proc/777/comm"
printf '[sysctl]\nnet.core.somaxconn=2048\n' >"$r/usr/lib/tuned/throughput-performance/tuned.conf"
JOURNAL_STREAM=$js "$fs" --root "$r" apply proxy >/dev/null 2>>"$t/journal"
contains "warning lines get <4>" "$t/journal" "<4>warning: tuned runs profile throughput-performance which also sets net.core.somaxconn"
show "stderr under JOURNAL_STREAM" "$t/journal"
JOURNAL_STREAM=1:1 "$fs" --root "$r" plan proxy >"$t/o" 2>&1
contains "plan warns about tuned" "$t/o" "warning: tuned runs profile"
grep -q '^<' "$t/o" && { echo "FAIL: priority prefixes on a stream that is not the journal"; fail=1; }

# isolated CPUs: left out of `all`, with a plan line.
echo 2-3 >"$r/sys/devices/system/cpu/isolated"
"$fs" --root "$r" revert >/dev/null 2>&1
"$fs" --root "$r" plan proxy >"$t/o" 2>&1
check "plan with isolated CPUs" 0 $?
contains "plan says isolated CPUs are left out" "$t/o" "note: cpus: isolated/nohz_full CPUs 2-3"
contains "rps uses CPUs 0-1 only" "$t/o" "eth0 rx-0: 0 -> 3"
show "fastsocket plan proxy (isolated 2-3, tuned running)" "$t/o"
exit $fail
