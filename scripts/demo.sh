#!/usr/bin/env bash
# The main job end to end, with defaults: install what is needed, build the
# user-space parts, build fastsocket.ko through DKMS for Debian's 6.1 kernel,
# boot that kernel under QEMU (4 vCPUs) and show the module at work: an
# epoll server stock and under `fastsocket run`, locality and counters.
#   sudo ./scripts/demo.sh                 # Debian 6.1
#   FS_DEMO_KERNEL=sid sudo ./scripts/demo.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FS_BUILD_DIR:-$top/build}
"$top/scripts/install-deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target fastsocket fsocket fsbench-server fsbench-load
FASTSOCKET_BUILD_DIR=$build exec "$top/tests/vm/run" --kernel "${FS_DEMO_KERNEL:-6.1}" --suite demo
