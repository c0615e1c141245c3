# shellcheck shell=bash
# Shared by the bench scripts (sourced): a work directory removed on exit,
# process groups killed on exit, and small helpers.
#   bench_init PREFIX    sets NCPU, WORK (/tmp/PREFIX.XXXXXX), PIDS and the trap
#   bench_on_exit CMD    runs CMD (eval) at exit, before the processes are killed

bench_init() {
	NCPU=$(nproc)
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$WORK"
	PIDS=()
	ON_EXIT=()
	trap bench_cleanup EXIT
}

bench_on_exit() { ON_EXIT+=("$1"); }

# Kill every process group started by the script (their leaders are in PIDS).
bench_cleanup() {
	local c
	for c in "${ON_EXIT[@]:-}"; do
		[ -n "$c" ] && eval "$c" || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill -KILL -- "-$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	for _ in $(seq 1 500); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

# write_haproxy_cfg FILE FRONT_PORT BACKEND_PORT [BACKEND_ADDR]: an HTTP proxy
# with NCPU threads
write_haproxy_cfg() {
	cat >"$1" <<HAP
global
  nbthread $NCPU
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:$2
  default_backend be
backend be
  server s1 ${4:-127.0.0.1}:$3
HAP
}
