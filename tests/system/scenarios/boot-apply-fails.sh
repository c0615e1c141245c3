# shellcheck shell=bash
# boot-apply-fails: /etc/fastsocket/profile.yaml names a NIC the machine
# does not have.  After the reboot the system is up (ssh, nginx), the unit
# has failed with a journal message naming the NIC, and nothing of the
# profile was applied (sysctls, steering, IRQs, module as before).
vm_boot g1 "$IMG"
booted g1 boot_s || return
guest_install g1 || return
vm_ssh g1 'mkdir -p /etc/fastsocket && cat >/etc/fastsocket/profile.yaml' <<'EOP'
version: 1
description: names a NIC this machine lacks
include: web-server
interfaces: [fs-missing0]
EOP
snapshot g1 >"$RUN_DIR/g1.before"
rebooted g1 reboot_s || return
check "g1: nginx started although tuning failed" vm_ssh g1 'systemctl is-active -q nginx'
check "g1: fastsocket.service failed" vm_ssh g1 'systemctl is-failed -q fastsocket.service'
vm_ssh g1 'journalctl -b -u fastsocket.service -o cat' >"$RUN_DIR/g1.journal.txt" 2>&1
sed 's/^/  journal: /' "$RUN_DIR/g1.journal.txt" | head -8
check "g1: the journal names the missing NIC" grep -q 'fs-missing0' "$RUN_DIR/g1.journal.txt"
snapshot g1 >"$RUN_DIR/g1.after"
if cmp -s "$RUN_DIR/g1.before" "$RUN_DIR/g1.after"; then ok "g1: nothing half-applied"; else
	diff "$RUN_DIR/g1.before" "$RUN_DIR/g1.after" | head -20
	bad "g1: the failed apply changed the system"
fi
check "g1: no saved state left by the failed apply" vm_ssh g1 '! test -e /var/lib/fastsocket/saved.json'
