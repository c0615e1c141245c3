#!/bin/bash
# Boot, reach and stop whole-system guests (sourced after lib.sh).
#
# A guest NAME lives in RUN_DIR (set by the caller): NAME.qcow2 (a
# copy-on-write overlay on the cached image: the cache is never written),
# NAME.console.log (serial console of every boot: GRUB, kernel, systemd), NAME.pid,
# NAME.port (the host port forwarded to the guest's ssh).
#
# QEMU: TCG (no KVM here), user-mode networking with restrict=on: the
# guest gets DHCP from QEMU but reaches neither the host nor anything
# beyond it; the only way in is the hostfwd from 127.0.0.1:PORT to its
# port 22.  The disk boots through the image's own GRUB (SeaBIOS ->
# GRUB -> the newest kernel), so `reboot` in the guest is a real reboot:
# QEMU resets the machine and GRUB picks the kernel again.
# shellcheck shell=bash
# shellcheck disable=SC2034  # BOOT_S is for the caller

VM_MEM=${FASTSOCKET_SYSTEM_MEM:-2G}
VM_SMP=${FASTSOCKET_SYSTEM_SMP:-2}
VM_NAMES=()

# vm_boot NAME IMAGE_DIR: a new overlay on the image, then vm_start.
vm_boot() {
	local name=$1 img=$2
	qemu-img create -q -f qcow2 -b "$img/base.qcow2" -F qcow2 "$RUN_DIR/$name.qcow2"
	cp "$img/id_ed25519" "$RUN_DIR/id_ed25519"
	chmod 600 "$RUN_DIR/id_ed25519"
	free_port >"$RUN_DIR/$name.port"
	VM_NAMES+=("$name")
	vm_start "$name"
}

# vm_start NAME: power the guest on (its overlay and port exist), in the
# background.  -no-reboot: a reboot in the guest ends QEMU, and vm_reboot
# powers the machine on again (a warm reset of QEMU's TCG machine with
# -cpu max hung between GRUB and the kernel's first message here).
vm_start() {
	local name=$1 port
	port=$(vm_port "$name")
	date +%s.%N >"$RUN_DIR/$name.t0"
	# Where this boot's console output starts (the file is appended to).
	stat -c %s "$RUN_DIR/$name.console.log" 2>/dev/null >"$RUN_DIR/$name.con0" || echo 0 >"$RUN_DIR/$name.con0"
	$NICE qemu-system-x86_64 -accel tcg -cpu max -m "$VM_MEM" -smp "$VM_SMP" \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-drive "file=$RUN_DIR/$name.qcow2,if=virtio,format=qcow2" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" \
		-device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
		-chardev "file,id=con,path=$RUN_DIR/$name.console.log,append=on" -serial chardev:con \
		-pidfile "$RUN_DIR/$name.pid" -daemonize ||
		sdie "QEMU did not start $name"
	slog "$name: booting (ssh on 127.0.0.1:$port, console $RUN_DIR/$name.console.log)"
}

vm_port() { cat "$RUN_DIR/$1.port"; }

# vm_ssh NAME CMD...: run CMD (a shell command line) as root in the guest.
vm_ssh() {
	local name=$1
	shift
	ssh "${SSH_OPTS[@]}" -i "$RUN_DIR/id_ed25519" -p "$(vm_port "$name")" root@127.0.0.1 "$@"
}

# vm_copy NAME DEST FILE...: copy host files into the guest directory DEST.
vm_copy() {
	local name=$1 dest=$2
	shift 2
	vm_ssh "$name" "mkdir -p '$dest'"
	scp -q "${SSH_OPTS[@]}" -i "$RUN_DIR/id_ed25519" -P "$(vm_port "$name")" "$@" "root@127.0.0.1:$dest/"
}

# vm_wait NAME [OLD_BOOT_ID]: wait (at most FASTSOCKET_SYSTEM_BOOT_TIMEOUT
# s, 600) until ssh answers, with a boot id other than OLD_BOOT_ID, and
# systemd has finished starting up (running or degraded); sets BOOT_S to
# the seconds since the boot began.  Returns 1 (console tail printed) when
# QEMU ended or the time ran out.
#
# A kernel that printed its banner but not "Run /init as init process"
# within FASTSOCKET_SYSTEM_KERNEL_LIMIT s (120; it takes 8 s of guest time
# here) hung under TCG, as rig boots do now and then (tests/vm/lib.sh,
# vm_boot): nothing of the guest's has run yet, so QEMU is stopped and the
# machine powered on again, at most twice per wait, said on stderr.
vm_wait() {
	local name=$1 old=${2:-} limit=${FASTSOCKET_SYSTEM_BOOT_TIMEOUT:-600} id state t0
	local klimit=${FASTSOCKET_SYSTEM_KERNEL_LIMIT:-120} kstart="" at_init=0 restarts=0 con
	t0=$(cat "$RUN_DIR/$name.t0")
	while :; do
		if [ "$(elapsed "$t0")" -gt "$limit" ]; then
			tail -40 "$RUN_DIR/$name.console.log" >&2
			echo "$name: no ssh/boot after $limit s" >&2
			return 1
		fi
		# This boot's console, until the kernel has run /init.
		if [ "$at_init" -eq 0 ]; then
			con=$(tail -c +"$(($(cat "$RUN_DIR/$name.con0") + 1))" "$RUN_DIR/$name.console.log" 2>/dev/null | grep -aE 'Linux version|Run /init as init process' || true)
			if grep -q 'Run /init as init process' <<<"$con"; then
				at_init=1
			elif [ -z "$kstart" ] && grep -q 'Linux version' <<<"$con"; then
				kstart=$(date +%s)
			fi
		fi
		if [ -n "$kstart" ] && [ "$at_init" -eq 0 ] &&
			[ $(($(date +%s) - kstart)) -ge "$klimit" ] && [ "$restarts" -lt 2 ]; then
			restarts=$((restarts + 1))
			echo "$name: the kernel did not reach /init within $klimit s (TCG); powering on again ($restarts of at most 2)" >&2
			tail -n 3 "$RUN_DIR/$name.console.log" | cut -c1-200 >&2
			kill "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true
			vm_gone "$name" 30 || true
			vm_start "$name"
			t0=$(cat "$RUN_DIR/$name.t0")
			kstart=""
			continue
		fi
		if ! vm_running "$name"; then
			tail -40 "$RUN_DIR/$name.console.log" >&2
			echo "$name: QEMU exited during boot" >&2
			return 1
		fi
		# From the kernel's banner to /init, watch its console closely (ssh
		# cannot answer yet, and a try can take ConnectTimeout).
		if [ -n "$kstart" ] && [ "$at_init" -eq 0 ]; then
			sleep 1
			continue
		elif id=$(vm_ssh "$name" cat /proc/sys/kernel/random/boot_id 2>/dev/null) &&
			[ -n "$id" ] && [ "$id" != "$old" ]; then
			state=$(timeout 300 ssh "${SSH_OPTS[@]}" -i "$RUN_DIR/id_ed25519" -p "$(vm_port "$name")" root@127.0.0.1 systemctl is-system-running --wait 2>/dev/null) || true
			case "$state" in running | degraded) break ;; esac
		fi
		sleep 2
	done
	BOOT_S=$(elapsed "$t0")
}

# elapsed T0: whole seconds since T0 (date +%s.%N).
elapsed() { awk -v t0="$1" -v t="$(date +%s.%N)" 'BEGIN { printf "%d\n", t - t0 + 0.5 }'; }

# vm_reboot NAME: `systemctl reboot` in the guest (the whole shutdown
# sequence runs), wait for QEMU to end (-no-reboot), power on again (GRUB
# chooses the kernel again) and wait for the boot; BOOT_S = the seconds
# from the reboot command to the booted system.
vm_reboot() {
	local name=$1 id t0
	id=$(vm_ssh "$name" cat /proc/sys/kernel/random/boot_id)
	t0=$(date +%s.%N)
	vm_ssh "$name" 'systemctl reboot' >/dev/null 2>&1 || true
	if ! vm_gone "$name" 300; then
		echo "$name: still running 300 s after reboot" >&2
		return 1
	fi
	vm_start "$name"
	echo "$t0" >"$RUN_DIR/$name.t0"
	vm_wait "$name" "$id"
}

# vm_gone NAME S: wait at most S seconds for QEMU to end; 1 if it still runs.
vm_gone() {
	local _
	for _ in $(seq "$2"); do
		vm_running "$1" || return 0
		sleep 1
	done
	! vm_running "$1"
}

vm_running() {
	local pid
	pid=$(cat "$RUN_DIR/$1.pid" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# vm_stop NAME: power off (60 s), then kill QEMU if it is still there.
vm_stop() {
	local name=$1
	vm_running "$name" || return 0
	vm_ssh "$name" 'systemctl poweroff' >/dev/null 2>&1 || true
	vm_gone "$name" 60 && return 0
	kill "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true
}

# vm_stop_all: every guest this process booted (the caller's EXIT trap).
vm_stop_all() {
	local n
	for n in "${VM_NAMES[@]}"; do
		vm_stop "$n"
	done
}
