#!/bin/sh
# mmdebstrap --customize-hook of the whole-system images: runs on the host
# with the finished root as $1.  Makes the root bootable under QEMU (fstab,
# network, serial console, ssh key of the harness) and quiet (no timer that
# wants the network), and downloads a second kernel for the kernel-upgrade
# scenario into the image.
#   customize.sh ROOT PUBKEY_FILE
set -eu
R=$1
PUB=$2

echo fs-guest >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tfs-guest\n::1\tlocalhost ip6-localhost\n' >"$R/etc/hosts"
echo 'LABEL=fsroot / ext4 errors=remount-ro 0 1' >"$R/etc/fstab"

# QEMU user networking: DHCP on the one NIC (only hostfwd reaches it).
mkdir -p "$R/etc/systemd/network"
printf '[Match]\nType=ether\n\n[Network]\nDHCP=ipv4\n' >"$R/etc/systemd/network/10-nic.network"
chroot "$R" systemctl enable systemd-networkd.service
# Nothing to wait for at boot but the NIC's DHCP lease.
chroot "$R" systemctl mask systemd-networkd-wait-online.service \
	apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
	man-db.timer 2>/dev/null || true

# ssh as root with the harness's key only.
install -d -m 0700 "$R/root/.ssh"
install -m 0600 "$PUB" "$R/root/.ssh/authorized_keys"
printf 'PasswordAuthentication no\nUseDNS no\n' >"$R/etc/ssh/sshd_config.d/fs-test.conf"

# GRUB on the serial console, no menu delay; the kernel grub boots by
# default is the newest installed one (grub-mkconfig sorts by version).
cat >>"$R/etc/default/grub" <<'EOG'
GRUB_TIMEOUT=0
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_CMDLINE_LINUX="console=ttyS0,115200 printk.time=1"
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_DISABLE_OS_PROBER=true
EOG

# First boot (tests/system/make-image.sh boots the kernel directly once):
# install GRUB on the disk, then power off.
install -m 0755 "$(dirname "$0")/firstboot.sh" "$R/usr/local/sbin/fs-firstboot"
cat >"$R/etc/systemd/system/fs-firstboot.service" <<'EOU'
[Unit]
Description=Install the boot loader of the test image, then power off
ConditionPathExists=/etc/fs-firstboot
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/fs-firstboot
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOU
touch "$R/etc/fs-firstboot"
chroot "$R" systemctl enable fs-firstboot.service

# A second, newer kernel and its headers for the kernel-upgrade scenario:
# downloaded into the image (the guest reaches no archive), not installed.
k2=$(chroot "$R" apt-cache search --names-only '^linux-image-6\.12\.[0-9.]+\+deb[0-9]+-amd64$' |
	awk '{print $1}' | sort -V | tail -1)
if [ -n "$k2" ]; then
	kv=${k2#linux-image-}
	mkdir -p "$R/var/cache/fs-kernel2/partial"
	chroot "$R" apt-get install -y --download-only --no-install-recommends \
		-o Dir::Cache::Archives=/var/cache/fs-kernel2/ "$k2" "linux-headers-$kv"
	rm -rf "$R/var/cache/fs-kernel2/partial" "$R/var/cache/fs-kernel2/lock"
	echo "$kv" >"$R/var/cache/fs-kernel2/KVER"
fi
