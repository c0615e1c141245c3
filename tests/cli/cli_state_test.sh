#!/bin/bash
# The state-changing commands under hostile conditions, on fake roots:
# concurrent applies, kill -9 during apply, FIFOs in sysfs, non-UTF-8 bytes,
# malformed counters (checked with promtool), '..' and symlinks in the saved
# state, IRQs of two NICs on two NUMA nodes, run --dry-run without the library.
# usage: cli_state_test.sh FASTSOCKET_BINARY SOURCE_DIR
# FS_STATE_ROUNDS (default 50) and FS_KILL_ROUNDS (default 100) scale the loops.
set -u
fs=$1
src=$2
proxy=$src/etc/fastsocket/profiles/proxy.yaml
web=$src/etc/fastsocket/profiles/web-server.yaml
wait_opt=${FS_TEST_WAIT_OPT---wait} # "" to run the loops against a binary without --wait
fail=0
. "$(dirname "$0")/fake_root.sh"
t=$(mktemp -d /tmp/fastsocket-cli-state.XXXXXX)
trap 'rm -rf "$t"' EXIT

ok() { echo "ok: $1"; }
bad() {
	echo "FAIL: $1"
	fail=1
}
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: exit code $3, expected $2"; fi; }
contains() {
	if grep -qF -- "$3" "$2"; then ok "$1"; else
		bad "$1: '$3' not in:"
		sed 's/^/    /' "$2" | head -20
	fi
}
same_tree() { # same_tree NAME ROOT BEFORE_FILE
	if cmp -s "$3" <(fingerprint "$2"); then ok "$1"; else
		bad "$1: files differ:"
		diff "$3" <(fingerprint "$2") | head -20 | sed 's/^/    /'
	fi
}
no_temp_files() {
	local left
	left=$(find "$2" -name '*.tmp.*')
	if [ -z "$left" ]; then ok "$1"; else bad "$1: $left"; fi
}

# --- the lock: busy message with the holder's pid, --wait, 0600 ---
r=$t/lock
make_fake_root "$r"
mkdir -p "$r/run/fastsocket"
(exec 9>>"$r/run/fastsocket/lock" && flock 9 && echo $BASHPID >"$r/run/fastsocket/lock" && sleep 5) &
holder=$!
sleep 0.5
"$fs" --root "$r" apply "$proxy" >"$t/o" 2>&1
check "apply while another holds the lock fails" 1 $?
contains "busy message names the holder" "$t/o" "(pid $holder) holds"
contains "busy message suggests --wait" "$t/o" "--wait"
[ ! -e "$r/var/lib/fastsocket/saved.json" ] && ok "busy apply changed nothing" || bad "busy apply wrote state"
"$fs" --root "$r" apply --wait=0.2 "$proxy" >"$t/o" 2>&1
check "--wait=0.2 gives up" 1 $?
"$fs" --root "$r" apply --wait=soon "$proxy" >"$t/o" 2>&1
check "--wait=soon is a usage error" 2 $?
"$fs" --root "$r" apply --wait "$proxy" >"$t/o" 2>&1
check "--wait waits for the holder" 0 $?
wait $holder
[ "$(stat -c %a "$r/run/fastsocket/lock")" = 600 ] && ok "lock file is 0600" || bad "lock mode $(stat -c %a "$r/run/fastsocket/lock")"
"$fs" --root "$r" revert --wait=5 >/dev/null 2>&1
check "revert --wait=5" 0 $?

# --- two applies of different profiles at once, then revert ---
r=$t/conc
make_fake_root "$r"
fingerprint "$r" >"$t/before"
rounds=${FS_STATE_ROUNDS:-50}
rcs=""
for ((i = 0; i < rounds; i++)); do
	"$fs" --root "$r" apply $wait_opt "$proxy" >/dev/null 2>&1 &
	a=$!
	"$fs" --root "$r" apply $wait_opt "$web" >/dev/null 2>&1 &
	b=$!
	wait $a; rcs+=" $?"
	wait $b; rcs+=" $?"
done
[ -z "${rcs//[ 0]/}" ] && ok "$((2 * rounds)) concurrent applies succeeded" || bad "concurrent apply exit codes:$rcs"
"$fs" --root "$r" revert $wait_opt >"$t/o" 2>&1
check "revert after concurrent applies" 0 $?
same_tree "concurrent applies then revert: byte-identical" "$r" "$t/before"
[ ! -e "$r/var/lib/fastsocket/saved.json" ] && [ ! -e "$r/sys/module/fastsocket" ] &&
	ok "saved state removed, module unloaded" || bad "saved state or module left after revert"

# --- kill -9 at random moments during apply, then revert ---
r=$t/kill
make_fake_root "$r"
fingerprint "$r" >"$t/before"
rounds=${FS_KILL_ROUNDS:-100}
for ((i = 0; i < rounds; i++)); do
	p=$proxy
	((i % 2)) && p=$web
	"$fs" --root "$r" apply $wait_opt "$p" >/dev/null 2>&1 &
	a=$!
	sleep "0.0$((RANDOM % 30))"
	kill -9 $a 2>/dev/null
	wait $a 2>/dev/null
done
sleep 0.3 # a modprobe the killed apply started finishes (it holds the lock meanwhile)
"$fs" --root "$r" revert $wait_opt >"$t/o" 2>&1
check "revert after $rounds killed applies" 0 $?
same_tree "killed applies then revert: byte-identical" "$r" "$t/before"
no_temp_files "no temporary files left" "$r"

# --- a FIFO in place of a sysfs or procfs file: no hang ---
r=$t/fifo
make_fake_root "$r"
rm "$r/sys/class/net/eth0/queues/rx-0/rps_cpus" "$r/proc/sys/net/core/somaxconn"
mkfifo "$r/sys/class/net/eth0/queues/rx-0/rps_cpus" "$r/proc/sys/net/core/somaxconn"
timeout 10 "$fs" --root "$r" plan "$proxy" >"$t/o" 2>&1
rc=$?
[ $rc != 124 ] && ok "plan with FIFOs returns (exit $rc)" || bad "plan hangs on a FIFO"
contains "plan names the FIFO" "$t/o" "somaxconn"
timeout 10 "$fs" --root "$r" status >"$t/o" 2>&1
rc=$?
[ $rc != 124 ] && ok "status with FIFOs returns (exit $rc)" || bad "status hangs on a FIFO"
timeout 10 "$fs" --root "$r" apply "$proxy" >"$t/o" 2>&1
rc=$?
[ $rc != 124 ] && ok "apply with FIFOs returns (exit $rc)" || bad "apply hangs on a FIFO"

# A saved state that cannot be read is not "no state": apply must not
# replace it (the originals in it would be lost).
r=$t/fifo-state
make_fake_root "$r"
mkdir -p "$r/var/lib/fastsocket"
mkfifo "$r/var/lib/fastsocket/saved.json"
timeout 10 "$fs" --root "$r" apply "$proxy" >"$t/o" 2>&1
check "apply with an unreadable saved state fails" 1 $?
contains "it names the saved state" "$t/o" "cannot read the saved state"
[ -p "$r/var/lib/fastsocket/saved.json" ] && ok "the saved state is left alone" || bad "the saved state was replaced"

# --- non-UTF-8 bytes: a Latin-1 modprobe.d file, a module version ---
r=$t/latin1
make_fake_root "$r"
mkdir -p "$r/etc/modprobe.d"
printf '# r\xe9glages locaux (Latin-1)\noptions fastsocket enable_fast_epoll=1\n' >"$r/etc/modprobe.d/fastsocket.conf"
fingerprint "$r" >"$t/before"
"$fs" --root "$r" apply "$proxy" >"$t/o" 2>&1
check "apply over a Latin-1 modprobe file" 0 $?
printf '0.1\xff\n' >"$r/sys/module/fastsocket/version"
"$fs" --root "$r" status --json >"$t/o" 2>"$t/e"
rc=$?
[ $rc = 0 ] || [ $rc = 3 ] && ok "status --json with a non-UTF-8 version (exit $rc)" || bad "status --json exit $rc: $(head -c 200 "$t/e")"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$t/o" 2>/dev/null && ok "status --json output is JSON" ||
	bad "status --json output is not JSON"
"$fs" --root "$r" revert >"$t/o" 2>&1
check "revert restores the Latin-1 file" 0 $?
same_tree "Latin-1 modprobe file byte-identical after revert" "$r" "$t/before"

# --- malformed counters and duplicate column names: status degrades,
# Prometheus output passes promtool ---
r=$t/stats
make_fake_root "$r"
"$fs" --root "$r" apply "$proxy" >/dev/null 2>&1
mkdir -p "$r/proc/fastsocket"
promcheck() { # promcheck NAME STATS_CONTENT
	printf "$2" >"$r/proc/fastsocket/stats"
	"$fs" --root "$r" status --prometheus >"$t/prom" 2>"$t/e"
	local rc=$?
	if [ $rc != 0 ] && [ $rc != 3 ]; then
		bad "$1: status --prometheus exit $rc: $(head -c 300 "$t/e")"
		return
	fi
	"$fs" --root "$r" status >"$t/o" 2>&1
	rc=$?
	[ $rc = 0 ] || [ $rc = 3 ] || bad "$1: status exit $rc"
	if ! command -v promtool >/dev/null; then
		echo "SKIP: $1: promtool not installed (scripts/install-deps.sh installs it)"
	elif promtool check metrics <"$t/prom" >"$t/pt" 2>&1; then
		ok "$1: promtool accepts the metrics"
	else
		bad "$1: promtool check metrics:"
		sed 's/^/    /' "$t/pt" | head
	fi
}
promcheck "valid counters" 'cpu local_accept spawn\ncpu0 1 2\ncpu1 3 4\ntotal 4 6\n'
promcheck "a number above 2^64" 'cpu local_accept spawn\ncpu0 1 99999999999999999999999\ntotal 1 2\n'
contains "status warns about the bad line" "$t/o" "unexpected format"
promcheck "a cpu index above 2^64" 'cpu a\ncpu99999999999999999999999 1\n'
promcheck "duplicate columns" 'cpu spawn spawn rfd_hit rfd_hit rfd_hit\ncpu0 1 2 3 4 5\ncpu1 1 2 3 4 5\ntotal 2 4 6 8 10\n'
contains "status warns about duplicate columns" "$t/o" "appears more than once"
promcheck "odd column names" 'cpu fooBar latency_ms a-b "q\\\\ \xe9t\xe9 other_events spawn_2 spawn spawn\ncpu0 1 2 3 4 5 6 7 8 9\ncpu1 1 2 3 4 5 6 7 8 9\n'
promcheck "a repeated cpu row" 'cpu a\ncpu0 1\ncpu0 2\n'
promcheck "garbage" '\x01\x02 \xff\n\n%%%% x\n'
printf 'x\xffy' >"$r/sys/module/fastsocket/parameters/enable_listen_spawn"
promcheck "a non-numeric parameter" 'cpu a\ncpu0 1\n'
"$fs" --root "$r" revert >/dev/null 2>&1

# --- paths in the saved state stay inside --root ---
r=$t/conf/root
make_fake_root "$r"
echo precious >"$t/conf/outside"
echo precious >"$t/conf/outside2"
"$fs" --root "$r" apply "$proxy" >/dev/null 2>&1
sed -i 's|"/proc/sys/net/core/somaxconn"|"/proc/sys/../../../outside"|' "$r/var/lib/fastsocket/saved.json"
ln -s ../../../../../outside2 "$r/proc/sys/net/ipv4/evil"
sed -i 's|"/proc/sys/net/ipv4/tcp_fin_timeout"|"/proc/sys/net/ipv4/evil"|' "$r/var/lib/fastsocket/saved.json"
grep -q outside "$r/var/lib/fastsocket/saved.json" && grep -q evil "$r/var/lib/fastsocket/saved.json" ||
	bad "test setup: could not plant the paths"
"$fs" --root "$r" revert >"$t/o" 2>&1
check "revert with escaping paths fails" 1 $?
contains "'..' refused" "$t/o" "'..'"
contains "symlink escape refused" "$t/o" "through a symlink"
[ "$(cat "$t/conf/outside")" = precious ] && [ "$(cat "$t/conf/outside2")" = precious ] &&
	ok "nothing written outside --root" || bad "revert wrote outside --root"

# --- two NICs on two NUMA nodes, 48 CPUs, irq.cpus: all ---
r=$t/numa
mkdir -p "$r/sys/devices/system/cpu" "$r/sys/devices/system/node/node0" "$r/sys/devices/system/node/node1" "$r/proc"
echo 0-47 >"$r/sys/devices/system/cpu/online"
echo 0-47 >"$r/sys/devices/system/cpu/possible"
echo 0-23 >"$r/sys/devices/system/node/node0/cpulist"
echo 24-47 >"$r/sys/devices/system/node/node1/cpulist"
echo "$(printf '      CPU%d' $(seq 0 47))" >"$r/proc/interrupts"
irq=40
for n in 0 1; do
	nic=eth$n dev=0000:0$((n + 3)):00.0
	mkdir -p "$r/sys/devices/pci0000:00/$dev"
	echo $n >"$r/sys/devices/pci0000:00/$dev/numa_node"
	mkdir -p "$r/sys/class/net/$nic"
	ln -s "../../../devices/pci0000:00/$dev" "$r/sys/class/net/$nic/device"
	for q in $(seq 0 7); do
		mkdir -p "$r/sys/class/net/$nic/queues/rx-$q" "$r/sys/class/net/$nic/queues/tx-$q"
		echo 0 >"$r/sys/class/net/$nic/queues/rx-$q/rps_cpus"
		echo 0 >"$r/sys/class/net/$nic/queues/rx-$q/rps_flow_cnt"
		echo 0 >"$r/sys/class/net/$nic/queues/tx-$q/xps_cpus"
		echo " $irq: $(printf ' 0%.0s' $(seq 48)) PCI-MSIX-$dev $q-edge $nic-TxRx-$q" >>"$r/proc/interrupts"
		mkdir -p "$r/proc/irq/$irq"
		echo 0-47 >"$r/proc/irq/$irq/smp_affinity_list"
		irq=$((irq + 1))
	done
done
fake_sysctls "$r"
"$fs" --root "$r" plan "$web" >"$t/o" 2>&1
check "plan web-server on two NICs" 0 $?
grep -o '^ *\[irq\] eth[01] irq [0-9]* ([^)]*): [^ ]* -> [0-9]*' "$t/o" | sed 's/.*\] \(eth[01]\) .* -> \([0-9]*\)$/\1 \2/' >"$t/irqs"
[ "$(wc -l <"$t/irqs")" = 16 ] && ok "16 queue IRQs planned" || bad "$(wc -l <"$t/irqs") IRQ lines planned, expected 16"
[ "$(cut -d' ' -f2 "$t/irqs" | sort -u | wc -l)" = 16 ] && ok "16 distinct CPUs for 16 queue IRQs" ||
	bad "IRQ CPUs not distinct: $(cut -d' ' -f2 "$t/irqs" | sort -n | tr '\n' ' ')"
awk '$1 == "eth0" && $2 > 23 { exit 1 } $1 == "eth1" && $2 < 24 { exit 1 }' "$t/irqs" &&
	ok "each NIC's IRQs on its own NUMA node" || bad "IRQs on the remote node: $(tr '\n' ' ' <"$t/irqs")"

# --- run --dry-run without the library ---
LD_PRELOAD= "$fs" run --dry-run --lib /nonexistent/libfsocket.so -- nginx >"$t/o" 2>"$t/e"
check "run --dry-run without the library" 0 $?
contains "says which library is missing" "$t/e" "libfsocket.so not found at /nonexistent/libfsocket.so"
contains "suggests --mode off" "$t/e" "--mode off"
contains "still prints the command" "$t/o" "nginx"
LD_PRELOAD= "$fs" run --lib /nonexistent/libfsocket.so -- true >/dev/null 2>"$t/e"
check "run without the library fails" 1 $?
contains "error suggests --mode off" "$t/e" "--mode off"

exit $fail
