#!/bin/sh
# Install the files under etc/ that `cmake --install` did not install, at
# their standard locations, so the package is complete whatever install()
# rules exist (see place() for when a file counts as installed).
# Usage: install-etc-fallback.sh PKGDIR   (run from the source tree root)
# UDEVRULESDIR, UNITDIR, TMPFILESDIR: the distribution's directories
# (defaults: Debian's).
set -eu
pkg=${1:?usage: install-etc-fallback.sh PKGDIR}
udevrulesdir=${UDEVRULESDIR:-/lib/udev/rules.d}
unitdir=${UNITDIR:-/lib/systemd/system}
tmpfilesdir=${TMPFILESDIR:-/usr/lib/tmpfiles.d}
[ -d etc ] || exit 0

place() {
	src=$1 dir=$2 mode=$3
	name=$(basename "$src")
	# Installed already: a file of that name in a directory ending like
	# the destination (udev/rules.d in /lib or /usr/lib; cmake may have
	# substituted paths in it), or of the same name and content anywhere
	# (an example under the docs; several files are called fastsocket.conf).
	tail2=$(echo "$dir" | awk -F/ '{ print $(NF - 1) "/" $NF }')
	[ -z "$(find "$pkg" -path "*/$tail2/$name" -print -quit)" ] || return 0
	for g in $(find "$pkg" -type f -name "$name"); do
		cmp -s "$g" "$src" && return 0
	done
	echo "install-etc-fallback: cmake did not install $src; installing it in $dir"
	install -D -m "$mode" "$src" "$pkg$dir/$name"
}

find etc -type f | sort | while read -r f; do
	case "$f" in
	*.md|*/README*|*~) ;;
	etc/fastsocket/profiles/*) place "$f" /etc/fastsocket/profiles 0644 ;;
	etc/fastsocket/*) place "$f" /etc/fastsocket 0644 ;;
	etc/modprobe.d/*) place "$f" /etc/modprobe.d 0644 ;;
	etc/udev/*.rules) place "$f" "$udevrulesdir" 0644 ;;
	etc/systemd/*.service|etc/systemd/*.path|etc/systemd/*.timer|etc/systemd/*.socket)
		place "$f" "$unitdir" 0644 ;;
	# Drop-ins for other services (e.g. haproxy.service.d) would change
	# those services on install: shipped as examples, never activated.
	etc/systemd/*.service.d/*)
		d=$(basename "$(dirname "$f")")
		place "$f" "/usr/share/doc/fastsocket/examples/systemd/$d" 0644 ;;
	etc/systemd/*.conf) place "$f" "$tmpfilesdir" 0644 ;;
	*) echo "install-etc-fallback: $f: no rule, not packaged" >&2 ;;
	esac
done
