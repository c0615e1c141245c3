# shellcheck shell=bash
# purge: install, apply, reboot (the profile applied at boot), purge both
# packages: no file of theirs is left (DKMS tree, module, units, state), the
# administrator's own /etc/modprobe.d/fastsocket.conf (written before the
# install, replaced by apply) is back byte for byte, their profile stays,
# and the tuning is reverted.
vm_boot g1 "$IMG"
booted g1 boot_s || return
files() {
	vm_ssh g1 'find / -xdev \( -path /proc -o -path /sys -o -path /run -o -path /tmp -o -path /root/fs \
		-o -path /var/log -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg \
		-o -path /var/lib/systemd -o -path /var/tmp -o -path /etc/ld.so.cache \) -prune -o -print | sort'
}
vm_ssh g1 'printf "# the administrator'"'"'s own options\noptions fastsocket enable_fast_epoll=0\n" >/etc/modprobe.d/fastsocket.conf
	sha256sum /etc/modprobe.d/fastsocket.conf' >"$RUN_DIR/g1.admin.sha"
files >"$RUN_DIR/g1.files.before"
snapshot g1 >"$RUN_DIR/g1.before"
guest_install g1 || return
if guest_profile g1; then ok "g1: fastsocket apply"; else bad "g1: fastsocket apply"; fi
rebooted g1 reboot_s || return
check_applied g1
t0=$SECONDS
if vm_ssh g1 'DEBIAN_FRONTEND=noninteractive apt-get purge -y fastsocket fastsocket-dkms' >"$RUN_DIR/g1.purge.log" 2>&1; then
	ok "g1: apt-get purge fastsocket fastsocket-dkms"; else tail -20 "$RUN_DIR/g1.purge.log"; bad "g1: purge"; fi
record purge_s $((SECONDS - t0))
files >"$RUN_DIR/g1.files.after"
left=$(comm -13 "$RUN_DIR/g1.files.before" "$RUN_DIR/g1.files.after" | grep -v -x -e /etc/fastsocket -e /etc/fastsocket/profile.yaml)
if [ -z "$left" ]; then ok "g1: nothing left but the administrator's profile"; else
	echo "$left" | head -20
	bad "g1: files left after purge"
fi
check "g1: the administrator's profile kept" vm_ssh g1 'test -s /etc/fastsocket/profile.yaml'
check "g1: the administrator's modprobe.d file back byte for byte" \
	vm_ssh g1 "sha256sum -c --quiet" <"$RUN_DIR/g1.admin.sha"
check "g1: no DKMS tree or module left" vm_ssh g1 '! dkms status | grep -q fastsocket && ! find /lib/modules -name "fastsocket.ko*" | grep -q .'
check "g1: module unloaded" vm_ssh g1 '! test -d /sys/module/fastsocket'
snapshot g1 | grep -v '^[0-9a-f]\{64\} \|^no profile' >"$RUN_DIR/g1.after"
grep -v '^[0-9a-f]\{64\} \|^no profile' "$RUN_DIR/g1.before" >"$RUN_DIR/g1.before.cmp"
if cmp -s "$RUN_DIR/g1.before.cmp" "$RUN_DIR/g1.after"; then ok "g1: tuning reverted by the purge"; else
	diff "$RUN_DIR/g1.before.cmp" "$RUN_DIR/g1.after" | head -20
	bad "g1: tuning left after purge"
fi
