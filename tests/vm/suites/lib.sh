#!/bin/sh
# lib suite (guest side, run as /suite.sh by tests/vm/run --suite lib):
# libfsocket.so on the module path, with real servers on loopback.
#  1. module loaded: the library's start-up line names the module
#  2. own epoll server (one worker per vCPU): locality stock vs fastsocket in
#     the same run; fastsocket >= 99%, zero failures
#  3. nginx (FS_NCPU workers, accept_mutex off) and haproxy (FS_NCPU threads,
#     proxying to a stock backend) under the library: zero failures, workers
#     pinned to distinct CPUs
#  4. kill -9 of a worker under load: the server recovers, zero failures after
#  4c. conformance (tests/lib/fs-conform): every scenario plainly and under
#     the library on the module path, identical observations
#  5. module absent (rmmod): one start-up line saying so, the app still works
#  6. module absent: backpressure on the fallback (tests/lib/stall-probe)
# Build first (the rig copies from FASTSOCKET_BUILD_DIR, default build/):
#   cmake -S . -B build && cmake --build build --target fsocket fsbench-server fsbench-load
set -u
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

LIB=$(find / -xdev -name libfsocket.so -path '*src/lib*' 2>/dev/null | head -n 1)
SRV=$(find / -xdev -name fsbench-server -type f 2>/dev/null | head -n 1)
LOAD=$(find / -xdev -name fsbench-load -type f 2>/dev/null | head -n 1)
N=${FS_NCPU:-4}
CONNS=${FS_LIB_CONNS:-3000}
HCONNS=${FS_LIB_HCONNS:-1000}	# haproxy is slow under TCG
W=/tmp/lib
mkdir -p $W/run
chmod 755 $W $W/run
export FASTSOCKET_RUNDIR=$W/run
# The start-up line goes to stderr only when asked for; this suite checks it.
export FASTSOCKET_VERBOSE=1
CONFORM=$(find / -xdev -name fs-conform -type f 2>/dev/null | head -n 1)

for f in "$LIB" "$SRV" "$LOAD"; do
	[ -n "$f" ] && [ -f "$f" ] || { bad "missing libfsocket.so / fsbench-server / fsbench-load (lib.files)"; echo "RESULT_LIB=$fails"; exit 1; }
done

field() { # KEY LINE
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}
wait_file() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
}
# wait_port PORT: until one request on 127.0.0.1:PORT succeeds (60 s at
# most); a server under TCG on a busy host can take seconds to start.
wait_port() {
	i=0
	while [ $i -lt 60 ]; do
		[ "$(field failures "$($LOAD -p "$1" -t 1 -n 1 -T 2000 2>/dev/null)")" = 0 ] && return 0
		sleep 1
		i=$((i + 1))
	done
}
# own_server TAG PRELOAD(0|1) -> sets LOADLINE, STATLINE, ERR
own_server() {
	rm -f $W/port
	if [ "$2" = 1 ]; then
		LD_PRELOAD=$LIB $SRV -w "$N" -f $W/port >$W/$1.out 2>$W/$1.err &
	else
		$SRV -w "$N" -f $W/port >$W/$1.out 2>$W/$1.err &
	fi
	spid=$!
	wait_file $W/port
	sleep 1
	LOADLINE=$($LOAD -p "$(cat $W/port)" -t "$N" -n "$CONNS" -T 20000)
	kill -TERM $spid
	wait $spid
	STATLINE=$(grep accepted= $W/$1.out)
	ERR=$(cat $W/$1.err)
}
# children PID: the child processes of PID (busybox has no pgrep)
children() {
	for f in /proc/[0-9]*/stat; do
		read -r cpid _comm _state cppid _rest <"$f" 2>/dev/null || continue
		[ "$cppid" = "$1" ] && echo "$cpid"
	done
}
# pinned PID...: distinct single-CPU affinities of the given tasks
distinct_pins() {
	for p in "$@"; do sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$p/status; done | sort -u | grep -cv '[-,]'
}

echo "== module: insmod $FS_KO $FS_PARAMS"
# shellcheck disable=SC2086
if insmod "$FS_KO" $FS_PARAMS && [ -c /dev/fastsocket ]; then
	ok "fastsocket.ko loaded"
	MOD=1
else
	bad "insmod $FS_KO"
	MOD=0
fi

echo "== 1. start-up line with the module"
line=$(LD_PRELOAD=$LIB $LOAD 2>&1 >/dev/null | grep '^fastsocket:')
echo "   $line"
n=$(LD_PRELOAD=$LIB $LOAD 2>&1 >/dev/null | grep -c '^fastsocket:')
[ "$n" = 1 ] && ok "exactly one start-up line" || bad "$n start-up lines"
case "$line" in
"fastsocket: using module /dev/fastsocket"*) ok "library uses the module" ;;
*) bad "library does not use the module: $line" ;;
esac

echo "== 2. own epoll server, $N workers, $CONNS connections, stock vs fastsocket"
own_server stock 0
echo "   stock:      $LOADLINE | $STATLINE"
stock_loc=$(field locality "$STATLINE")
[ "$(field failures "$LOADLINE")" = 0 ] && ok "stock: zero failures" || bad "stock failures: $LOADLINE"
own_server fsock 1
echo "   fastsocket: $LOADLINE | $STATLINE"
echo "   locality stock ${stock_loc} vs fastsocket $(field locality "$STATLINE")"
echo "   conn/s stock vs fastsocket (TCG, indicative only): see the two lines above"
[ "$(field failures "$LOADLINE")" = 0 ] && ok "fastsocket: zero failures" || bad "fastsocket failures: $LOADLINE"
loc=$(field locality "$STATLINE" | tr -d %)
if [ -n "$loc" ] && [ "$(echo "$loc" | cut -d. -f1)" -ge 99 ]; then
	ok "locality $loc% >= 99% with listen spawn"
else
	bad "locality '$loc' < 99% with listen spawn"
fi

echo "== 3a. nginx, $N workers, under the library"
mkdir -p $W/nginx/logs
cat >$W/nginx/nginx.conf <<NGX
daemon off;
master_process on;
worker_processes $N;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log notice;
events { accept_mutex off; worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $W/nginx/body;
  proxy_temp_path $W/nginx/proxy;
  fastcgi_temp_path $W/nginx/fastcgi;
  uwsgi_temp_path $W/nginx/uwsgi;
  scgi_temp_path $W/nginx/scgi;
  server { listen 127.0.0.1:8080; location / { return 200 "ok\n"; } }
}
NGX
LD_PRELOAD=$LIB nginx -p $W/nginx -c $W/nginx/nginx.conf >$W/nginx.out 2>$W/nginx.err &
npid=$!
wait_port 8080
out=$($LOAD -p 8080 -t "$N" -n "$CONNS" -T 20000)
echo "   $out"
[ "$(field failures "$out")" = 0 ] && [ "$(field conns "$out")" = "$CONNS" ] && ok "nginx: $CONNS connections, zero failures" || bad "nginx: $out"
workers=$(children $npid)
pins=$(distinct_pins $workers)
[ "$pins" = "$N" ] && ok "nginx: $N workers pinned to distinct CPUs" || bad "nginx: $pins distinct pinned workers of $N"
echo "== 4a. kill -9 of an nginx worker under load"
$LOAD -p 8080 -t "$N" -d 6 -T 20000 >$W/kill.out &
lpid=$!
sleep 2
victim=$(children $npid | head -n 1)
kill -9 "$victim"
wait $lpid
echo "   during: $(cat $W/kill.out)"
sleep 1
out=$($LOAD -p 8080 -t "$N" -n 1000 -T 20000)
echo "   after:  $out"
[ "$(field failures "$out")" = 0 ] && ok "nginx serves without failures after a worker was killed" || bad "nginx after kill: $out"
pins=$(distinct_pins $(children $npid))
[ "$pins" = "$N" ] && ok "respawned worker took the free CPU" || bad "after respawn: $pins distinct pinned workers of $N"
kill -QUIT $npid
wait $npid
[ "$(grep -c '^fastsocket:' $W/nginx.err)" = 1 ] && ok "nginx: one start-up line" || bad "nginx stderr: $(cat $W/nginx.err)"

echo "== 3b. haproxy, $N threads, under the library"
rm -f $W/port
$SRV -w 1 -f $W/port >$W/be.out 2>&1 &
bpid=$!
wait_file $W/port
cat >$W/haproxy.cfg <<HAP
global
  nbthread $N
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:8081
  default_backend be
backend be
  server s1 127.0.0.1:$(cat $W/port)
HAP
LD_PRELOAD=$LIB haproxy -f $W/haproxy.cfg -db >$W/haproxy.out 2>$W/haproxy.err &
hpid=$!
wait_port 8081
out=$($LOAD -p 8081 -t "$N" -n "$HCONNS" -T 20000)
echo "   $out"
[ "$(field failures "$out")" = 0 ] && [ "$(field conns "$out")" = "$HCONNS" ] && ok "haproxy: $HCONNS connections, zero failures" || bad "haproxy: $out"
pins=$(for t in /proc/$hpid/task/*; do sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' $t/status; done | sort -u | grep -cv '[-,]')
[ "$pins" = "$N" ] && ok "haproxy: $N threads pinned to distinct CPUs" || bad "haproxy: $pins distinct pinned threads of $N"
kill -TERM $hpid $bpid
wait $hpid $bpid 2>/dev/null
[ "$(grep -c '^fastsocket:' $W/haproxy.err)" = 1 ] && ok "haproxy: one start-up line" || bad "haproxy stderr: $(cat $W/haproxy.err)"

echo "== 4b. kill -9 of an own-server worker under load"
rm -f $W/port
LD_PRELOAD=$LIB $SRV -w "$N" -f $W/port >$W/k.out 2>$W/k.err &
spid=$!
wait_file $W/port
sleep 1
port=$(cat $W/port)
$LOAD -p "$port" -t "$N" -d 6 -T 20000 >$W/kill2.out &
lpid=$!
sleep 2
kill -9 "$(children $spid | head -n 1)"
wait $lpid
echo "   during: $(cat $W/kill2.out)"
sleep 1
out=$($LOAD -p "$port" -t "$N" -n 1000 -T 20000)
echo "   after:  $out"
[ "$(field failures "$out")" = 0 ] && ok "own server: zero failures after a worker was killed" || bad "own server after kill: $out"
kill -TERM $spid
wait $spid

echo "== 4c. conformance, module path (fs-conform: plain vs library)"
if [ -n "$CONFORM" ]; then
	FS_CONFORM_MODE=auto FASTSOCKET_VERBOSE= $CONFORM diff "$LIB" $($CONFORM list) >$W/conform.out 2>&1
	sed -n 's/^DIFF /   DIFF /p' $W/conform.out
	tail -n 1 $W/conform.out
	grep -q '^0 scenario(s) differ' $W/conform.out && ok "conformance: no difference" || { bad "conformance: $(tail -n 1 $W/conform.out)"; cat $W/conform.out; }
else
	bad "fs-conform missing (lib.files)"
fi

echo "== 5. module absent"
if [ "$MOD" = 1 ]; then
	rmmod fastsocket || bad "rmmod fastsocket"
fi
line=$(LD_PRELOAD=$LIB $LOAD 2>&1 >/dev/null | grep '^fastsocket:')
echo "   $line"
case "$line" in
"fastsocket: module not loaded (/dev/fastsocket: No such file or directory);"*) ok "start-up line says the module is absent" ;;
*) bad "start-up line without module: $line" ;;
esac
own_server absent 1
echo "   $LOADLINE | $STATLINE"
[ "$(field failures "$LOADLINE")" = 0 ] && ok "app works without the module" || bad "without module: $LOADLINE"
[ "$(grep -c '^fastsocket:' $W/absent.err)" = 1 ] && ok "one start-up line" || bad "stderr: $ERR"

echo "== 6. backpressure on the user-space fallback (module absent)"
PROBE=$(find / -xdev -name stall-probe -type f 2>/dev/null | head -n 1)
if [ -n "$PROBE" ]; then
	out=$($PROBE "$LIB" 2>&1)
	rc=$?
	echo "$out" | grep -E '^(stall-probe|FAIL)' | sed 's/^/   /'
	if [ "$rc" = 0 ]; then
		ok "backpressure: a stalled worker's CPU goes back and comes back"
	else
		echo "$out" | sed 's/^/   | /'
		bad "backpressure (stall-probe exit $rc)"
	fi
else
	bad "stall-probe missing (lib.files)"
fi

echo "lib suite: $fails failure(s)"
[ "$fails" -eq 0 ]
