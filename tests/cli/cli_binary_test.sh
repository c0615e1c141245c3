#!/bin/bash
# End-to-end checks of the fastsocket binary on a fake tree: help text,
# exit codes, plan -> apply -> apply (no-op) -> status -> revert, and run's
# exec (the exit code and the PID are the program's).
# usage: cli_binary_test.sh FASTSOCKET_BINARY SOURCE_DIR
set -u
fs=$1
src=$2
fail=0
. "$(dirname "$0")/fake_root.sh"
t=$(mktemp -d /tmp/fastsocket-cli-bin.XXXXXX)
trap 'rm -rf "$t"' EXIT


# --- help of every subcommand: examples and exit codes ---
"$fs" --help >"$t/h" 2>&1
check "--help" 0 $?
contains "--help lists run" "$t/h" "run "
for c in validate plan apply revert status run off on; do
	"$fs" $c --help >"$t/h" 2>&1
	check "$c --help" 0 $?
	contains "$c --help has examples" "$t/h" "Examples:"
	contains "$c --help has exit codes" "$t/h" "Exit codes:"
done
"$fs" --bogus >/dev/null 2>&1
check "unknown option is a usage error" 2 $?

# --- validate ---
"$fs" validate "$src/etc/fastsocket/profiles/web-server.yaml" "$src/etc/fastsocket/profiles/proxy.yaml" >"$t/o"
check "validate shipped profiles" 0 $?
"$fs" validate "$src/tests/cli/bad-profiles/unknown-param.yaml" 2>"$t/e"
check "validate bad profile" 2 $?
contains "validate message" "$t/e" "did you mean 'enable_listen_spawn'?"
"$fs" validate /nonexistent/p.yaml 2>/dev/null
check "validate unreadable profile" 1 $?

# --- a fake root: 4 CPUs, eth0 with 2 queues (virtio), lo ---
r=$t/root
make_fake_root "$r"
fingerprint "$r" >"$t/before"

"$fs" --root "$r" plan "$src/etc/fastsocket/profiles/proxy.yaml" >"$t/o" 2>&1
check "plan proxy" 0 $?
contains "plan shows rps" "$t/o" "[rps] eth0 rx-0: 0 -> f"
contains "plan shows irq" "$t/o" "[irq] eth0 irq 27 (virtio0-input.1): 0-3 -> 1"
contains "plan shows module load" "$t/o" "will be loaded"
cmp -s "$t/before" <(fingerprint "$r")
check "plan writes nothing" 0 $?

"$fs" --root "$r" apply "$src/etc/fastsocket/profiles/proxy.yaml" >"$t/o" 2>&1
check "apply proxy" 0 $?
contains "apply loaded the module" "$t/o" "[module] fastsocket.ko loaded"
contains "module got RFD" "$r/sys/module/fastsocket/parameters/enable_receive_flow_deliver" "1"
contains "rps written" "$r/sys/class/net/eth0/queues/rx-1/rps_cpus" "f"
"$fs" --root "$r" apply "$src/etc/fastsocket/profiles/proxy.yaml" >"$t/o" 2>&1
check "apply again" 0 $?
contains "apply again is a no-op" "$t/o" "no changes"
"$fs" --root "$r" status >"$t/o" 2>&1
check "status without drift" 0 $?
echo 1 >"$r/sys/class/net/eth0/queues/rx-0/rps_cpus"
"$fs" --root "$r" status --json >"$t/o" 2>&1
check "status with drift" 3 $?
contains "status json drift" "$t/o" '"target": "eth0 rx-0"'
"$fs" --root "$r" status --prometheus >"$t/o" 2>&1
contains "prometheus" "$t/o" "fastsocket_drift_values 1"
"$fs" --root "$r" revert >"$t/o" 2>&1
check "revert" 0 $?
cmp -s "$t/before" <(fingerprint "$r")
check "revert restores every file" 0 $?
[ ! -e "$r/sys/module/fastsocket" ]
check "revert unloads the module it loaded" 0 $?

# --- off / on, and the listeners of status ---
"$fs" --root "$r" off >"$t/o" 2>"$t/e"
check "off without the module" 1 $?
contains "off says the module is not loaded" "$t/e" "fastsocket.ko is not loaded"
m=$r/sys/module/fastsocket
mkdir -p "$m/parameters"
echo live >"$m/initstate"
echo 2 >"$m/parameters/enable_listen_spawn"
"$fs" --root "$r" off >"$t/o" 2>&1
check "off" 0 $?
contains "off wrote 0" "$m/parameters/enable_listen_spawn" "0"
contains "off says what changed" "$t/o" "enable_listen_spawn: 2 -> 0"
"$fs" --root "$r" off --json >"$t/o" 2>&1
check "off again" 0 $?
contains "off --json: unchanged" "$t/o" '"changed": false'
"$fs" --root "$r" on --mode 3 >/dev/null 2>&1
check "on --mode 3 is a usage error" 2 $?
"$fs" --root "$r" on --mode 1 --json >"$t/o" 2>&1
check "on --mode 1" 0 $?
contains "on --json: now 1" "$t/o" '"now": 1'
contains "on wrote 1" "$m/parameters/enable_listen_spawn" "1"
# off/on take the apply/revert lock: while another holds it, nothing is written.
mkdir -p "$r/run/fastsocket"
flock "$r/run/fastsocket/lock" sh -c '"$0" --root "$1" off >"$2/o" 2>"$2/e"; echo $? >"$2/rc"' "$fs" "$r" "$t"
check "off while the state lock is held" 1 "$(cat "$t/rc")"
contains "off names the lock" "$t/e" "run/fastsocket/lock"
contains "off under the lock left 1" "$m/parameters/enable_listen_spawn" "1"
mkdir -p "$r/proc/fastsocket"
printf '# fastsocket listeners v1\nnetns=4026531840 addr=0.0.0.0:80 pids=1,2 backlog=511 queued=0 cpus=0-3 cpu0=4 cpu3=1 local=5 remote=0 x=1\nbad line\nnetns=4026532001 addr=[::]:443 pids=- backlog=128 queued=2 cpus= local=0 remote=0\n' \
	>"$r/proc/fastsocket/listeners"
"$fs" --root "$r" status >"$t/o" 2>&1
contains "status lists the listeners" "$t/o" "[::]:443 (netns 4026532001): pids - backlog 128 queued 2"
contains "status warns once" "$t/o" "skipped 1 malformed line(s)"
"$fs" --root "$r" status --prometheus >"$t/o" 2>&1
contains "prometheus listener metric" "$t/o" 'fastsocket_listener_cpu_connections_total{netns="4026531840",addr="0.0.0.0:80",cpu="3"} 1'
if command -v promtool >/dev/null; then
	promtool check metrics <"$t/o" >"$t/p" 2>&1
	check "promtool check metrics" 0 $?
	[ -s "$t/p" ] && sed 's/^/    promtool: /' "$t/p"
else
	echo "skip: promtool not installed (Debian package prometheus)"
fi
rm -rf "$m" "$r/proc/fastsocket"

# --- run ---
"$fs" run --mode off --lib /nonexistent.so -- true 2>/dev/null
check "run with a missing --lib" 1 $?
lib=$t/libfsocket.so
cp /bin/true "$lib" # any readable file: --dry-run does not load it
LD_PRELOAD= "$fs" run --dry-run --lib "$lib" --listen-spawn 1 --cpus 0-1 -- nginx -g 'daemon off;' >"$t/o" 2>"$t/e"
check "run --dry-run" 0 $?
contains "dry-run LD_PRELOAD" "$t/o" "LD_PRELOAD=$lib"
contains "dry-run listen spawn" "$t/o" "FASTSOCKET_LISTEN_SPAWN=1"
contains "dry-run command" "$t/o" "nginx -g 'daemon off;'"
contains "one effect line" "$t/e" "fastsocket run: preloading $lib"
# --profile proxy: listen spawn, RFD and fast epoll come from its parameters.
LD_PRELOAD= "$fs" run --dry-run --lib "$lib" --profile "$src/etc/fastsocket/profiles/proxy.yaml" -- haproxy >"$t/o" 2>"$t/e"
check "run --profile proxy --dry-run" 0 $?
contains "profile: listen spawn" "$t/o" "FASTSOCKET_LISTEN_SPAWN=1"
contains "profile: RFD" "$t/o" "FASTSOCKET_RFD=1"
contains "profile: fast epoll" "$t/o" "FASTSOCKET_FAST_EPOLL=1"
contains "effect line names RFD" "$t/e" "RFD on"
LD_PRELOAD= "$fs" run --dry-run --lib "$lib" --profile "$src/etc/fastsocket/profiles/proxy.yaml" --rfd 0 -- haproxy >"$t/o" 2>/dev/null
contains "--rfd wins over the profile" "$t/o" "FASTSOCKET_RFD=0"
LD_PRELOAD="$lib" "$fs" run --dry-run --lib "$lib" -- x >"$t/o" 2>/dev/null
[ "$(grep -c "$lib" "$t/o")" = 1 ] && ! grep -q "$lib:$lib" "$t/o"
check "LD_PRELOAD not duplicated" 0 $?
# exec: the exit code and the PID are the program's (mode off, no library).
FASTSOCKET_LIB=/nonexistent "$fs" run --mode off --lib "" -- sh -c 'exit 7' 2>/dev/null
check "run exit code" 7 $?
FASTSOCKET_LIB=/nonexistent "$fs" run --mode off -- sh -c 'echo $$ >"$0"' "$t/pid" 2>/dev/null &
pid=$!
wait $pid
[ "$(cat "$t/pid")" = "$pid" ]
check "run keeps the PID (exec)" 0 $?
"$fs" run --mode off -- /nonexistent/cmd 2>/dev/null
check "run of a missing program" 127 $?

exit $fail
