#!/bin/sh
# Install every Debian package the build, the tests and the demo need.
# Safe to run again; one package per line so each area adds its own.
set -eu
[ "$(id -u)" -eq 0 ] || { echo "install-deps.sh: run as root" >&2; exit 1; }
pkgs="
build-essential
cmake
pkg-config
libgtest-dev
libgmock-dev
libcli11-dev
libyaml-cpp-dev
clang
nlohmann-json3-dev
gcc-multilib
g++-multilib
qemu-system-x86
debootstrap
dkms
busybox-static
cpio
kmod
zstd
xz-utils
iproute2
nginx-light
haproxy
nodejs
wrk
apache2-utils
python3
linux-headers-amd64
debhelper
dh-dkms
dpkg-dev
fakeroot
rpm
help2man
bash-completion
prometheus
llvm
libbpf-dev
bpftool
libxdp-dev
libelf-dev
zlib1g-dev
xdp-tools
lintian
rpmlint
elfutils
lld
libc6-dev-arm64-cross
libgcc-12-dev-arm64-cross
mmdebstrap
qemu-utils
fdisk
e2fsprogs
openssh-client
ansible
"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -o Acquire::Retries=3 >/dev/null || apt-get update -o Acquire::Retries=3 || true
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends -o Acquire::Retries=3 $missing
