#!/bin/sh
# Cross-compile libfsocket.so for arm64 (issue 10 item 5): the library must
# build where SYS_fork/SYS_dup2 do not exist.  Usage: cross-build-arm64.sh SRC OUT
# Exits 77 (ctest: skipped) when Debian's gcc-aarch64-linux-gnu is missing.
set -eu
src=$1
out=$2
cc=${FS_CROSS_CC:-aarch64-linux-gnu-gcc}
command -v "$cc" >/dev/null 2>&1 || { echo "$cc not installed (scripts/install-deps.sh)"; exit 77; }
mkdir -p "$out"
"$cc" -std=gnu11 -O2 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror \
	-Werror=implicit-function-declaration -I"$src/src/kernel/uapi" \
	-Wl,-z,now -Wl,-z,relro -Wl,--no-undefined \
	-o "$out/libfsocket-arm64.so" "$src"/src/lib/*.c -ldl -pthread
file "$out/libfsocket-arm64.so" 2>/dev/null || true
# The interposed entry points must all be there.
for sym in socket bind listen accept accept4 close close_range closefrom fclose \
	dup dup2 dup3 fcntl syscall setsockopt getsockopt epoll_ctl fork shutdown; do
	aarch64-linux-gnu-nm -D --defined-only "$out/libfsocket-arm64.so" | grep -qw "$sym" ||
		{ echo "missing symbol $sym"; exit 1; }
done
echo "arm64 build ok"
