#!/bin/sh
# Real applications under libfsocket.so (issue 10, item 4), host and VM
# (POSIX sh: the VM suite runs it with busybox).  One application per call:
#
#   apps-test.sh nginx | nginx-upgrade | haproxy | node | python
#   apps-test.sh selfcheck   # fs-acceptlog.so counts what fsbench-server counts
#
# Each runs twice in the same call: plain (control) and under the library
# (LD_PRELOAD), both with the measurement preload fs-acceptlog.so in front,
# which logs CPU and SO_INCOMING_CPU of every accepted connection.  Load:
# fsbench-load over every listener (IPv4 and IPv6 for the dual-stack ones),
# one pinned client thread per CPU, every request counted.
#
# Asserted (the issue's targets):
#   both runs:     every request succeeded, every connection was accepted
#                  (log lines == requests), the application stopped cleanly
#   library run:   locality >= FSAPPS_MIN_LOCALITY (99) % on every listener
#                  (nginx-upgrade: during the upgrade, both generations, and
#                  after it, the new generation alone)
# The plain run's locality is printed for comparison, not asserted.
#
# Environment: FSAPPS_LIB, FSAPPS_SHIM, FSAPPS_LOAD (paths, required);
# FSAPPS_CONNS (requests per listener, 3000), FSAPPS_SETTLE (seconds after
# the first answer before load, 1), FSAPPS_UPGRADE_SECS (load during the
# binary upgrade, 6), FSAPPS_MIN_LOCALITY (99), FSAPPS_SERVER (fsbench-server,
# selfcheck), FSAPPS_DIR (scripts beside
# this one), NODE (node), PYTHON (/usr/bin/python3: a pyenv shim would run
# under the preload too), NGINX, HAPROXY.
# Output: "RESULT app=.. run=plain|library listener=4:PORT requests=.. failures=..
# accepted=.. local=.. locality=..%" per listener, "ok:"/"FAIL:" lines,
# exit 0 only without FAIL.
set -u
APP=${1:-}
# nginx-upgrade: the old workers close their local listeners on WINCH, and
# without net.ipv4.tcp_migrate_req the connections queued there are reset
# (as with nginx's own "listen ... reuseport").  The web-server and proxy
# profiles set it to 1; the test runs as they leave the system: in a private
# network namespace with it set (host), or with it set for the run (VM).
if [ "$APP" = nginx-upgrade ] && [ -z "${FSAPPS_MIGRATE_SET:-}" ]; then
	export FSAPPS_MIGRATE_SET=1
	if command -v unshare >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
		exec unshare -n sh -c 'ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=1 && exec sh "$0" "$@"' "$0" "$@"
	fi
	old_migrate=$(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null || echo 0)
	echo 1 >/proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null
	# restored by cleanup()
fi
LIB=${FSAPPS_LIB:?FSAPPS_LIB: path of libfsocket.so}
SHIM=${FSAPPS_SHIM:?FSAPPS_SHIM: path of fs-acceptlog.so}
LOAD=${FSAPPS_LOAD:?FSAPPS_LOAD: path of fsbench-load}
CONNS=${FSAPPS_CONNS:-3000}
SETTLE=${FSAPPS_SETTLE:-1}
UPGRADE_SECS=${FSAPPS_UPGRADE_SECS:-6}
MIN_LOC=${FSAPPS_MIN_LOCALITY:-99}
HERE=${FSAPPS_DIR:-$(cd "$(dirname "$0")" && pwd)}
NODE=${NODE:-node}
PYTHON=${PYTHON:-/usr/bin/python3}
NGINX=${NGINX:-/usr/sbin/nginx}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
NCPU=$(grep -c '^processor' /proc/cpuinfo)
W=$(mktemp -d /tmp/fsapps.XXXXXX)
chmod 755 "$W"	# nginx workers (nobody) open the slot locks and the log here
ACC=$W/accepts
fails=0

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }
# alive PID: running, not a zombie (Z) or dead (X).  One read of the state: a
# test of /proc/PID then a read of its status raced with the reaping of a
# zombie (the status gone in between read as alive: CI of 8447d73, node).
proc_state() { sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null; }
alive() {
	st=$(proc_state "$1")
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
# Whatever this script started is killed when it ends (a failed or killed
# run must not leave a server on the machine): masters and their children.
STARTED=
# ours PID: still one of ours (not a reused pid): $W in its command line or
# environment (nginx and haproxy name it in their command line, node and
# python have it in their environment)
ours() { cat "/proc/$1/cmdline" "/proc/$1/environ" 2>/dev/null | tr '\0' ' ' | grep -q "$W"; }
cleanup() {
	live=
	for p in $STARTED; do
		# stopped first: no new children while we look (an upgraded
		# nginx's new master is the old one's child)
		alive "$p" && ours "$p" && kill -STOP "$p" 2>/dev/null && live="$live $p"
	done
	kids=
	for p in $live; do kids="$kids $(children "$p")"; done
	for p in $kids $live; do kill -KILL "$p" 2>/dev/null; done
	[ -z "${old_migrate:-}" ] || echo "$old_migrate" >/proc/sys/net/ipv4/tcp_migrate_req
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for f in "$LIB" "$SHIM" "$LOAD"; do
	[ -f "$f" ] || { bad "missing $f"; exit 1; }
done

# answers ADDR PORT: one request succeeds
answers() { [ "$(field failures "$("$LOAD" -a "$1" -p "$2" -t 1 -n 1 -T 2000 2>/dev/null)")" = 0 ]; }
# wait_ready ADDR PORT: up to 60 s (TCG on a busy host starts slowly)
wait_ready() {
	i=0
	while [ $i -lt 120 ]; do
		answers "$1" "$2" && return 0
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}
# free_port: a port nobody answers on, different per call
free_port() {
	p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
	while answers 127.0.0.1 $p || answers ::1 $p; do p=$((p + 1)); done
	echo $p
}
# children PID: child processes of PID (busybox has no pgrep)
children() {
	for f in /proc/[0-9]*/stat; do
		read -r cpid _comm _state cppid _rest 2>/dev/null <"$f" || continue
		[ "$cppid" = "$1" ] && echo "$cpid"
	done
}
# wait_gone PID...: up to 20 s for every PID to exit
# (GONE_WAITED: tenths of a second waited, GONE_LEFT: "pid:state" of those left)
wait_gone() {
	GONE_WAITED=0 GONE_LEFT=
	for p in "$@"; do
		while alive "$p" && [ $GONE_WAITED -lt 200 ]; do sleep 0.1; GONE_WAITED=$((GONE_WAITED + 1)); done
	done
	for p in "$@"; do
		alive "$p" && GONE_LEFT="$GONE_LEFT $p:$st"
	done
	[ -z "$GONE_LEFT" ]
}
# tally FAMILY PORT [PIDS]: "accepted=N local=M locality=P%" from the log,
# only connections accepted by PIDS (space separated) if given.
tally() {
	# shellcheck disable=SC2086 # PIDS: newline or space separated
	awk -v fam="$1" -v port="$2" -v pids=" $(echo ${3:-}) " '
		$4 == fam && $5 == port && (pids == "  " || index(pids, " " $1 " ")) {
			n++; if ($2 == $3) l++ }
		END { printf "accepted=%d local=%d locality=%.2f%%\n", n, l, n ? 100 * l / n : 0 }' "$ACC"
}
# preload RUN: the LD_PRELOAD value of a run
preload() { if [ "$1" = library ]; then echo "$SHIM $LIB"; else echo "$SHIM"; fi; }
# start_bg RUN CMD...: start CMD in the background with the run's preload
start_bg() {
	run=$1
	shift
	: >"$ACC"
	chmod 666 "$ACC"
	# FASTSOCKET_VERBOSE=1: the start-up line and the local listeners on
	# stderr (nginx: error.log), for the record of a failed run.
	FSAPPS_ACCEPT_LOG=$ACC FASTSOCKET_RUNDIR=$W FASTSOCKET_VERBOSE=${FASTSOCKET_VERBOSE:-1} \
		FASTSOCKET_LISTEN_SPAWN=${FASTSOCKET_LISTEN_SPAWN:-2} \
		LD_PRELOAD=$(preload "$run") "$@" >"$W/$APP.$run.out" 2>"$W/$APP.$run.err" &
	PID=$!
	STARTED="$STARTED $PID"
}
# measure RUN LISTENERS: load every listener ("FAMILY:ADDR:PORT", space
# separated), one after the other, then check requests, log and locality.
measure() {
	run=$1
	for l in $2; do
		fam=${l%%:*}
		rest=${l#*:}
		port=${rest##*:}
		addr=${rest%:*}
		: >"$ACC"
		line=$("$LOAD" -a "$addr" -p "$port" -t "$NCPU" -n "$CONNS" -T 20000 2>&1)
		sleep 0.2	# the last accepts are logged
		check_listener "$run" "$fam" "$port" "$line" "$CONNS"
	done
}
# check_listener RUN FAMILY PORT LOADLINE EXPECTED_REQUESTS [PIDS]
check_listener() {
	t=$(tally "$2" "$3" "${6:-}")
	echo "RESULT app=$APP run=$1 listener=$2:$3 requests=$(field conns "$4") failures=$(field failures "$4")" \
		"seconds=$(field seconds "$4") $t"
	[ "$(field failures "$4")" = 0 ] && [ "$(field conns "$4")" = "$5" ] &&
		ok "$1 $2:$3: $5 requests, 0 failed" || bad "$1 $2:$3: load: $4"
	[ "$(field accepted "$t")" = "$5" ] && ok "$1 $2:$3: all $5 connections accepted and logged" ||
		bad "$1 $2:$3: $(field accepted "$t") connections logged for $5 requests"
	check_locality "$1" "$2:$3" "$t"
}
# check_locality RUN WHAT TALLY: library runs only
check_locality() {
	[ "$1" = library ] || return 0
	loc=$(field locality "$3" | tr -d %)
	[ "$(echo "$loc" | cut -d. -f1)" -ge "$MIN_LOC" ] && ok "library $2: locality $loc% >= $MIN_LOC%" && return
	bad "library $2: locality $loc% < $MIN_LOC%"
	# for the record: who accepted what (the whole log, every listener)
	echo "   accepts by pid, cpu, incoming cpu (count):"
	awk '{ print "     " $1, $2, $3 }' "$ACC" | sort | uniq -c | sort -rn | head -n 16
	echo "   library lines of the log:"
	grep -h fastsocket "$W/nginx/logs/error.log" "$W/$APP.$1.err" 2>/dev/null | tail -n 20 | sed 's/^/     /'
}
# stopped RUN RC PIDS...: the application exited with RC 0 and nothing of it is left
stopped() {
	run=$1 rc=$2
	shift 2
	# wait_gone first: its GONE_* name what is left whatever RC says
	if wait_gone "$@" && [ "$rc" = 0 ]; then
		ok "$run: stopped cleanly"
	else
		bad "$run: stop: exit status $rc; after $GONE_WAITED/10 s left:${GONE_LEFT:- none}"
	fi
	# The start-up line names the back end (one per executed program: node's
	# cluster workers are programs of their own; none when the library
	# writes nothing to stderr unless asked, as on branch lib-fidelity).
	if [ "$run" = library ]; then
		n=$(grep '^fastsocket:' "$W/$APP.$run.err" | sort -u | wc -l)
		[ "$n" -le 1 ] && echo "   start-up line: $(grep '^fastsocket:' "$W/$APP.$run.err" | head -n 1)" ||
			bad "library: $n different start-up lines: $(head -c 300 "$W/$APP.$run.err")"
	fi
}

# measure_stop RUN LISTENERS SIGNAL: measure every listener, then stop the
# application (PID, our child) with SIGNAL: it and its children must go.
measure_stop() {
	workers=$(children "$PID")
	measure "$1" "$2"
	kill -"$3" "$PID"
	wait "$PID"
	# shellcheck disable=SC2086 # workers: a list
	stopped "$1" $? "$PID" $workers
}

# ---- nginx: Debian's default dual-stack "listen 80; listen [::]:80;" --------
nginx_conf() { # PORT DAEMON(on|off)
	mkdir -p "$W/nginx/logs"
	cat >"$W/nginx/nginx.conf" <<NGX
daemon $2;
master_process on;
# nginx passes only the variables named here to a new binary (USR2); without
# them the upgraded nginx runs without the library and the measurement.
env LD_PRELOAD;
env FASTSOCKET_RUNDIR;
env FASTSOCKET_VERBOSE;
env FASTSOCKET_LISTEN_SPAWN;
env FASTSOCKET_LOG_FILE;
env FSAPPS_ACCEPT_LOG;
worker_processes auto;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log notice;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $W/nginx/body;
  proxy_temp_path $W/nginx/proxy;
  fastcgi_temp_path $W/nginx/fastcgi;
  uwsgi_temp_path $W/nginx/uwsgi;
  scgi_temp_path $W/nginx/scgi;
  server {
    listen $1 default_server;
    listen [::]:$1 default_server;
    location / { return 200 "ok\n"; }
  }
}
NGX
}
nginx_start() { # RUN PORT [DAEMON]: PID is the master
	nginx_conf "$2" "${3:-off}"
	rm -f "$W/nginx/nginx.pid"
	start_bg "$1" "$NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf"
	if [ "${3:-off}" = on ]; then
		wait $PID || bad "$1: nginx did not start: $(head -c 500 "$W/$APP.$1.err")"
		PID=$(cat "$W/nginx/nginx.pid" 2>/dev/null)
		STARTED="$STARTED $PID"
	fi
	wait_ready 127.0.0.1 "$2" && wait_ready ::1 "$2" || bad "$1: nginx does not answer: $(tail -n 5 "$W/nginx/logs/error.log")"
	sleep "$SETTLE"
}
app_nginx() {
	for run in plain library; do
		port=$(free_port)
		nginx_start $run "$port"
		measure_stop $run "4:127.0.0.1:$port 6:::1:$port" QUIT
	done
}

# ---- nginx binary upgrade under load: USR2, then WINCH and QUIT to the old master
# As deployed: a daemon (a master whose parent is still the shell that
# started it ignores USR2, "the changing binary signal is ignored").
app_nginx_upgrade() {
	for run in plain library; do
		port=$(free_port)	# one per run: a stray master cannot spoil the next
		nginx_start $run "$port" on
		old=$PID
		[ -n "$old" ] || continue
		old_workers=$(children $old)
		: >"$ACC"
		"$LOAD" -a 127.0.0.1 -p "$port" -t "$NCPU" -d "$UPGRADE_SECS" -T 20000 >"$W/up4.out" 2>&1 &
		l4=$!
		"$LOAD" -a ::1 -p "$port" -t "$NCPU" -d "$UPGRADE_SECS" -T 20000 >"$W/up6.out" 2>&1 &
		l6=$!
		sleep 1
		kill -USR2 $old
		new=$(new_master "$old" 600)
		STARTED="$STARTED $new"
		[ -n "$new" ] || bad "$run: no new master 60 s after USR2: $(tail -n 5 "$W/nginx/logs/error.log")"
		sleep "$SETTLE"	# the new workers are up
		kill -WINCH $old
		sleep 0.5
		kill -QUIT $old
		wait $l4 $l6
		for l in "4 127.0.0.1 $W/up4.out" "6 ::1 $W/up6.out"; do
			set -- $l
			line=$(cat "$3")
			n=$(field conns "$line")
			echo "RESULT app=$APP run=$run phase=during-upgrade listener=$1:$port requests=$n" \
				"failures=$(field failures "$line") seconds=$(field seconds "$line")" \
				"old-workers: $(tally "$1" "$port" "$old_workers") all: $(tally "$1" "$port")"
			[ "$(field failures "$line")" = 0 ] && [ "${n:-0}" -gt 0 ] &&
				ok "$run $1:$port: $n requests during the upgrade, 0 failed" || bad "$run $1:$port during the upgrade: $line"
			# both generations: the target holds during the upgrade too
			check_locality $run "$1:$port during the upgrade" "$(tally "$1" "$port")"
		done
		wait_gone $old $old_workers && ok "$run: old master and workers gone" ||
			bad "$run: old master or workers left: $old $old_workers"
		[ -n "$new" ] || new=$(new_master "$old" 1)	# late: only to stop it
		STARTED="$STARTED $new"
		[ -n "$new" ] || continue
		if grep -q libfsocket "/proc/$new/maps" 2>/dev/null; then
			echo "   new master $new has libfsocket.so mapped"
		else
			echo "   new master $new does not have libfsocket.so mapped"
		fi
		# after the upgrade: the new generation alone, every listener
		new_workers=$(children $new)
		measure $run "4:127.0.0.1:$port 6:::1:$port"
		kill -QUIT $new
		stopped $run 0 $new $new_workers
	done
}
# new_master OLD TRIES: the master pid in nginx.pid once it is not OLD (and
# runs), polling every 0.1 s; empty if none
new_master() {
	i=0
	while [ $i -lt "$2" ]; do
		p=$(cat "$W/nginx/nginx.pid" 2>/dev/null)
		[ -n "$p" ] && [ "$p" != "$1" ] && alive "$p" && { echo "$p"; return; }	# caller adds it to STARTED
		sleep 0.1
		i=$((i + 1))
	done
}

# ---- haproxy: threads, answering itself --------------------------------------
app_haproxy() {
	for run in plain library; do
		port=$(free_port)
		cat >"$W/haproxy.cfg" <<HAP
global
  log stderr local0 warning
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind :$port
  http-request return status 200 content-type text/plain string "ok"
HAP
		start_bg $run "$HAPROXY" -f "$W/haproxy.cfg" -db
		wait_ready 127.0.0.1 "$port" || bad "$run: haproxy does not answer: $(cat "$W/$APP.$run.err")"
		sleep "$SETTLE"
		measure_stop $run "4:127.0.0.1:$port" USR1	# soft stop
	done
}

# ---- Node.js: cluster, one worker per CPU, server.listen(port) on "::" -------
app_node() {
	for run in plain library; do
		port=$(free_port)
		start_bg $run "$NODE" "$HERE/node-cluster.js" "$port"
		i=0
		while ! grep -q '^listening' "$W/$APP.$run.out" && alive $PID && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		wait_ready 127.0.0.1 "$port" && wait_ready ::1 "$port" ||
			bad "$run: node does not answer: $(head -c 500 "$W/$APP.$run.err")"
		sleep "$SETTLE"
		measure_stop $run "4:127.0.0.1:$port 6:::1:$port" TERM
	done
}

# ---- Python: ThreadingHTTPServer, one accepting thread -----------------------
app_python() {
	for run in plain library; do
		port=$(free_port)
		start_bg $run "$PYTHON" "$HERE/py-threading-server.py" "$port"
		wait_ready 127.0.0.1 "$port" || bad "$run: python does not answer: $(head -c 500 "$W/$APP.$run.err")"
		sleep "$SETTLE"
		measure_stop $run "4:127.0.0.1:$port" TERM
	done
}

# An application that is not installed: skipped (ctest SKIP_RETURN_CODE 77).
case "$APP" in
nginx | nginx-upgrade) need=$NGINX ;;
haproxy) need=$HAPROXY ;;
node) need=$NODE ;;
python) need=$PYTHON ;;
selfcheck) need=${FSAPPS_SERVER:-fsbench-server} ;;
*) need="sh" ;;
esac
command -v "$need" >/dev/null 2>&1 || { echo "SKIP: $need not installed (scripts/install-deps.sh)"; rm -rf "$W"; exit 77; }

# ---- the measurement itself: fs-acceptlog.so against fsbench-server -----
# fsbench-server counts locality itself (SO_INCOMING_CPU vs sched_getcpu()
# after each accept): the log must count the same connections and, within
# 1% (a worker may move between the two readings), the same local ones.
app_selfcheck() {
	port=$(free_port)
	start_bg plain "$FSAPPS_SERVER" -p "$port" -w "$NCPU"
	wait_ready 127.0.0.1 "$port" || bad "fsbench-server does not answer: $(cat "$W/$APP.plain.err")"
	line=$("$LOAD" -p "$port" -t "$NCPU" -n "$CONNS" -T 20000 2>&1)
	kill -TERM "$PID"
	wait "$PID"
	srv=$(grep accepted= "$W/$APP.plain.out")
	log=$(tally 4 "$port")
	echo "RESULT app=selfcheck load: $line | fsbench-server: $srv | fs-acceptlog: $log"
	[ "$(field failures "$line")" = 0 ] || bad "load: $line"
	n=$(field accepted "$srv")
	d=$(($(field local "$srv") - $(field local "$log")))
	[ "${n:-x}" = "$(field accepted "$log")" ] && ok "same $n connections counted" ||
		bad "fsbench-server accepted ${n:-?}, fs-acceptlog logged $(field accepted "$log")"
	[ "${d#-}" -le $((n / 100)) ] && ok "same local connections within 1% (difference $d)" ||
		bad "local: fsbench-server $(field local "$srv"), fs-acceptlog $(field local "$log")"
}

t0=$(date +%s)
case "$APP" in
nginx) app_nginx ;;
nginx-upgrade) app_nginx_upgrade ;;
haproxy) app_haproxy ;;
node) app_node ;;
python) app_python ;;
selfcheck) app_selfcheck ;;
*) echo "usage: $0 nginx|nginx-upgrade|haproxy|node|python|selfcheck" >&2; exit 2 ;;
esac
echo "$APP: $fails failure(s), $(($(date +%s) - t0)) s"
[ "$fails" -eq 0 ] && rm -rf "$W"
[ "$fails" -eq 0 ]
