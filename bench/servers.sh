# shellcheck shell=bash
# The servers compare.sh and scale.sh measure, and how their CPU time is
# read (sourced after common.sh; uses WORK and PIDS).
#   servers_find_tools BUILD       sets LIB, FS (fastsocket CLI) and LOAD (fsbench-load)
#   server_start NAME PORT WORKERS CPULIST [PREFIX...]
#                                  starts server NAME in its own session (LASTPID = session id),
#                                  waits for PORT; PREFIX (e.g. taskset -c 1) runs it
#   server_stop SID
#   session_ticks SID              utime+stime (clock ticks) of every process of the session
#   session_sched SID              run-queue wait (ns) of every thread of the session
#   session_ctxsw SID              "voluntary involuntary" context switches of the session
#   session_split SID              "comm:pid=share% ..." of the session's CPU time so far

servers_find_tools() {
	LIB=$1/src/lib/libfsocket.so FS=$1/src/cli/fastsocket LOAD=$1/bench/fsbench-load
	local f
	for f in "$LIB" "$FS" "$LOAD"; do
		[ -e "$f" ] || { echo "missing $f: cmake --build $1 --target fsocket fastsocket fsbench-load" >&2; return 1; }
	done
	command -v nginx >/dev/null || { echo "nginx not installed (scripts/install-deps.sh)" >&2; return 1; }
}

# CPU list helpers: "0-3,6" <-> one CPU per line
cpulist_expand() { tr ',' '\n' <<<"$1" | awk -F- '{ e = NF > 1 ? $2 : $1; for (c = $1; c <= e; c++) print c }'; }
cpulist_count() { cpulist_expand "$1" | wc -l; }
cpulist_of_self() { taskset -pc $$ | sed 's/.*: //'; }
# split_cpus LIST -> "LOWER_HALF UPPER_HALF" (load generator, server)
split_cpus() {
	cpulist_expand "$1" | awk '{ c[NR] = $1 } END { h = int(NR / 2); a = b = ""
		for (i = 1; i <= NR; i++) if (i <= h) a = a (a == "" ? "" : ",") c[i]; else b = b (b == "" ? "" : ",") c[i]
		print a, b }'
}
# the nginx worker_cpu_affinity mask of a CPU list (rightmost digit = CPU 0)
cpulist_mask() { cpulist_expand "$1" | awk '{ m[$1] = 1; if ($1 > max) max = $1 } END { s = ""; for (c = max; c >= 0; c--) s = s (c in m ? 1 : 0); print s }'; }

write_nginx_conf() { # DIR PORT WORKERS CPULIST reuseport(0/1)
	local d=$1
	mkdir -p "$d/logs"
	cat >"$d/nginx.conf" <<NGX
daemon off;
master_process on;
worker_processes $3;
$([ "$5" = 1 ] && echo "worker_cpu_affinity auto $(cpulist_mask "$4");")
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  server { listen 127.0.0.1:$2$([ "$5" = 1 ] && echo " reuseport"); location / { return 200 "ok\n"; } }
}
NGX
}

write_haproxy_server_cfg() { # FILE PORT THREADS CPULIST per-thread(0/1) [GLOBAL_LINE]
	local map=""
	if [ "$5" = 1 ]; then
		if [ "$(cpulist_count "$4")" = "$3" ] && [ "$3" -gt 1 ]; then
			map="cpu-map auto:1/1-$3 $4"
		else
			map="cpu-map 1/all $4"
		fi
	fi
	cat >"$1" <<HAP
global
  nbthread $3
  $map
  ${6:-}
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:$2$([ "$5" = 1 ] && echo " shards by-thread")
  http-request return status 200 content-type text/plain string "ok"
HAP
}

# NAME may end in @VAR=VALUE[,VAR=VALUE...]: extra environment for the server
# (e.g. fs-nginx@FASTSOCKET_LISTEN_SPAWN=1), for experiments; FSBENCH_LIB=PATH
# there is the libfsocket.so `fastsocket run` preloads.
server_start() { # NAME PORT WORKERS CPULIST [PREFIX...]
	local name=${1%%@*} full=$1 port=$2 w=$3 cpus=$4 d=$WORK/${1//[^A-Za-z0-9_.-]/_} cmd run=() extra=()
	shift 4
	[ "$full" = "$name" ] || IFS=, read -r -a extra <<<"${full#*@}"
	local lib=$LIB e
	for e in "${extra[@]}"; do case "$e" in FSBENCH_LIB=*) lib=${e#FSBENCH_LIB=} ;; esac; done
	case "$name" in fs-*) run=("$FS" run --lib "$lib") ;; esac
	case "$name" in
	fs-*-ls1) run+=(--listen-spawn 1) ;;
	fs-*-ls2) run+=(--listen-spawn 2) ;;
	esac
	case "$name" in
	nginx | fs-nginx | fs-nginx-ls1 | fs-nginx-ls2) write_nginx_conf "$d" "$port" "$w" "$cpus" 0
		cmd=(nginx -p "$d" -c "$d/nginx.conf") ;;
	nginx-rp | fs-nginx-rp) write_nginx_conf "$d" "$port" "$w" "$cpus" 1
		cmd=(nginx -p "$d" -c "$d/nginx.conf") ;;
	haproxy) mkdir -p "$d"; write_haproxy_server_cfg "$d/h.cfg" "$port" "$w" "$cpus" 1
		cmd=(haproxy -f "$d/h.cfg" -db) ;;
	fs-haproxy | fs-haproxy-ls1 | fs-haproxy-ls2) mkdir -p "$d"; write_haproxy_server_cfg "$d/h.cfg" "$port" "$w" "$cpus" 0
		cmd=(haproxy -f "$d/h.cfg" -db) ;;
	fs-haproxy-mq0) mkdir -p "$d"
		write_haproxy_server_cfg "$d/h.cfg" "$port" "$w" "$cpus" 0 "tune.listener.multi-queue off"
		cmd=(haproxy -f "$d/h.cfg" -db) ;;
	fs-haproxy-shards) mkdir -p "$d"; write_haproxy_server_cfg "$d/h.cfg" "$port" "$w" "$cpus" 1
		cmd=(haproxy -f "$d/h.cfg" -db) ;;
	*) echo "unknown server $name" >&2; return 1 ;;
	esac
	[ "${#run[@]}" -gt 0 ] && run+=(--)
	setsid env -u LD_PRELOAD -u FASTSOCKET_MODE "${extra[@]}" "$@" "${run[@]}" "${cmd[@]}" >"$d.out" 2>"$d.err" &
	LASTPID=$!
	PIDS+=("$LASTPID")
	disown "$LASTPID" 2>/dev/null || true
	wait_port "$port" || { tail -n 3 "$d.err" >&2; return 1; }
}

server_stop() {
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	kill -KILL -- "-$1" 2>/dev/null || true
}

session_pids() { ps -s "$1" -o pid= 2>/dev/null; }
session_ticks() {
	local p t=0
	for p in $(session_pids "$1"); do
		t=$((t + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
	done
	echo "$t"
}
session_sched() {
	local p
	for p in $(session_pids "$1"); do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done | awk '{s += $2} END {printf "%d\n", s}'
}
session_ctxsw() {
	local p
	for p in $(session_pids "$1"); do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v + 0, n + 0}'
}
session_split() {
	local p
	for p in $(session_pids "$1"); do
		echo "$p $(sed 's/.*(\(.*\)) .*/\1/' "/proc/$p/stat") $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')"
	done 2>/dev/null | awk '{ p[NR] = $2 ":" $1; t[NR] = $3; s += $3 }
		END { for (i = 1; i <= NR; i++) printf "%s=%.0f%% ", p[i], s ? 100 * t[i] / s : 0 }'
}
# "busy total" per CPU from /proc/stat (busy = all but idle and iowait)
cpu_busy_snapshot() {
	awk '/^cpu[0-9]/ { t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%d %d ", t - $5 - $6, t } END { print "" }' /proc/stat
}
