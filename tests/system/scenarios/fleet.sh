# shellcheck shell=bash
# fleet: CI's whole-system scenario, the Ansible test (ansible.sh) with
# install-reboot's checks on g1 in the middle, so CI boots two guests and
# builds DKMS twice instead of three times.  After the role's first run
# (apt installed the .debs, DKMS built, the handler applied the profile):
# g1 gets the shipped drop-ins for nginx and haproxy and reboots; after the
# boot the module is loaded with the profile's parameters, fastsocket.service
# applied the profile, no drift, nginx and haproxy serve every request with
# >= 99% locality.  Then the drop-ins go again (the services restart plainly,
# so the module is free for the revert at the end) and the Ansible test goes
# on: second run changed=0 on both (g1 after a reboot), check mode, bad
# profile, rolling run, revert.
after_first_run() {
	vm_copy g1 /root/fs "$LOAD" || bad "g1: copy fsbench-load"
	guest_services g1 || bad "g1: drop-ins and service configuration"
	rebooted g1 reboot_s || return
	record kernel "$(vm_ssh g1 uname -r)"
	check_rebooted_serving g1
	check "g1: nginx and haproxy back without the drop-ins" vm_ssh g1 \
		'rm -r /etc/systemd/system/nginx.service.d /etc/systemd/system/haproxy.service.d &&
		systemctl daemon-reload && systemctl restart nginx haproxy &&
		! grep -q libfsocket /proc/$(systemctl show -p MainPID --value nginx)/maps'
}
# shellcheck source=tests/system/scenarios/ansible.sh
. "$HERE/scenarios/ansible.sh"
