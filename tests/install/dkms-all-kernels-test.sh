#!/bin/sh
# Host test of packaging/common/dkms-all-kernels.sh (the all-kernels DKMS
# step of the Debian postinst and the RPM %post) against a fake
# /lib/modules (FASTSOCKET_SYSROOT) and a fake `dkms` on PATH that records
# its calls and fails on request.  Needs no root and no VM.  Exit 0 when
# every case gives the expected exit status, output and dkms calls.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
script="$top/packaging/common/dkms-all-kernels.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

# The fake dkms: "status" prints what $tmp/status holds; "add" fails when
# $tmp/add-fails exists; "install -k K" exits with the number in
# $tmp/install-rc-K (default 0).  Every call is appended to $tmp/calls.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/dkms" <<EOF
#!/bin/sh
echo "\$*" >>"$tmp/calls"
case "\$1" in
status) cat "$tmp/status" 2>/dev/null; exit 0 ;;
add) [ -e "$tmp/add-fails" ] && { echo "Error! fake add failure" >&2; exit 3; }; exit 0 ;;
install)
	k=\$(echo "\$*" | sed -n 's/.*-k \([^ ]*\).*/\1/p')
	rc=\$(cat "$tmp/install-rc-\$k" 2>/dev/null || echo 0)
	[ "\$rc" -eq 0 ] || echo "Error! fake build failure for \$k" >&2
	exit "\$rc" ;;
esac
exit 0
EOF
chmod +x "$tmp/bin/dkms"

# A root with: good (headers), noheaders (modules.dep only), broken
# (headers, build fails), old (headers, dkms.conf excludes it: 77),
# leftover (an empty directory of a removed kernel).
r="$tmp/root"
for k in 6.1.0-1-amd64 6.1.0-9-broken 4.19.0-old; do
	mkdir -p "$r/lib/modules/$k/build/include"
done
mkdir -p "$r/lib/modules/6.12.0-2-noheaders" "$r/lib/modules/5.0.0-leftover"
touch "$r/lib/modules/6.12.0-2-noheaders/modules.dep"
echo 1 >"$tmp/install-rc-6.1.0-9-broken"
echo 77 >"$tmp/install-rc-4.19.0-old"

run() { # run ARGS...: sets rc, out (stdout), err (stderr)
	: >"$tmp/calls"
	FASTSOCKET_SYSROOT=$r PATH="$tmp/bin:$PATH" sh "$script" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
has() { grep -q -- "$2" "$tmp/$1"; }

# 1. One kernel fails, one has no headers, one is excluded.
run --headers-hint "dnf install kernel-devel-@KVER@" fastsocket 0.1.0
[ "$rc" -eq 2 ] && ok "a failed build: exit 2" || bad "a failed build: exit $rc, want 2"
has err "build FAILED for: 6.1.0-9-broken" && has err "/var/lib/dkms/fastsocket/0.1.0/build/make.log" &&
	has err "retry: dkms install -m fastsocket -v 0.1.0 -k 6.1.0-9-broken" &&
	ok "the failure names the kernel, its make.log and the retry command (stderr)" ||
	bad "failure report missing: $(cat "$tmp/err")"
has err "fake build failure" && ok "dkms's own error is shown, not hidden" || bad "dkms's error output was hidden"
has out "6.12.0-2-noheaders:  dnf install kernel-devel-6.12.0-2-noheaders" &&
	ok "a kernel without headers: the --headers-hint command is printed" ||
	bad "no headers hint for 6.12.0-2-noheaders: $(cat "$tmp/out")"
has out "4.19.0-old is excluded" && ok "exit 77 (excluded kernel) is reported as skipped" || bad "exit 77 not reported"
! has err "FAILED for:.*4.19.0-old" && ok "an excluded kernel is not a failure" || bad "4.19.0-old counted as failed"
grep -c '^install ' "$tmp/calls" | grep -qx 3 && has calls "install -m fastsocket -v 0.1.0 -k 6.1.0-1-amd64" &&
	! has calls "noheaders" && ! has calls "leftover" &&
	ok "dkms install for the 3 kernels with headers only" || bad "dkms calls: $(cat "$tmp/calls")"
grep -qx 'add -m fastsocket -v 0.1.0' "$tmp/calls" && ok "dkms add when dkms does not know the module" ||
	bad "no dkms add: $(cat "$tmp/calls")"

# 2. Everything installed already: no add, no install, exit 0.
rm -f "$tmp/install-rc-6.1.0-9-broken"
printf 'fastsocket/0.1.0, 6.1.0-1-amd64, x86_64: installed\n' >"$tmp/status"
run fastsocket 0.1.0
! has calls "^add" && ok "known module: no dkms add" || bad "dkms add called for a known module"
has out "apt install linux-headers-6.12.0-2-noheaders" && ok "default hint: apt install linux-headers-<ver>" ||
	bad "default hint missing: $(cat "$tmp/out")"
[ "$rc" -eq 0 ] && ok "no failed build: exit 0" || bad "exit $rc with no failed build: $(cat "$tmp/err")"
rm -f "$tmp/status"

# 3. dkms add fails: exit 1, said on stderr.
touch "$tmp/add-fails"
run fastsocket 0.1.0
[ "$rc" -eq 1 ] && has err "dkms add -m fastsocket -v 0.1.0 FAILED" && has err "fake add failure" &&
	ok "dkms add failure: exit 1 with dkms's message" || bad "dkms add failure: exit $rc, $(cat "$tmp/err")"
! has calls "^install" && ok "no build after a failed add" || bad "built after a failed add"
rm -f "$tmp/add-fails"

# 4. Usage errors.
run fastsocket
[ "$rc" -eq 64 ] && ok "missing VERSION: exit 64" || bad "missing VERSION: exit $rc"
run --headers-hint
[ "$rc" -eq 64 ] && ok "--headers-hint without CMD: exit 64" || bad "--headers-hint without CMD: exit $rc"

[ "$fails" -eq 0 ] && echo "dkms-all-kernels-test: all passed" || echo "dkms-all-kernels-test: $fails FAILED"
[ "$fails" -eq 0 ]
