#!/bin/sh
# apps suite (guest side, run as /suite.sh by tests/vm/run --suite apps):
# real applications under libfsocket.so on the module path (issue 10,
# item 4), with tests/apps/apps-test.sh, the script the host runs (ctest -L
# apps): nginx with Debian's dual-stack "listen 80; listen [::]:80;", nginx
# binary upgrade under load, haproxy, Node.js (cluster), Python's
# ThreadingHTTPServer; each plain and under the library, 0 failed requests
# and >= 99% accept locality on every listener (library run).  First the
# measurement itself (selfcheck: fs-acceptlog.so against fsbench-server).
# FS_PARAMS="apps=nginx,haproxy" (tests/vm/run --params) picks a subset;
# the rest of FS_PARAMS goes to insmod.
# Build first (the rig copies from FASTSOCKET_BUILD_DIR, default build/):
#   cmake --build build --target fsocket fs-acceptlog fsbench-load fsbench-server
set -u
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

apps="selfcheck nginx nginx-upgrade haproxy node python"
params=
for p in $FS_PARAMS; do
	case "$p" in
	apps=*) apps=$(echo "${p#apps=}" | tr , ' ') ;;
	*) params="$params $p" ;;
	esac
done
export FSAPPS_LIB FSAPPS_SHIM FSAPPS_LOAD FSAPPS_SERVER
FSAPPS_LIB=$(find / -xdev -name libfsocket.so -path '*src/lib*' 2>/dev/null | head -n 1)
FSAPPS_SHIM=$(find / -xdev -name fs-acceptlog.so 2>/dev/null | head -n 1)
FSAPPS_LOAD=$(find / -xdev -name fsbench-load -type f 2>/dev/null | head -n 1)
FSAPPS_SERVER=$(find / -xdev -name fsbench-server -type f 2>/dev/null | head -n 1)
TEST=$(find / -xdev -name apps-test.sh -path '*tests/apps/*' 2>/dev/null | head -n 1)
for f in "$FSAPPS_LIB" "$FSAPPS_SHIM" "$FSAPPS_LOAD" "$TEST"; do
	[ -n "$f" ] && [ -f "$f" ] || { bad "missing libfsocket.so / fs-acceptlog.so / fsbench-load / apps-test.sh (apps.files)"; exit 1; }
done
# TCG: fewer requests, more time to start (node's workers take seconds).
export FSAPPS_CONNS="${FSAPPS_CONNS:-400}" FSAPPS_SETTLE="${FSAPPS_SETTLE:-3}" FSAPPS_UPGRADE_SECS="${FSAPPS_UPGRADE_SECS:-10}"
export NODE=/usr/bin/node PYTHON=/usr/bin/python3

echo "== module: insmod $FS_KO$params"
# shellcheck disable=SC2086
if insmod "$FS_KO" $params && [ -c /dev/fastsocket ]; then
	ok "fastsocket.ko loaded"
else
	bad "insmod $FS_KO"
fi

for app in $apps; do
	echo "== $app"
	t0=$(date +%s)
	if sh "$TEST" "$app"; then
		ok "$app ($(($(date +%s) - t0)) s)"
	else
		bad "$app ($(($(date +%s) - t0)) s)"
	fi
done
echo "apps suite: $fails failure(s)"
[ "$fails" -eq 0 ]
