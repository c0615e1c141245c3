#!/bin/bash
# Shared helpers of the whole-system tests (sourced by tests/system/*).
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are for the files that source this one

SYS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SYS_DIR/../.." && pwd)
SYS_CACHE=${FASTSOCKET_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastsocket-vm}/system
MIRROR=${FASTSOCKET_VM_MIRROR:-http://deb.debian.org/debian}
SEC_MIRROR=${FASTSOCKET_VM_SEC_MIRROR:-http://deb.debian.org/debian-security}
BUILD=${FASTSOCKET_BUILD_DIR:-$REPO/build}
NICE="nice -n 19"

slog() { printf '[system %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
sdie() { printf 'system: error: %s\n' "$*" >&2; exit 1; }

# image_packages SUITE: the Debian packages of the image, one per line
# (images/common.list + images/SUITE.list, comments dropped).
image_packages() {
	local f
	for f in "$SYS_DIR/images/common.list" "$SYS_DIR/images/$1.list"; do
		[ -f "$f" ] || sdie "no package list $f"
		sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$f"
	done | sort -u
}

# image_key SUITE: the cache key: a hash of the package list and of the
# scripts that shape the image (a change in either builds a new image).
image_key() {
	{
		echo "$1"
		image_packages "$1"
		cat "$SYS_DIR/make-image.sh" "$SYS_DIR/images/customize.sh" \
			"$SYS_DIR/images/firstboot.sh"
	} | sha256sum | cut -c1-16
}

image_dir() { echo "$SYS_CACHE/images/$1-$(image_key "$1")"; }

# sources SUITE: the apt sources of the image.
sources() {
	case "$1" in
	bookworm | trixie)
		printf '%s\n' "deb $MIRROR $1 main" "deb $MIRROR $1-updates main" \
			"deb $SEC_MIRROR $1-security main"
		;;
	*) sdie "unknown suite '$1' (known: bookworm trixie)" ;;
	esac
}

# ssh options shared by every connection to a guest (the host key of a
# throw-away guest is not worth remembering).
SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o LogLevel=ERROR -o ConnectTimeout=10 -o BatchMode=yes
	-o ServerAliveInterval=15 -o ServerAliveCountMax=8)

# free_port: a TCP port on 127.0.0.1 nobody listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
