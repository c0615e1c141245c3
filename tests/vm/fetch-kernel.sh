#!/bin/bash
# fetch-kernel.sh NAME: download (once) the kernel image package matching
# the headers of root NAME and extract into $CACHE/kernels/NAME/KVER/:
#   vmlinuz            the bzImage
#   vmlinux            the ELF image with a PVH entry (if it can be extracted)
#   modules/*.ko       the modules of rig/extra-modules.list and their
#                      dependencies, decompressed; modules/order = load order
#   config             the kernel configuration
# The packages are kept in $CACHE/kernels/NAME/debs-KVER/, so a change of
# rig/extra-modules.list re-extracts without downloading.  Prints the
# directory.  The stamp .fs-kernel-ok is written last.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 NAME   (NAME: $ALL_KERNELS)" >&2; exit 2; }
NAME=$1
catalogue "$NAME"
ROOT=$(root_dir "$NAME")

need_root_user
need_tools dpkg-deb tar xz zstd readelf modinfo flock
"$VM_DIR/make-root.sh" "$NAME" >/dev/null
KVER=$(cat "$ROOT/.fs-root-ok")
KDIR=$(kernel_dir "$NAME")/$KVER
STAMP=$KDIR/.fs-kernel-ok
DEBDIR=$(kernel_dir "$NAME")/debs-$KVER

# extract_vmlinux BZIMAGE OUT: find the compressed payload in the bzImage
# and decompress it to an ELF file (what scripts/extract-vmlinux does).
extract_vmlinux() {
	local img=$1 out=$2 magic tool off
	for magic in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08' \
		'lz4:\x02\x21\x4c\x18' 'bzip2:BZh' 'lzma:\x5d\x00\x00\x00'; do
		tool=${magic%%:*}
		command -v "$tool" >/dev/null 2>&1 || continue
		while read -r off; do
			case "$tool" in
			lz4) tail -c +$((off + 1)) "$img" | lz4 -dc >"$out" 2>/dev/null || true ;;
			*) tail -c +$((off + 1)) "$img" | "$tool" -dc >"$out" 2>/dev/null || true ;;
			esac
			if readelf -h "$out" >/dev/null 2>&1; then
				return 0
			fi
		done < <(LC_ALL=C grep -obUaP "${magic#*:}" "$img" | cut -d: -f1 | head -n 8)
	done
	rm -f "$out"
	return 1
}

# has_pvh VMLINUX: does the ELF carry XEN_ELFNOTE_PHYS32_ENTRY (type 18),
# which QEMU needs to boot it directly?
has_pvh() {
	readelf -n "$1" 2>/dev/null | grep -Eq 'PHYS32_ENTRY|Unknown note type: \(0x00000012\)'
}

# find_module LISTING NAME: the path of module NAME in the package listing.
find_module() {
	local listing=$1 name=$2 alt
	alt=$(echo "$name" | tr '_-' '-_')
	grep -E "/($name|$alt)\.ko(\.xz|\.zst|\.gz)?\$" "$listing" | head -n 1 || true
}

# download: fetch the image package of KVER and its linux-*-KVER
# dependencies into $DEBDIR (apt of the root, so the host's is untouched).
download() {
	local work=/var/tmp/fs-kernel-dl debs dep
	rm -rf "${ROOT:?}$work"
	mkdir -p "$ROOT$work"
	chmod 777 "$ROOT$work"
	# From 7.x linux-image-KVER is empty and depends on linux-binary-KVER
	# (vmlinuz), linux-modules-KVER and linux-base-KVER: take every
	# dependency built for the same KVER.
	debs="linux-image-$KVER"
	for dep in $(in_root "$ROOT" apt-cache show --no-all-versions "linux-image-$KVER" |
		sed -n 's/^Depends: //p' | tr ',|' '  ' | tr -s ' ' '\n' | grep '^linux-' || true); do
		case "$dep" in
		linux-image-*) ;;
		linux-*-"$KVER") debs="$debs $dep" ;;
		esac
	done
	log "$NAME: downloading $debs"
	# On a fresh cache nothing has created the kernel directory yet.
	mkdir -p "$(dirname "$DEBDIR")"
	# shellcheck disable=SC2086
	retry 3 in_root "$ROOT" sh -c "cd $work && apt-get download -q $debs" >"$DEBDIR.download.log" 2>&1 || {
		tail -n 20 "$DEBDIR.download.log" >&2
		die "$NAME: could not download $debs"
	}
	rm -rf "$DEBDIR"
	mkdir -p "$DEBDIR"
	mv "$ROOT$work"/*.deb "$DEBDIR/"
	rm -rf "${ROOT:?}$work"
	touch "$DEBDIR/.fs-complete"
}

fetch() {
	local deb debs listing vmlinuz moddir path name f todo done_list order list_hash
	list_hash=$(sha256sum <"$VM_DIR/rig/extra-modules.list" | cut -d' ' -f1)
	if [ -f "$STAMP" ] && [ "$(cat "$KDIR/.fs-modules-list" 2>/dev/null)" = "$list_hash" ]; then
		return 0
	fi
	if [ ! -f "$DEBDIR/.fs-complete" ]; then
		download
	fi
	rm -rf "$KDIR"
	mkdir -p "$KDIR/modules"
	debs=$(cd "$DEBDIR" && echo *.deb)
	# One full extraction per package (each pass decompresses the whole
	# data.tar), then everything is picked from the extracted tree.
	mkdir -p "$KDIR/x"
	for deb in "$DEBDIR"/*.deb; do
		dpkg-deb -x "$deb" "$KDIR/x"
	done
	vmlinuz=
	for path in "boot/vmlinuz-$KVER" "usr/lib/modules/$KVER/vmlinuz" "lib/modules/$KVER/vmlinuz"; do
		if [ -f "$KDIR/x/$path" ]; then
			vmlinuz=$KDIR/x/$path
			break
		fi
	done
	[ -n "$vmlinuz" ] || die "$NAME: no vmlinuz for $KVER in $debs"
	cp "$vmlinuz" "$KDIR/vmlinuz"
	for path in "boot/config-$KVER" "usr/lib/modules/$KVER/config" "lib/modules/$KVER/config"; do
		if [ -f "$KDIR/x/$path" ]; then
			cp "$KDIR/x/$path" "$KDIR/config"
			break
		fi
	done
	moddir=
	for path in "usr/lib/modules/$KVER" "lib/modules/$KVER"; do
		if [ -d "$KDIR/x/$path/kernel" ]; then
			moddir=$KDIR/x/$path
			break
		fi
	done
	[ -n "$moddir" ] || die "$NAME: no modules directory for $KVER in $debs"
	if [ -f "$moddir/modules.builtin" ]; then
		cp "$moddir/modules.builtin" "$KDIR/modules.builtin"
	else
		: >"$KDIR/modules.builtin"
	fi
	listing=$KDIR/listing
	(cd "$moddir" && find kernel -name '*.ko*') >"$listing"

	# Modules: requested list plus dependencies (from modinfo), depth first so
	# that the order file loads dependencies before their users.
	order=()
	done_list=" "
	add_module() {
		local name=$1 line file base dep
		case "$done_list" in *" $name "*) return 0 ;; esac
		done_list="$done_list$name "
		line=$(find_module "$listing" "$name")
		if [ -z "$line" ]; then
			if grep -Eq "/($name|$(echo "$name" | tr '_-' '-_'))\.ko\$" "$KDIR/modules.builtin"; then
				return 0
			fi
			die "$NAME: module $name is neither in $debs nor built in"
		fi
		file=$moddir/$line
		base=$(basename "$file")
		case "$base" in
		*.ko.xz) xz -dc "$file" >"$KDIR/modules/${base%.xz}"; base=${base%.xz} ;;
		*.ko.zst) zstd -q -dc "$file" >"$KDIR/modules/${base%.zst}"; base=${base%.zst} ;;
		*.ko.gz) gzip -dc "$file" >"$KDIR/modules/${base%.gz}"; base=${base%.gz} ;;
		*) cp "$file" "$KDIR/modules/$base" ;;
		esac
		for dep in $(modinfo -F depends "$KDIR/modules/$base" | tr ',' ' '); do
			add_module "$dep"
		done
		order+=("$base")
	}
	todo=$(grep -Ev '^[[:space:]]*(#|$)' "$VM_DIR/rig/extra-modules.list")
	for name in $todo; do
		add_module "$name"
	done
	: >"$KDIR/modules/order"
	for f in "${order[@]}"; do
		echo "$f" >>"$KDIR/modules/order"
	done

	if extract_vmlinux "$KDIR/vmlinuz" "$KDIR/vmlinux.tmp" && has_pvh "$KDIR/vmlinux.tmp"; then
		mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
	else
		rm -f "$KDIR/vmlinux.tmp"
		log "$NAME: no bootable ELF vmlinux (PVH) in the bzImage; will boot the bzImage"
	fi
	rm -rf "$KDIR/x"
	echo "$list_hash" >"$KDIR/.fs-modules-list"
	echo "$KVER" >"$STAMP"
	log "$NAME: kernel $KVER ready in $KDIR ($(wc -l <"$KDIR/modules/order") extra modules)"
}

with_lock "$CACHE/locks/kernel-$NAME.lock" fetch
echo "$KDIR"
