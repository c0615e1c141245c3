#!/bin/sh
# Cross-compile libfsocket.so for arm64 (issue 10 item 5): the library must
# build where SYS_fork/SYS_dup2 do not exist.  Usage: cross-build-arm64.sh SRC OUT
# Uses clang --target=aarch64-linux-gnu with lld and Debian's arm64 cross libc
# (libc6-dev-arm64-cross, libgcc-12-dev-arm64-cross): Debian's
# gcc-aarch64-linux-gnu cannot be installed next to gcc-multilib, which the
# 32-bit ABI tests need.  Exits 77 (ctest: skipped) when they are missing.
set -eu
src=$1
out=$2
for t in clang ld.lld; do
	command -v $t >/dev/null 2>&1 || { echo "$t not installed (scripts/install-deps.sh)"; exit 77; }
done
[ -f /usr/aarch64-linux-gnu/include/stdio.h ] || { echo "libc6-dev-arm64-cross not installed"; exit 77; }
mkdir -p "$out"
# The backpressure program is BPF bytecode, the same for every architecture.
(cd "$src/src/bpf" && clang -target bpf -O2 -Wall -Werror \
	-I/usr/aarch64-linux-gnu/include -c fs_reuseport.bpf.c -o "$out/fs_reuseport.bpf.o")
clang --target=aarch64-linux-gnu -fuse-ld=lld -std=gnu11 -O2 -fPIC -shared \
	-fvisibility=hidden -Wall -Wextra -Werror -Werror=implicit-function-declaration \
	-I"$src/src/kernel/uapi" -I"$src/src/bpf" -DFS_RP_OBJ="\"$out/fs_reuseport.bpf.o\"" -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined \
	-o "$out/libfsocket-arm64.so" "$src"/src/lib/*.c -ldl -pthread
file "$out/libfsocket-arm64.so" 2>/dev/null | grep -q 'ARM aarch64' ||
	{ echo "not an arm64 object"; exit 1; }
# The interposed entry points must all be there.
for sym in socket bind listen accept accept4 close close_range closefrom fclose \
	dup dup2 dup3 fcntl syscall setsockopt getsockopt epoll_ctl fork shutdown; do
	nm -D --defined-only "$out/libfsocket-arm64.so" | grep -qw "$sym" ||
		{ echo "missing symbol $sym"; exit 1; }
done
echo "arm64 build ok"
