#!/bin/sh
# First boot of a whole-system test image (fs-firstboot.service): install
# GRUB on the virtual disk the way a Debian installer does, write its
# configuration, and power off.  The cached image then boots through its
# own boot loader like a real machine.
set -eu
echo "grub-pc grub-pc/install_devices multiselect /dev/vda" | debconf-set-selections
grub-install --target=i386-pc /dev/vda
update-grub
rm -f /etc/fs-firstboot
systemctl disable fs-firstboot.service
echo "fs-firstboot: done"
systemctl --no-block poweroff
