# shellcheck shell=bash
# install-reboot: apt install the built .debs into a running system, DKMS
# builds for its kernel, `fastsocket apply` of /etc/fastsocket/profile.yaml,
# reboot; after the boot: module loaded with the profile's parameters,
# fastsocket.service applied the profile, no drift, nginx and haproxy
# (systemd, shipped drop-ins) serve every request with >= 99% locality.
vm_boot g1 "$IMG"
booted g1 boot_s || return
record kernel "$(vm_ssh g1 uname -r)"
guest_install g1 || return
guest_services g1 || bad "g1: drop-ins and service configuration"
if guest_profile g1; then ok "g1: fastsocket validate + apply"; else
	tail -20 "$RUN_DIR/g1.apply.log"
	bad "g1: fastsocket apply (log $RUN_DIR/g1.apply.log)"
fi
check "g1: fastsocket.service enabled by the package" vm_ssh g1 'systemctl is-enabled -q fastsocket.service'
rebooted g1 reboot_s || return
check_rebooted_serving g1
