#!/usr/bin/env bash
# Run every test of the project, as CI does: host unit tests, the DKMS build
# and compile check on every supported kernel, the module/library/CLI suites
# inside real Debian kernels under QEMU, and the package install test.
#
#   sudo ./scripts/test.sh            # everything
#   FS_TEST_STAGES="unit vm" ./scripts/test.sh   # a subset
#
# Stage "apps" (not in the default list until libfsocket.so meets its
# targets, docs/library.md "Real applications"): nginx (dual-stack, binary
# upgrade), haproxy, Node.js, Python on the host (ctest -L apps) and in the
# VM (suite apps) on every kernel of FS_VM_KERNELS.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export FASTSOCKET_BUILD_DIR=${FS_BUILD_DIR:-$top/build}
build=$FASTSOCKET_BUILD_DIR
stages=${FS_TEST_STAGES:-"deps unit matrix vm packages"}
vm_kernels=${FS_VM_KERNELS:-"6.1 sid"}

declare -a summary=()
stage() {
	local name=$1; shift
	local t0=$SECONDS
	echo "=== $name"
	if "$@"; then
		summary+=("PASS  $name ($((SECONDS - t0)) s)")
	else
		summary+=("FAIL  $name ($((SECONDS - t0)) s)")
		print_summary
		exit 1
	fi
}
print_summary() {
	echo "=== summary"
	printf '%s\n' "${summary[@]}"
}
want() { [[ " $stages " == *" $1 "* ]]; }

if want deps; then
	stage "install packages" "$top/scripts/install-deps.sh"
fi
if want unit; then
	stage "configure" cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
	stage "build" cmake --build "$build" -j"$(nproc)"
	stage "host unit tests" ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE apps
fi
if want matrix; then
	stage "DKMS compile matrix (5.10 6.1 6.12 sid)" "$top/tests/vm/compile-matrix.sh"
fi
if want vm; then
	for k in $vm_kernels; do
		stage "VM module suite on $k" "$top/tests/vm/run" --kernel "$k" --suite module
		stage "VM lib suite on $k" "$top/tests/vm/run" --kernel "$k" --suite lib
		stage "VM rfd suite on $k" "$top/tests/vm/run" --kernel "$k" --suite rfd
		stage "VM proxy suite on $k" "$top/tests/vm/run" --kernel "$k" --suite proxy
		stage "VM cli suite on $k" "$top/tests/vm/run" --kernel "$k" --suite cli --nic-queues 4
		stage "VM demo on $k" "$top/tests/vm/run" --kernel "$k" --suite demo
	done
fi
if want apps; then
	if ! want unit; then
		stage "configure" cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
		stage "build" cmake --build "$build" -j"$(nproc)"
	fi
	stage "host real applications" ctest --test-dir "$build" --output-on-failure -L apps
	for k in $vm_kernels; do
		stage "VM real applications on $k" "$top/tests/vm/run" --kernel "$k" --suite apps --mem 2G --timeout 900
	done
fi
if want packages; then
	stage "build .deb" "$top/packaging/build-deb.sh"
	stage "build .rpm" "$top/packaging/build-rpm.sh"
	stage "package install test" "$top/tests/install/run.sh"
	stage "kernel matrix (build + load)" "$top/tests/install/kernel-matrix.sh"
fi
print_summary
