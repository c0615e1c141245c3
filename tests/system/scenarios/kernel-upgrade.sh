# shellcheck shell=bash
# kernel-upgrade: with fastsocket installed and the profile applied, install
# a second, newer kernel and its headers from the image's cache
# (/var/cache/fs-kernel2, downloaded when the image was built): DKMS
# autoinstall builds the module for it (the kernel's postinst hook), GRUB's
# default becomes the new kernel (update-grub), reboot into it: the module
# loads with the profile's parameters and fastsocket.service applied it.
vm_boot g1 "$IMG"
booted g1 boot_s || return
k1=$(vm_ssh g1 uname -r)
k2=$(vm_ssh g1 cat /var/cache/fs-kernel2/KVER 2>/dev/null)
record kernel_before "$k1"
[ -n "$k2" ] || { bad "g1: no second kernel in the image (/var/cache/fs-kernel2)"; return; }
guest_install g1 || return
if guest_profile g1; then ok "g1: fastsocket apply"; else bad "g1: fastsocket apply"; fi
t0=$SECONDS
if vm_ssh g1 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /var/cache/fs-kernel2/*.deb' \
	>"$RUN_DIR/g1.kernel2.log" 2>&1; then ok "g1: kernel $k2 installed"; else
	tail -30 "$RUN_DIR/g1.kernel2.log"
	bad "g1: installing kernel $k2 (log $RUN_DIR/g1.kernel2.log)"
	return
fi
record kernel_install_s $((SECONDS - t0))
check "g1: DKMS autoinstall built fastsocket for $k2" \
	vm_ssh g1 "dkms status fastsocket -k '$k2' | grep -q ': installed'"
check "g1: GRUB's default entry is $k2" \
	vm_ssh g1 "grep -m1 -E '^[[:space:]]*linux[[:space:]]' /boot/grub/grub.cfg | grep -q 'vmlinuz-$k2 '"
rebooted g1 reboot_s || return
record kernel_after "$(vm_ssh g1 uname -r)"
check "g1: booted $k2" test "$(vm_ssh g1 uname -r)" = "$k2"
check "g1: fastsocket.ko of $k2 loaded" vm_ssh g1 'test -d /sys/module/fastsocket'
check_module_params g1
check_applied g1
