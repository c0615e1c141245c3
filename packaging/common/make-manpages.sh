#!/bin/sh
# Generate fastsocket(8) and one page per subcommand with help2man from the
# CLI's own --help, so the pages never disagree with the program, and
# fastsocket-profile(5) from docs/profiles.md (md2man.awk).
# Usage: make-manpages.sh PKGDIR VERSION   (run from the source tree root)
set -eu
pkg=${1:?usage: make-manpages.sh PKGDIR VERSION}
ver=${2:?usage: make-manpages.sh PKGDIR VERSION}
cli="$pkg/usr/bin/fastsocket"
man="$pkg/usr/share/man/man8"
inc=packaging/common/fastsocket.h2m

# fastsocket-profile(5): the profile format, from docs/profiles.md.
mkdir -p "$pkg/usr/share/man/man5"
{
	printf '.TH FASTSOCKET-PROFILE 5 "" "fastsocket %s" "File Formats"\n' "$ver"
	cat packaging/common/fastsocket-profile.5.head
	awk -f packaging/common/md2man.awk docs/profiles.md
	cat packaging/common/fastsocket-profile.5.tail
} >"$pkg/usr/share/man/man5/fastsocket-profile.5"

if [ ! -x "$cli" ]; then
	echo "make-manpages: $cli not built (no CLI yet?): no man page" >&2
	exit 0
fi
mkdir -p "$man"
# --no-discard-stderr: CLI11 may print help on stderr for subcommands.
help2man -N --no-discard-stderr --section=8 --version-string="$ver" \
	--name="scalable TCP sockets: profiles, tuning and launcher" \
	--include="$inc" --output="$man/fastsocket.8" "$cli"
# Subcommands: the names CLI11 lists under "Subcommands:" (CLI11 2.x) or "SUBCOMMANDS:".
subs=$("$cli" --help 2>&1 | awk 'toupper($0) ~ /^SUBCOMMANDS:/ { s = 1; next } s && /^[^ ]/ { s = 0 } s && NF { print $1 }')
tmpd=$(mktemp -d)
trap 'rm -rf "$tmpd"' EXIT
for s in $subs; do
	# A wrapper named fastsocket-<sub> gives the page its name.
	wrap="$tmpd/fastsocket-$s"
	printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$(readlink -f "$cli")" "$s" >"$wrap"
	chmod +x "$wrap"
	if ! help2man -N --no-discard-stderr --section=8 --version-string="$ver" \
		--name="fastsocket $s" --output="$man/fastsocket-$s.8" "$wrap"; then
		rm -f "$man/fastsocket-$s.8"
		echo "make-manpages: fastsocket $s --help failed: no page" >&2
	fi
done
