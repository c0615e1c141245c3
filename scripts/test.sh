#!/usr/bin/env bash
# Run every test of the project, as CI does: host unit tests, the DKMS build
# and compile check on every supported kernel, the module/library/CLI suites
# inside real Debian kernels under QEMU, real applications, the packages and
# their install test, and whole Debian systems booted under QEMU (the
# Ansible role on two of them, one rebooted: tests/system, scenario fleet).
#
#   sudo ./scripts/test.sh            # everything
#   FS_TEST_STAGES="unit vm" ./scripts/test.sh   # a subset
#   FS_TEST_STAGES=fuzz FS_FUZZ_KERNELS=6.12 ./scripts/test.sh  # the ioctl fuzzer
#   FS_TEST_STAGES=system ./scripts/test.sh   # only the whole-system boots (tests/system)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export FASTSOCKET_BUILD_DIR=${FS_BUILD_DIR:-$top/build}
build=$FASTSOCKET_BUILD_DIR
stages=${FS_TEST_STAGES:-"deps unit matrix vm fuzz apps packages system"}
vm_kernels=${FS_VM_KERNELS:-"6.1 sid"}
fuzz_kernels=${FS_FUZZ_KERNELS:-"5.10 sid"}
apps_kernels=${FS_APPS_KERNELS:-"6.1"}

declare -a summary=()
# Each stage's output is also kept in $build/stage-logs/; when a stage
# fails, the lines that say why (failed checks, kernel oopses) are repeated
# under its FAIL line in the summary, which is what the end of a long CI
# log shows.  Process substitution, not a pipe: the stage runs in this
# shell (finish_image waits for a job of this shell).
stage_no=0
stage() {
	local name=$1; shift
	local t0=$SECONDS slog
	stage_no=$((stage_no + 1))
	mkdir -p "$build/stage-logs"
	slog=$build/stage-logs/$(printf '%02d' "$stage_no")-$(echo "$name" | tr -c 'A-Za-z0-9.\n' '-' | cut -c1-60).log
	echo "=== $name"
	if "$@" > >(tee "$slog") 2>&1; then
		summary+=("PASS  $name ($((SECONDS - t0)) s)")
	else
		summary+=("FAIL  $name ($((SECONDS - t0)) s)")
		sleep 1	# tee's last lines
		summary+=("$(why_failed "$slog")" "      (whole output: $slog)")
		print_summary
		exit 1
	fi
}
# why_failed LOG: at most 12 short lines of a failed stage's output that say
# why: failed checks and tests, and a guest kernel's oops (its first line,
# RIP and Code).
why_failed() {
	grep -aE 'FAIL|Failed|[Ee]rror[: ]|\] (Oops|BUG:|WARNING:|Kernel panic|RIP: |Code: )|\] .*int3: ' "$1" |
		grep -avE '^(PASS|ok) ' | head -n 12 | cut -c1-200 | sed 's/^/      | /' || true
}
print_summary() {
	echo "=== summary"
	printf '%s\n' "${summary[@]}"
}
want() { [[ " $stages " == *" $1 "* ]]; }

if want deps; then
	stage "install packages" "$top/scripts/install-deps.sh"
fi
# The whole-system image (tests/system/make-image.sh): its mmdebstrap and
# disk (most of a cold build: downloads and unpacking, about 7 minutes) are
# prepared in the background at low priority while the other stages run;
# its first boot (2 minutes of TCG) waits for the system stage, so no guest
# of ours competes with the VM suites.
image_job=
image_log=$build/system-image.log
if want system; then
	mkdir -p "$build"
	nice -n 19 "$top/tests/system/make-image.sh" --prepare bookworm >"$image_log" 2>&1 &
	image_job=$!
fi
finish_image() {
	# the background part's own failure is retried here, in the foreground
	wait "$image_job" || tail -n 5 "$image_log"
	"$top/tests/system/make-image.sh" bookworm
}
if want unit; then
	stage "configure" cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
	stage "build" cmake --build "$build" -j"$(nproc)"
	stage "host unit tests" ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE apps
	# libFuzzer on the profile loader (clang, ASan+UBSan); 10-minute runs: docs/cli.md.
	stage "profile loader fuzz smoke (30 s)" env FS_FUZZ_BUILD_DIR="$build-fuzz" "$top/tests/cli/fuzz.sh" 30
	# The CLI once more under ASan + UBSan (its own build dir; CLI only).  The
	# hostile-profile cases run under `ulimit -v 100 MB`, where ASan cannot map
	# its shadow memory; the loader runs sanitized in the fuzz smoke above.
	asan=${FS_ASAN_BUILD_DIR:-$top/build-asan}
	stage "configure (ASan+UBSan)" cmake -S "$top" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DFS_SANITIZE=ON
	stage "build CLI (ASan+UBSan)" cmake --build "$asan" -j"$(nproc)" --target fastsocket fastsocket_cli_tests
	stage "CLI tests (ASan+UBSan)" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 FS_STATE_ROUNDS=10 FS_KILL_ROUNDS=20 \
		ctest --test-dir "$asan" --output-on-failure -j"$(nproc)" -R '^cli\.' -E '^cli\.(xdp|hostile\..*)$'
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
	# The oldest supported kernel runs the module suite too (issue 9: the
	# module's safety properties hold on 5.10 as well); set FS_VM_510=0 to skip.
	if [[ " $vm_kernels " != *" 5.10 "* && ${FS_VM_510:-1} != 0 ]]; then
		stage "VM module suite on 5.10" "$top/tests/vm/run" --kernel 5.10 --suite module
	fi
fi
if want fuzz; then
	# 100,000 random ioctls from 4 threads, then rmmod (tests/vm/suites/fuzz.sh).
	for k in $fuzz_kernels; do
		stage "VM ioctl fuzz on $k" "$top/tests/vm/run" --kernel "$k" --suite fuzz --timeout 900
	done
fi
if want apps; then
	if ! want unit; then
		stage "configure" cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
		stage "build" cmake --build "$build" -j"$(nproc)"
	fi
	# Python's ThreadingHTTPServer (one accepting thread) cannot meet the
	# locality target (docs/library.md "Real applications"): not in CI,
	# FS_APPS=all runs it too.
	if [[ ${FS_APPS:-} == all ]]; then
		apps_re=. apps_vm=nginx,nginx-upgrade,haproxy,node,python
	else
		apps_re='^apps\.(selfcheck|nginx|nginx-upgrade|haproxy|node)$' apps_vm=nginx,nginx-upgrade,haproxy,node
	fi
	stage "host real applications" ctest --test-dir "$build" --output-on-failure -L apps -R "$apps_re"
	for k in $apps_kernels; do
		stage "VM real applications on $k" "$top/tests/vm/run" --kernel "$k" --suite apps --mem 2G \
			--timeout 900 --params "apps=$apps_vm"
	done
fi
if want packages; then
	stage "build .deb" "$top/packaging/build-deb.sh"
	stage "build .rpm" "$top/packaging/build-rpm.sh"
	stage "lintian + rpmlint" "$top/packaging/lint.sh"
	stage "package install test" "$top/tests/install/run.sh"
	stage "kernel matrix (build + load)" "$top/tests/install/kernel-matrix.sh"
fi
if want system; then
	# Real Debian systems under QEMU (docs/testing-vm.md, "Whole-system
	# tests"): the Ansible role on two bookworm hosts, one of them rebooted
	# and checked as install-reboot does (scenarios/fleet.sh).  The other
	# scenarios (install-reboot alone, kernel-upgrade, boot-apply-fails,
	# purge) run with tests/system/run SUITE SCENARIO.
	stage "system: bookworm image" finish_image
	stage "system: bookworm fleet (Ansible on two hosts, reboot, nginx + haproxy)" \
		"$top/tests/system/run" bookworm fleet
fi
print_summary
