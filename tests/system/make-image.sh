#!/bin/bash
# Build (once) the cached whole-system disk image of a Debian suite and
# print its directory:
#
#   tests/system/make-image.sh bookworm   -> <cache>/system/images/bookworm-<key>/
#        base.qcow2   the disk: MBR, one ext4 partition, GRUB installed
#        id_ed25519   the key the harness logs in with as root
#        KVER         the kernel GRUB boots by default
#        build.log    mmdebstrap and first-boot output
#
# <key> hashes the package list (images/common.list + images/SUITE.list)
# and the scripts that shape the image, so a change builds a new image and
# old ones stay until removed.  The build holds a lock on the suite, so
# concurrent callers wait and then reuse the result.
#
# Steps: mmdebstrap --variant=minbase with the list (no docs, man pages or
# locales; fastsocket's own docs with the example drop-ins are kept) into a directory; images/customize.sh (fstab, network, ssh key,
# GRUB serial settings, second kernel downloaded for later); mkfs.ext4 -d
# into partition 1 of a raw disk (no loop device or mount needed); one boot
# of the image's kernel directly (QEMU -kernel) whose fs-firstboot.service
# runs grub-install /dev/vda and update-grub, then powers off; the disk is
# converted to qcow2.  From then on the image boots through its own GRUB.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"

# --prepare: only the steps that need no CPU to speak of (mmdebstrap, the
# disk), kept in <dir>.tmp; the next call without it boots from there.
# scripts/test.sh runs it in the background while other stages run.
PREPARE=0
if [ "${1:-}" = --prepare ]; then
	PREPARE=1
	shift
fi
SUITE=${1:?usage: make-image.sh [--prepare] bookworm|trixie}
sources "$SUITE" >/dev/null
DIR=$(image_dir "$SUITE")
SIZE_MB=${FASTSOCKET_SYSTEM_DISK_MB:-4096}
mkdir -p "$SYS_CACHE/locks" "$SYS_CACHE/images"
exec 9>"$SYS_CACHE/locks/image-$SUITE.lock"
flock 9
if [ -f "$DIR/base.qcow2" ]; then
	echo "$DIR"
	exit 0
fi
for t in mmdebstrap qemu-system-x86_64 qemu-img mkfs.ext4 sfdisk ssh-keygen; do
	command -v "$t" >/dev/null || sdie "$t missing (scripts/install-deps.sh)"
done

t0=$SECONDS
TMP=$DIR.tmp
LOG=$TMP/build.log
# prepare: the root (mmdebstrap) and the raw disk with it (mkfs), the
# kernel and initrd beside it for the first boot; PREPARED marks it done.
prepare() {
	rm -rf "$TMP"
	mkdir -p "$TMP"
	# a failed or interrupted build leaves nothing half-made to boot from
	trap 'rm -rf "$TMP/root"; [ -f "$TMP/PREPARED" ] || rm -f "$TMP/disk.raw"' EXIT
	ssh-keygen -q -t ed25519 -N '' -C fastsocket-system-test -f "$TMP/id_ed25519"

	mapfile -t srcs < <(sources "$SUITE")
	slog "mmdebstrap $SUITE ($(image_packages "$SUITE" | wc -l) packages) -> $TMP/root"
	ok=0
	for attempt in 1 2 3; do
		rm -rf "$TMP/root"
		if $NICE mmdebstrap --mode=root --variant=minbase \
			--include="$(image_packages "$SUITE" | paste -sd, -)" \
			--aptopt='Acquire::Retries "3"' \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/info/*' \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--dpkgopt='path-include=/usr/share/doc/fastsocket/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			--dpkgopt='path-include=/usr/share/locale/locale.alias' \
			--customize-hook="$HERE/images/customize.sh \"\$1\" $TMP/id_ed25519.pub" \
			"$SUITE" "$TMP/root" "${srcs[@]}" >>"$LOG" 2>&1; then
			ok=1
			break
		fi
		slog "mmdebstrap attempt $attempt failed (tail of $LOG):"
		tail -20 "$LOG" >&2
	done
	[ "$ok" = 1 ] || sdie "mmdebstrap failed 3 times"

	kver=$(basename "$(ls -d "$TMP"/root/lib/modules/* | sort -V | tail -1)")
	echo "$kver" >"$TMP/KVER"
	cp "$TMP/root/boot/vmlinuz-$kver" "$TMP/root/boot/initrd.img-$kver" "$TMP/"
	slog "root: $(du -sm "$TMP/root" | cut -f1) MB, kernel $kver"

	# Raw disk: MBR label, partition 1 from 1 MiB (room for GRUB's core image).
	truncate -s "${SIZE_MB}M" "$TMP/disk.raw"
	echo 'start=2048, type=83, bootable' | sfdisk -q --label dos "$TMP/disk.raw"
	$NICE mkfs.ext4 -q -L fsroot -E offset=$((2048 * 512)) -d "$TMP/root" \
		"$TMP/disk.raw" $(((SIZE_MB - 1) * 1024))k
	rm -rf "$TMP/root"
	touch "$TMP/PREPARED"
}

if [ -f "$TMP/PREPARED" ] && [ -f "$TMP/disk.raw" ]; then
	kver=$(cat "$TMP/KVER")
	slog "root and disk prepared earlier (kernel $kver)"
else
	prepare
fi
if [ "$PREPARE" = 1 ]; then
	slog "prepared $TMP in $((SECONDS - t0)) s; the first boot comes with the next call"
	exit 0
fi
# a failed first boot may have half-written the disk: prepare again next time
trap 'rm -f "$TMP/disk.raw" "$TMP/PREPARED"' EXIT

slog "first boot: installing GRUB in the image"
timeout 900 $NICE qemu-system-x86_64 -accel tcg -cpu max -m 1G -smp 2 \
	-nodefaults -no-user-config -nographic -no-reboot \
	-drive "file=$TMP/disk.raw,if=virtio,format=raw" \
	-kernel "$TMP/vmlinuz-$kver" -initrd "$TMP/initrd.img-$kver" \
	-append "root=LABEL=fsroot ro console=ttyS0 printk.time=1" \
	-serial "file:$TMP/firstboot.log" || true
cat "$TMP/firstboot.log" >>"$LOG"
grep -q 'fs-firstboot: done' "$TMP/firstboot.log" ||
	{ tail -40 "$TMP/firstboot.log" >&2; sdie "first boot did not install GRUB (log $LOG)"; }
rm -f "$TMP/vmlinuz-$kver" "$TMP/initrd.img-$kver"

$NICE qemu-img convert -O qcow2 "$TMP/disk.raw" "$TMP/base.qcow2"
rm -f "$TMP/disk.raw" "$TMP/PREPARED"
chmod 0444 "$TMP/base.qcow2"
rm -rf "$DIR"
mv "$TMP" "$DIR"
slog "image $DIR ready in $((SECONDS - t0)) s ($(du -m "$DIR/base.qcow2" | cut -f1) MB)"
echo "$DIR"
