#!/bin/sh
# Lint the built packages: lintian on the Debian source and binary packages
# (through the .changes file), rpmlint on the binary and source RPMs.
#
#   packaging/lint.sh        (after packaging/build-deb.sh and build-rpm.sh)
#
# Prints each tool's output and a count per severity, and fails when
#   - lintian reports any error or warning (-EvIL +pedantic; every override
#     in packaging/debian/*lintian-overrides says why), or
#   - rpmlint reports an error not listed in packaging/rpm/rpmlint-accepted-errors.txt
#     (errors that exist because the RPMs are built on Debian, and one
#     rpmlint false positive; each line there says why).
# Logs: build/packages/lintian.txt, build/packages/rpmlint.txt.
#
# Environment: FASTSOCKET_PKG_OUT (default build/packages).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=${FASTSOCKET_PKG_OUT:-$top/build/packages}
fail=0

changes=$(ls "$out"/fastsocket_*_amd64.changes 2>/dev/null | head -n 1)
if [ -z "$changes" ]; then
	echo "lint: no fastsocket_*_amd64.changes in $out: run packaging/build-deb.sh" >&2
	exit 1
fi
echo "lint: lintian -EvIL +pedantic --show-overrides $changes"
lintian -EvIL +pedantic --show-overrides "$changes" >"$out/lintian.txt" 2>&1
grep -E '^[EWIPXO]: ' "$out/lintian.txt"
for s in E W I P X O; do
	printf 'lintian %s: %s\n' "$s" "$(grep -c "^$s: " "$out/lintian.txt")"
done
if grep -q '^[EW]: ' "$out/lintian.txt"; then
	echo "lint: FAIL: lintian errors or warnings" >&2
	fail=1
fi

set -- "$out"/fastsocket-*.rpm
if [ ! -e "$1" ]; then
	echo "lint: no fastsocket-*.rpm in $out: run packaging/build-rpm.sh" >&2
	exit 1
fi
echo "lint: rpmlint $*"
rpmlint "$@" >"$out/rpmlint.txt" 2>&1
cat "$out/rpmlint.txt"
allowed=$(sed -n 's/^\([a-z0-9-]*\)[[:space:]].*/\1/p' "$top/packaging/rpm/rpmlint-accepted-errors.txt")
unexpected=$(grep -E '^[^ ]+: E: ' "$out/rpmlint.txt" | awk '{ print $3 }' | sort -u |
	grep -vxF "$allowed" || true)
if [ -n "$unexpected" ]; then
	echo "lint: FAIL: rpmlint errors not explained by building on Debian: $(echo $unexpected)" >&2
	fail=1
fi
exit $fail
