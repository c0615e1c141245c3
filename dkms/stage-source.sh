#!/bin/sh
# Assemble the DKMS source tree for fastsocket into DEST (normally
# /usr/src/fastsocket-<version>): dkms.conf plus the kernel sources and the
# shared uapi headers.  Used by the packages and by the VM test rig.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:?usage: stage-source.sh DEST}
mkdir -p "$dest/src/kernel/uapi"
cp "$top/dkms.conf" "$top/VERSION" "$dest/"
cp "$top"/src/kernel/Kbuild "$top"/src/kernel/*.c "$top"/src/kernel/*.h "$dest/src/kernel/" 2>/dev/null || true
[ -f "$top/src/kernel/Makefile" ] && cp "$top/src/kernel/Makefile" "$dest/src/kernel/"
cp "$top"/src/kernel/uapi/*.h "$dest/src/kernel/uapi/"
# One version, from VERSION: DKMS's PACKAGE_VERSION must match the
# /usr/src/fastsocket-<version> directory the packages install.
ver=$(cat "$top/VERSION")
sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$ver\"/" "$dest/dkms.conf"
