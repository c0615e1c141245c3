#!/bin/sh
# Package install test, guest side (run as /suite.sh by tests/vm/run from
# tests/install/run.sh).  install.files copies the payload directory
# fs-install-payload: the files of the installed fastsocket package taken
# from the install-test root, plus the pingpong test program.  The module
# (FS_KO) is the fastsocket.ko DKMS built inside that root.
set -u
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

payload=$(find / -xdev -type d -name fs-install-payload 2>/dev/null | head -n 1)
if [ -z "$payload" ]; then
	echo "FAIL: no fs-install-payload directory in the initramfs"
	exit 1
fi
# The package's files at their real paths (/usr/bin/fastsocket, the library).
cp -a "$payload"/. /
PP=/opt/fastsocket-install-test/pingpong

# shellcheck disable=SC2086
if insmod "$FS_KO" $FS_PARAMS; then
	ok "insmod $FS_KO (DKMS build from the install root)"
else
	bad "insmod $FS_KO"
fi
[ -c /dev/fastsocket ] && ok "/dev/fastsocket present" || bad "/dev/fastsocket missing"

v=$(fastsocket --version 2>&1) && ok "fastsocket --version: $v" || bad "fastsocket --version: $v"

out=$(fastsocket run --dry-run -- /bin/true 2>&1)
rc=$?
echo "$out" | sed 's/^/   | /'
[ "$rc" -eq 0 ] && ok "fastsocket run --dry-run -- /bin/true" || bad "fastsocket run --dry-run -- /bin/true: exit $rc"

# Accepted connections counted by the module (local + global accepts of the
# "total" row of its per-CPU counters), so we know the module handled them.
stats=/proc/fastsocket/stats
[ -r "$stats" ] || stats=/proc/net/fsocket_stats
accepts() {
	awk '$1 == "cpu" { for (i = 2; i <= NF; i++) col[$i] = i }
		$1 == "total" { print $(col["local_accept"]) + $(col["global_accept"]); f = 1 }
		END { if (!f) print -1 }' "$stats" 2>/dev/null || echo -1
}
before=$(accepts)
out=$(fastsocket run -- "$PP" both 127.0.0.1 9000 50 2>&1)
rc=$?
echo "$out" | sed 's/^/   | /'
if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^pingpong: ok'; then
	ok "fastsocket run -- pingpong: 50 connections"
else
	bad "fastsocket run -- pingpong: exit $rc"
fi
if echo "$out" | grep -q '^server: .*preload=yes' && echo "$out" | grep -q '^client: .*preload=yes'; then
	ok "libfsocket.so was preloaded into server and client"
else
	bad "libfsocket.so not preloaded by fastsocket run"
fi
after=$(accepts)
if [ "$before" -ge 0 ] && [ "$after" -ge $((before + 50)) ]; then
	ok "the module accepted the connections ($before -> $after in $stats)"
else
	bad "module accept counters did not grow by 50 ($before -> $after in $stats)"
	[ -r "$stats" ] && sed 's/^/   | /' "$stats"
fi

echo "   fastsocket status:"
fastsocket status 2>&1 | sed 's/^/   | /'

if rmmod fastsocket; then
	ok "rmmod fastsocket"
else
	bad "rmmod fastsocket"
fi
dmesg | grep -i fastsocket | tail -n 10
echo "install suite: $fails failure(s)"
[ "$fails" -eq 0 ]
