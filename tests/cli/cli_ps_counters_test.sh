#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `fastsocket ps` against the real library (ctest cli.ps_counters): a server
# (counters_server.c) under LD_PRELOAD of the built libfsocket.so on the
# host's kernel (user-space fallback, FASTSOCKET_MODE=userspace) accepts
# connections; its counters file /run/fastsocket/lib/PID appears at
# listen(), counts them, and `ps --json` reports them; a forked child gets a
# file of its own and never writes into its parent's; each file goes away
# at exit().  Needs root (the file of a root process goes to /run) and
# Linux >= 6.1 (the fallback); exit 77 (skip) otherwise.
#   cli_ps_counters_test.sh FASTSOCKET LIBFSOCKET COUNTERS_SERVER
set -u
fs=$1 lib=$2 srv=$3
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
IFS=. read -r maj min _ <<<"$(uname -r)"
if [ "$maj" -lt 6 ] || { [ "$maj" = 6 ] && [ "$min" -lt 1 ]; }; then
	echo "SKIP: kernel $(uname -r) < 6.1 has no user-space fallback"
	exit 77
fi
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

coproc SRV { exec env LD_PRELOAD="$lib" FASTSOCKET_MODE=userspace FASTSOCKET_LISTEN_SPAWN=2 "$srv"; }
srv_pid=$SRV_PID
trap 'kill "$srv_pid" "${child:-$srv_pid}" 2>/dev/null' EXIT
say() { echo "$1" >&"${SRV[1]}"; }
hear() { local l; read -r -t 20 l <&"${SRV[0]}" || l="(nothing)"; echo "$l"; }
connect() { local i; for i in $(seq 1 "$1"); do exec 5<>"/dev/tcp/127.0.0.1/$port" && exec 5>&-; done; }
# ps --json, then a Python check of it: JSON on stdin, the expression in $1.
ps_check() {
	local name=$1 expr=$2
	if "$fs" ps --json | python3 -c "
import json, sys
j = json.load(sys.stdin)
procs = {p['pid']: p for p in j['processes']}
c = lambda pid: procs[pid]['library_counters']
l = lambda pid: c(pid)['listeners'][0]
sys.exit(0 if ($expr) else 1)
" parent="$pid" 2>/tmp/ps_check.$$; then ok "$name"; else
		bad "$name: $expr"; cat /tmp/ps_check.$$; "$fs" ps; fi
	rm -f /tmp/ps_check.$$
}

read -r _ port _ pid <<<"$(hear)"
file=/run/fastsocket/lib/$pid
[ -f "$file" ] && ok "file appears at listen()" || bad "no $file"
[ "$(stat -c %a "$file" 2>/dev/null)" = 600 ] && ok "file 0600" || bad "file mode $(stat -c %a "$file" 2>&1)"
[ "$(stat -c %a /run/fastsocket/lib)" = 700 ] && ok "directory 0700" || bad "directory mode $(stat -c %a /run/fastsocket/lib)"

say "accept 7"
connect 7
[ "$(hear)" = ok ] || bad "server did not accept 7"
P=$pid
ps_check "ps --json: 7 accepts on the listener, fallback path, a CPU held" \
	"l($P)['port'] == $port and l($P)['path'] == 'fallback' and l($P)['accepts_local'] + l($P)['accepts_global'] == 7 and l($P)['cpus'] != '' and c($P)['backend'] == 'userspace' and c($P)['file'] == '$file'"
say unwatch
hear >/dev/null
ps_check "CPU handed back after EPOLL_CTL_DEL" "l($P)['cpus'] == ''"

say "fork 3"
read -r _ child <<<"$(hear)"
connect 3
line=$(hear)
[ "$line" = "child $child ok" ] || bad "child did not accept 3: $line"
[ -f "/run/fastsocket/lib/$child" ] && ok "forked child has its own file" || bad "no file for child $child"
ps_check "child counts its 3 accepts in its own file; parent still 7" \
	"l($child)['accepts_global'] == 3 and l($child)['accepts_local'] == 0 and l($P)['accepts_local'] + l($P)['accepts_global'] == 7 and c($child)['file'] != c($P)['file']"
kill -TERM "$child"
for _ in $(seq 50); do [ -e "/run/fastsocket/lib/$child" ] || break; sleep 0.1; done
[ ! -e "/run/fastsocket/lib/$child" ] && ok "child's file removed at its exit()" || bad "child's file left"
[ -f "$file" ] && ok "parent's file survives the child's exit" || bad "parent's file gone with the child"

say exit
wait "$srv_pid" 2>/dev/null
[ ! -e "$file" ] && ok "file removed at exit()" || bad "$file left after exit"
"$fs" ps >/tmp/ps_out.$$ 2>&1
echo "--- fastsocket ps (after exit)"; cat /tmp/ps_out.$$; rm -f /tmp/ps_out.$$
exit $fail
