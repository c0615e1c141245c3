#!/bin/bash
# tests/install/kernel-matrix.sh: build fastsocket.ko through DKMS against
# each supported Debian kernel and load it in that kernel under QEMU, then
# print the table
#
#   kernel | KVER | build ok | load ok
#
# build: tests/vm/build-module.sh NAME (DKMS add/build/install -k KVER in the
#        rig's debootstrap root of that suite; warnings count as failures)
# load:  tests/vm/run --kernel NAME --suite smoke (insmod, /dev/fastsocket,
#        /sys/module/fastsocket/parameters, rmmod)
#
#   sudo tests/install/kernel-matrix.sh [--kernels "5.10 6.1 6.12 sid"] [--build-only]
#
# The table is also written to build/kernel-matrix.md; per-kernel logs to
# build/kernel-matrix/.  Exit 0 only when every cell is "yes".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$HERE/../vm/lib.sh"

KERNELS=$ALL_KERNELS
LOAD=1
while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) KERNELS=${2:?--kernels needs a list}; shift ;;
	--build-only) LOAD=0 ;;
	-h | --help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
	shift
done
need_root_user
BUILD=${FASTSOCKET_BUILD_DIR:-$REPO/build}
LOGS=$BUILD/kernel-matrix
TABLE=$BUILD/kernel-matrix.md
mkdir -p "$LOGS"

rows=()
bad=0
for k in $KERNELS; do
	catalogue "$k"
	kver="?"
	build=no
	load=no
	t0=$(date +%s)
	log "matrix: $k: DKMS build (log $LOGS/$k-build.log)"
	if "$REPO/tests/vm/build-module.sh" "$k" >"$LOGS/$k-build.log" 2>&1; then
		build=yes
	fi
	[ -f "$(root_dir "$k")/.fs-root-ok" ] && kver=$(cat "$(root_dir "$k")/.fs-root-ok")
	t1=$(date +%s)
	if [ "$LOAD" -eq 0 ]; then
		load=skipped
	elif [ "$build" = yes ]; then
		log "matrix: $k: boot $kver, smoke suite (log $LOGS/$k-load.log)"
		if "$REPO/tests/vm/run" --kernel "$k" --suite smoke >"$LOGS/$k-load.log" 2>&1; then
			load=yes
		fi
	else
		load="no (not built)"
		tail -n 20 "$LOGS/$k-build.log" >&2
	fi
	t2=$(date +%s)
	[ "$build" = yes ] || bad=1
	case "$load" in yes | skipped) ;; *) bad=1 ;; esac
	rows+=("$k|$SUITE|$kver|$build|$load|$((t1 - t0))s + $((t2 - t1))s")
done

{
	echo "| kernel | KVER | build ok | load ok |"
	echo "|---|---|---|---|"
	for r in "${rows[@]}"; do
		IFS='|' read -r k suite kver build load _ <<<"$r"
		echo "| $k ($suite) | $kver | $build | $load |"
	done
} >"$TABLE"

echo
echo "=== kernel matrix (DKMS build + load under QEMU)"
printf '%-16s | %-24s | %-8s | %s\n' kernel KVER "build ok" "load ok"
printf '%-16s-+-%-24s-+-%-8s-+-%s\n' ---------------- ------------------------ -------- --------
for r in "${rows[@]}"; do
	IFS='|' read -r k suite kver build load secs <<<"$r"
	printf '%-16s | %-24s | %-8s | %-8s   (%s)\n' "$k ($suite)" "$kver" "$build" "$load" "$secs"
done
echo "(table in $TABLE; logs in $LOGS)"
exit "$bad"
