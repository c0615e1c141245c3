#!/bin/sh
# The end-to-end demo (guest side, run by scripts/demo.sh through the rig):
# the DKMS-built fastsocket.ko loaded with its default parameters on a stock
# Debian kernel, then the same 4-worker epoll server run twice, stock and
# under `fastsocket run`, with one client thread pinned per vCPU.  Prints the
# share of connections handled on the CPU that processed their SYN, and the
# module's own view (`fastsocket status`).  Fails if listen spawn does not
# reach 99% locality or any connection fails.
set -u
B=$(dirname "$(find / -name fastsocket -type f -path '*src/cli*' 2>/dev/null | head -n 1)")/../..
FS=$B/src/cli/fastsocket
export FASTSOCKET_LIB=$B/src/lib/libfsocket.so
SRV=$B/bench/fsbench-server
LOAD=$B/bench/fsbench-load
N=${FS_NCPU:-4}
CONNS=${FS_DEMO_CONNS:-2000}
W=/tmp/demo
mkdir -p $W/run
export FASTSOCKET_RUNDIR=$W/run
fails=0

field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# serve TAG CMD...: start the server under CMD, load it, print locality
serve() {
	tag=$1
	shift
	rm -f $W/port
	"$@" "$SRV" -w "$N" -f $W/port >$W/$tag.out 2>$W/$tag.err &
	spid=$!
	i=0
	while [ ! -s $W/port ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	sleep 1
	load=$($LOAD -p "$(cat $W/port)" -t "$N" -n "$CONNS" -T 20000)
	kill -TERM $spid
	wait $spid
	stat=$(grep accepted= $W/$tag.out)
	sed -n 's/^/   /p' $W/$tag.err
	printf '   %-11s locality %-8s failures %s (%s)\n' "$tag" \
		"$(field locality "$stat")" "$(field failures "$load")" "$load"
	eval "${tag}_loc=\$(field locality \"\$stat\" | tr -d %)"
	[ "$(field failures "$load")" = 0 ] || fails=$((fails + 1))
}

echo "== fastsocket demo on Linux $(uname -r), $N vCPUs"
# shellcheck disable=SC2086
insmod "$FS_KO" $FS_PARAMS || { echo "FAIL: insmod"; exit 1; }
i=0
while [ ! -c /dev/fastsocket ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ls -l /dev/fastsocket
echo "== fastsocket status (module, parameters)"
"$FS" status || fails=$((fails + 1))

echo "== $CONNS short connections, $N workers, one client thread per vCPU"
serve stock env
serve fastsocket "$FS" run --
echo "== fastsocket status (counters after the run)"
"$FS" status | sed -n '/ounter/,$p'

echo "== result: locality stock ${stock_loc:-?}% -> fastsocket ${fastsocket_loc:-?}%"
case ${fastsocket_loc:-0} in
[0-9]*) [ "${fastsocket_loc%%.*}" -ge 99 ] || fails=$((fails + 1)) ;;
*) fails=$((fails + 1)) ;;
esac
rmmod fastsocket || fails=$((fails + 1))
exit $fails
