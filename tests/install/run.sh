#!/bin/bash
# tests/install/run.sh: the package install test (CI runs it after
# packaging/build-deb.sh).
#
#  1. copy the pristine bookworm root (tests/install/make-root.sh: minbase,
#     dkms, linux-headers-amd64, systemd) to a scratch root; list its files
#  2. apt-get install ./fastsocket-dkms_*.deb ./fastsocket_*.deb inside it
#  3. dkms status: fastsocket built and installed for the root's headers
#  4. fastsocket --version, fastsocket validate of each shipped profile,
#     systemd-analyze verify of each shipped unit
#  5. a kernel without headers: the postinst names linux-headers-<ver>
#  6. reinstall (the upgrade path of the maintainer scripts), re-check dkms
#  7. boot the root's kernel under QEMU (tests/vm/run --kernel 6.1 --module
#     <the .ko DKMS built in the root> --suite install): insmod,
#     fastsocket run --dry-run -- /bin/true, fastsocket run -- pingpong
#  8. apt-get purge both packages; list the files again: nothing may be
#     left (apt/dpkg logs, caches and state excluded), and the
#     administrator's own /etc/modprobe.d/fastsocket.conf, written before
#     the install and overwritten by `fastsocket apply` in step 4, is back
#     byte for byte
#  Also: libfsocket.so only in its private directory and found there by
#  `fastsocket run`; no build directory in any packaged file (.deb and
#  .rpm); the boot unit has a finite TimeoutStartSec=; profile-name bash
#  completion; fastsocket-profile(5); docs under /usr/share/doc; the
#  all-kernels DKMS script against a fake dkms (dkms-all-kernels-test.sh)
#
#   sudo tests/install/run.sh [--no-vm] [--keep]
#
# Packages come from build/packages (FASTSOCKET_PKG_OUT); they are built
# with packaging/build-deb.sh when missing.  Exit 0 when every check passed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$HERE/../vm/lib.sh"

VM=1
KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--no-vm) VM=0 ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
	shift
done
need_root_user
need_tools chroot mount apt-get dpkg-deb gcc

BUILD=${FASTSOCKET_BUILD_DIR:-$REPO/build}
PKG_DIR=${FASTSOCKET_PKG_OUT:-$BUILD/packages}
VERSION=$(cat "$REPO/VERSION")
PRISTINE=$(root_dir install-bookworm)
R=$(root_dir install-bookworm).run
LOGDIR=$BUILD/install-test
PAYLOAD=$BUILD/fs-install-payload
mkdir -p "$LOGDIR"
T0=$(date +%s)

fails=0
declare -a results=()
pass() { results+=("PASS  $*"); echo "install-test: PASS  $*"; }
failc() { results+=("FAIL  $*"); echo "install-test: FAIL  $*" >&2; fails=$((fails + 1)); }
check() { # check NAME CMD...: record the outcome of CMD
	local name=$1
	shift
	if "$@"; then pass "$name"; else failc "$name"; fi
}
summary() {
	echo "=== install test summary ($(($(date +%s) - T0)) s, logs in $LOGDIR)"
	printf '%s\n' "${results[@]}"
}
cleanup() {
	chroot_umount
	if [ "$KEEP" -eq 0 ] && [ -d "$R" ]; then
		rm -rf --one-file-system "$R"
	fi
}
trap cleanup EXIT

# ---- 0. packages and the pristine root ---------------------------------------
shopt -s nullglob
debs=("$PKG_DIR"/fastsocket-dkms_*_all.deb "$PKG_DIR"/fastsocket_*_amd64.deb)
if [ "${#debs[@]}" -ne 2 ]; then
	log "no packages in $PKG_DIR: building them (packaging/build-deb.sh)"
	"$REPO/packaging/build-deb.sh" >"$LOGDIR/build-deb.log" 2>&1 ||
		{ tail -n 30 "$LOGDIR/build-deb.log"; die "package build failed"; }
	debs=("$PKG_DIR"/fastsocket-dkms_*_all.deb "$PKG_DIR"/fastsocket_*_amd64.deb)
fi
[ "${#debs[@]}" -eq 2 ] || die "expected one fastsocket-dkms and one fastsocket .deb in $PKG_DIR, found: ${debs[*]}"
KVER=$("$HERE/make-root.sh") || die "could not create the pristine root"
log "pristine root $PRISTINE, headers $KVER; packages: ${debs[*]##*/}"

# ---- 1. scratch copy, file list before -------------------------------------
if [ -e "$R" ]; then
	awk -v a="$R" '$2 == a || index($2, a "/") == 1 { print $2 }' /proc/mounts |
		sort -r | while read -r mp; do umount -l "$mp" || true; done
	rm -rf --one-file-system "$R"
fi
cp -a "$PRISTINE" "$R" || die "cannot copy $PRISTINE"
chroot_mount "$R"
mkdir -p "$R/tmp/pkgs"
cp "${debs[@]}" "$R/tmp/pkgs/"

# The file list of the root: everything but pseudo filesystems, scratch
# space, apt/dpkg logs, caches and databases, and the module indexes depmod
# regenerates.  dkms's signing key (var/lib/dkms/mok.*) is dkms's own,
# shared by every DKMS module and possibly enrolled in MOK: it stays.
snapshot() {
	(cd "$R" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
		-o -path ./tmp -o -path ./var/tmp -o -path ./var/log -o -path ./var/cache \
		-o -path ./var/lib/apt -o -path ./var/lib/dpkg -o -path ./root \
		-o -path './var/lib/dkms/mok.*' -o -path './lib/modules/*/modules.*' \
		-o -path './usr/lib/modules/*/modules.*' -o -path ./etc/ld.so.cache \) -prune -o -print) |
		LC_ALL=C sort >"$1"
}
# The administrator's own modprobe.d file, there before fastsocket: apply
# replaces it, revert (at removal) must put it back and purge must keep it.
ADMIN_CONF=etc/modprobe.d/fastsocket.conf
mkdir -p "$R/etc/modprobe.d"
printf '# the administrator'"'"'s own file, not fastsocket'"'"'s\noptions fastsocket enable_fastsocket_debug=5\n' >"$R/$ADMIN_CONF"
ADMIN_SUM=$(sha256sum <"$R/$ADMIN_CONF")
snapshot "$LOGDIR/files-before.txt"

# ---- 2. install ------------------------------------------------------------
log "apt-get install ./fastsocket-dkms ./fastsocket (log $LOGDIR/install.log)"
retry 3 in_root "$R" apt-get update -q >"$LOGDIR/apt-update.log" 2>&1 || die "apt-get update failed in $R"
if in_root "$R" sh -c 'apt-get install -y ./tmp/pkgs/*.deb' >"$LOGDIR/install.log" 2>&1; then
	pass "apt-get install of ${debs[*]##*/}"
else
	tail -n 40 "$LOGDIR/install.log"
	failc "apt-get install (log $LOGDIR/install.log)"
	summary
	exit 1
fi
grep -E 'fastsocket|dkms|Secure Boot|Building' "$LOGDIR/install.log" | sed 's/^/   | /'

# ---- 3. dkms ---------------------------------------------------------------
dkms_installed() {
	local st
	st=$(in_root "$R" dkms status -m fastsocket -k "$KVER" 2>&1)
	echo "   dkms status: $st"
	echo "$st" | grep -q "fastsocket/$VERSION, $KVER, x86_64: installed" &&
		[ -n "$(find "$R/lib/modules/$KVER/updates/dkms" -name 'fastsocket.ko*' 2>/dev/null)" ]
}
check "dkms built and installed fastsocket $VERSION for $KVER" dkms_installed

# ---- 4. the CLI, profiles, units -------------------------------------------
cli_version() {
	local v
	v=$(in_root "$R" fastsocket --version 2>&1)
	echo "   fastsocket --version: $v"
	echo "$v" | grep -q "$VERSION"
}
check "fastsocket --version reports $VERSION" cli_version

# Shipped profiles: /etc/fastsocket/profiles or /usr/share/fastsocket/profiles.
mapfile -t profiles < <(in_root "$R" dpkg -L fastsocket | grep -E '/fastsocket/profiles/[^/]+\.ya?ml$')
if [ "${#profiles[@]}" -eq 0 ]; then
	failc "the fastsocket package ships no profile (*/fastsocket/profiles/*.yaml)"
fi
for p in "${profiles[@]}"; do
	check "fastsocket validate $p" in_root "$R" fastsocket validate "$p"
done

mapfile -t units < <(in_root "$R" dpkg -L fastsocket | grep -E '/systemd/system/[^/]+\.(service|path|timer|socket)$')
if [ "${#units[@]}" -eq 0 ]; then
	failc "the fastsocket package ships no systemd unit"
fi
for u in "${units[@]}"; do
	# --man=no: the root has no man-db; the man page is checked below.
	check "systemd-analyze verify $u" in_root "$R" systemd-analyze verify --man=no "$u"
done
# The unit that applies a profile must do nothing until the admin wrote one.
for u in "${units[@]}"; do
	if grep -Eq '^ExecStart=.*fastsocket.* apply' "$R$u"; then
		grep -q '^ConditionPathExists=/etc/fastsocket/profile.yaml' "$R$u" &&
			pass "$u (runs apply) has ConditionPathExists=/etc/fastsocket/profile.yaml" ||
			failc "$u runs apply without ConditionPathExists=/etc/fastsocket/profile.yaml"
		if compgen -G "$R/etc/systemd/system/*.wants/${u##*/}" >/dev/null; then
			pass "${u##*/} enabled (it waits for /etc/fastsocket/profile.yaml)"
		else
			failc "${u##*/} not enabled by the package"
		fi
	fi
done
check "man page fastsocket(8) installed" test -s "$R/usr/share/man/man8/fastsocket.8.gz"
check "man page fastsocket-profile(5) installed" test -s "$R/usr/share/man/man5/fastsocket-profile.5.gz"
check "bash completion installed" test -s "$R/usr/share/bash-completion/completions/fastsocket"
docs_installed() {
	local p
	for p in fastsocket/README.md fastsocket/profiles.md fastsocket-dkms/secure-boot.md; do
		compgen -G "$R/usr/share/doc/$p*" >/dev/null || { echo "   missing /usr/share/doc/$p"; return 1; }
	done
}
check "docs installed under /usr/share/doc/fastsocket and fastsocket-dkms" docs_installed
check "nginx and haproxy drop-in examples installed" test -s "$R/usr/share/doc/fastsocket/examples/systemd/nginx.service.d/fastsocket.conf" -a \
	-s "$R/usr/share/doc/fastsocket/examples/systemd/haproxy.service.d/fastsocket.conf"

# Profile names complete from the shipped directory and /etc/fastsocket/profiles
# (bash_completion from the host: the root has no bash-completion package).
completes_profiles() {
	local out
	cp /usr/share/bash-completion/bash_completion "$R/tmp/bash_completion"
	mkdir -p "$R/etc/fastsocket/profiles"
	printf 'version: 1\n' >"$R/etc/fastsocket/profiles/mine-test.yaml"
	out=$(in_root "$R" bash -c '. /tmp/bash_completion; . /usr/share/bash-completion/completions/fastsocket
		c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			COMPREPLY=(); _fastsocket fastsocket "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; echo "$* -> ${COMPREPLY[*]}"; }
		mkdir -p /tmp/empty-cwd && cd /tmp/empty-cwd
		c fastsocket apply ""; c fastsocket plan pro; c fastsocket validate mine; c fastsocket run --profile w' 2>&1)
	rm -f "$R/etc/fastsocket/profiles/mine-test.yaml"
	rmdir "$R/etc/fastsocket/profiles" "$R/etc/fastsocket" 2>/dev/null
	echo "$out" | sed 's/^/   | /'
	echo "$out" | grep -q '^fastsocket apply  -> .*mine-test.*proxy.*web-server' &&
		echo "$out" | grep -qx 'fastsocket plan pro -> proxy' &&
		echo "$out" | grep -qx 'fastsocket validate mine -> mine-test' &&
		echo "$out" | grep -qx 'fastsocket run --profile w -> web-server'
}
check "bash completion of profile names (validate, plan, apply, run --profile)" completes_profiles

# libfsocket.so: a private directory, no copy in a public library directory,
# and `fastsocket run` preloads it from there.
LIBDIR=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/fastsocket
lib_private() {
	local pub
	pub=$(in_root "$R" dpkg -L fastsocket | grep -E '^(/usr)?/lib(64)?/([^/]+/)?libfsocket\.so')
	[ -z "$pub" ] || { echo "   in a public library directory: $pub"; return 1; }
	in_root "$R" dpkg -L fastsocket | grep -qx "$LIBDIR/libfsocket.so"
}
check "libfsocket.so in $LIBDIR only" lib_private
run_finds_lib() {
	local out
	out=$(in_root "$R" fastsocket run --dry-run -- /bin/true 2>&1)
	echo "$out" | grep LD_PRELOAD | sed 's/^/   | /'
	echo "$out" | grep -Eq "LD_PRELOAD=['\"]?$LIBDIR/libfsocket.so"
}
check "fastsocket run --dry-run preloads $LIBDIR/libfsocket.so" run_finds_lib

# No build directory in any packaged file: build-deb.sh and build-rpm.sh
# build in /tmp/fastsocket-{deb,rpm}.XXXXXX; the repository is the other
# place a path could come from.
no_build_path() { # no_build_path DIR: grep every regular file (gzip'd ones unpacked)
	local hits
	hits=$(find "$1" -type f -print0 | xargs -0 -r zgrep -l -a -F -e /tmp/fastsocket-deb. \
		-e /tmp/fastsocket-rpm. -e "$REPO/" 2>/dev/null)
	[ -z "$hits" ] || { echo "   build path in: $hits"; return 1; }
}
rm -rf "$LOGDIR/pkg-files" && mkdir -p "$LOGDIR/pkg-files/deb"
for d in "${debs[@]}"; do dpkg-deb -x "$d" "$LOGDIR/pkg-files/deb"; done
check "no build path in the .deb files ($(find "$LOGDIR/pkg-files/deb" -type f | wc -l) files)" no_build_path "$LOGDIR/pkg-files/deb"
rpms=("$PKG_DIR"/fastsocket-[0-9]*.x86_64.rpm "$PKG_DIR"/fastsocket-dkms-*.noarch.rpm)
if [ "${#rpms[@]}" -eq 2 ] && command -v rpm2cpio >/dev/null; then
	mkdir -p "$LOGDIR/pkg-files/rpm"
	for p in "${rpms[@]}"; do (cd "$LOGDIR/pkg-files/rpm" && rpm2cpio "$p" | cpio -idm --quiet); done
	check "no build path in the .rpm files ($(find "$LOGDIR/pkg-files/rpm" -type f | wc -l) files)" no_build_path "$LOGDIR/pkg-files/rpm"
else
	log "no .rpm in $PKG_DIR (packaging/build-rpm.sh): its files not checked"
fi

# The boot unit runs before network-pre.target: a hung apply must not hold
# the boot for ever.
finite_start_timeout() {
	local t
	t=$(sed -n 's/^TimeoutStartSec=//p' "$1" | tail -n 1)
	echo "   TimeoutStartSec=$t"
	[ -n "$t" ] && [ "$t" != infinity ] && [ "$t" != 0 ]
}
for u in "${units[@]}"; do
	if grep -Eq '^ExecStart=.*fastsocket.* apply' "$R$u"; then
		check "${u##*/} has a finite TimeoutStartSec=" finite_start_timeout "$R$u"
	fi
done

# apply over the administrator's modprobe.d file, with a profile that
# manages nothing but that file (module.load false: no module, no sysctl,
# nothing outside the root).  plan first: it must list that one change.
MODPROBE_ONLY=/tmp/modprobe-only.yaml
printf 'version: 1\nmodule:\n  load: false\n  parameters:\n    enable_listen_spawn: 1\n' >"$R$MODPROBE_ONLY"
apply_over_admin_file() {
	local plan
	plan=$(in_root "$R" fastsocket plan "$MODPROBE_ONLY" 2>&1)
	echo "$plan" | sed 's/^/   | /'
	echo "$plan" | grep -Eq 'changes \(1 of 1 values? differs?\)' ||
		{ echo "   plan does not change exactly one value: not applying"; return 1; }
	in_root "$R" fastsocket apply "$MODPROBE_ONLY" >"$LOGDIR/apply.log" 2>&1 || { cat "$LOGDIR/apply.log"; return 1; }
	grep -q 'enable_listen_spawn=1' "$R/$ADMIN_CONF"
}
check "fastsocket apply replaced the administrator's /$ADMIN_CONF" apply_over_admin_file
check "secure-boot-check.sh installed and runs" in_root "$R" /usr/share/fastsocket/secure-boot-check.sh --state
# The script and the installed CLI's status hint against fake /sys trees.
check "Secure Boot decisions of the script and of fastsocket status (secure-boot-test.sh)" \
	env FASTSOCKET_CLI="$R/usr/bin/fastsocket" "$HERE/secure-boot-test.sh"
check "all-kernels DKMS step reports every failure (dkms-all-kernels-test.sh)" \
	"$HERE/dkms-all-kernels-test.sh"
has_udev_rule() { grep -rqs fastsocket "$R/lib/udev/rules.d" "$R/usr/lib/udev/rules.d" "$R/etc/udev/rules.d"; }
# The modprobe.d file: in /etc/modprobe.d, or an example under the docs
# (when `fastsocket apply` writes /etc/modprobe.d/fastsocket.conf itself).
has_modprobe_conf() { in_root "$R" dpkg -L fastsocket | grep -q '/modprobe\.d/[^/]*fastsocket[^/]*$'; }
check "udev rule for /dev/fastsocket installed" has_udev_rule
check "modprobe.d file installed" has_modprobe_conf

# ---- 5. a kernel without headers -------------------------------------------
FAKE=9.9.9-fsinstalltest-amd64
mkdir -p "$R/lib/modules/$FAKE"
touch "$R/lib/modules/$FAKE/modules.dep"
in_root "$R" /var/lib/dpkg/info/fastsocket-dkms.postinst configure >"$LOGDIR/no-headers.log" 2>&1
rc=$?
sed 's/^/   | /' "$LOGDIR/no-headers.log" | grep -E "headers|$FAKE" || true
if [ "$rc" -eq 0 ] && grep -q "apt install linux-headers-$FAKE" "$LOGDIR/no-headers.log"; then
	pass "postinst names linux-headers-$FAKE for a kernel without headers (exit 0)"
else
	failc "postinst with a header-less kernel: exit $rc, no 'apt install linux-headers-$FAKE' (log $LOGDIR/no-headers.log)"
fi
rm -rf "$R/lib/modules/$FAKE"
check "dkms still installed for $KVER after reconfigure" dkms_installed

# ---- 6. reinstall (upgrade path) -------------------------------------------
if in_root "$R" sh -c 'apt-get install -y --reinstall ./tmp/pkgs/*.deb' >"$LOGDIR/reinstall.log" 2>&1; then
	pass "apt-get install --reinstall (prerm upgrade / postinst configure <old>)"
else
	tail -n 30 "$LOGDIR/reinstall.log"
	failc "reinstall (log $LOGDIR/reinstall.log)"
fi
check "dkms installed for $KVER after reinstall" dkms_installed

# ---- 7. boot the root's kernel with the DKMS-built module ---------------------
if [ "$VM" -eq 1 ]; then
	KO=$(find "$R/lib/modules/$KVER/updates/dkms" -name 'fastsocket.ko*' | head -n 1)
	RIGKVER=$("$REPO/tests/vm/make-root.sh" 6.1 2>>"$LOGDIR/vm.log")
	if [ -z "$KO" ]; then
		failc "VM: no DKMS-built fastsocket.ko in the root"
	elif [ "$RIGKVER" != "$KVER" ]; then
		failc "VM: the rig's 6.1 kernel is $RIGKVER, the install root's headers are $KVER (rebuild one of the roots)"
	else
		case "$KO" in
		*.ko.xz) xz -dc "$KO" >"$LOGDIR/fastsocket.ko" ;;
		*.ko.zst) zstd -qdc "$KO" >"$LOGDIR/fastsocket.ko" ;;
		*) cp "$KO" "$LOGDIR/fastsocket.ko" ;;
		esac
		# The installed package's files, as dpkg lists them, plus pingpong.
		rm -rf "$PAYLOAD"
		mkdir -p "$PAYLOAD/opt/fastsocket-install-test"
		in_root "$R" dpkg -L fastsocket | while read -r f; do
			[ -f "$R$f" ] && [ ! -L "$R$f" ] || continue
			mkdir -p "$PAYLOAD$(dirname "$f")"
			cp -p "$R$f" "$PAYLOAD$f"
		done
		gcc -O2 -Wall -Wextra -o "$PAYLOAD/opt/fastsocket-install-test/pingpong" "$HERE/pingpong.c" ||
			failc "VM: pingpong does not compile"
		log "booting the 6.1 kernel ($KVER) with the DKMS-built module (log $LOGDIR/vm.log)"
		if FASTSOCKET_BUILD_DIR=$BUILD "$REPO/tests/vm/run" --kernel 6.1 --module "$LOGDIR/fastsocket.ko" \
			--suite install --timeout 240 >>"$LOGDIR/vm.log" 2>&1; then
			pass "VM ($KVER): insmod, fastsocket run --dry-run -- /bin/true, fastsocket run -- pingpong"
		else
			tail -n 60 "$LOGDIR/vm.log"
			failc "VM suite 'install' on $KVER (log $LOGDIR/vm.log)"
		fi
		grep -E '^(ok|FAIL):' "$(grep -o '/[^ ]*\.log$' "$LOGDIR/vm.log" | tail -n 1)" 2>/dev/null | sed 's/^/   | /'
	fi
else
	log "--no-vm: boot test skipped"
fi

# ---- 8. purge and compare --------------------------------------------------
if in_root "$R" apt-get purge -y --autoremove fastsocket fastsocket-dkms >"$LOGDIR/purge.log" 2>&1; then
	pass "apt-get purge --autoremove fastsocket fastsocket-dkms"
else
	tail -n 30 "$LOGDIR/purge.log"
	failc "apt-get purge (log $LOGDIR/purge.log)"
fi
admin_file_back() {
	[ -f "$R/$ADMIN_CONF" ] || { echo "   /$ADMIN_CONF is gone"; return 1; }
	[ "$(sha256sum <"$R/$ADMIN_CONF")" = "$ADMIN_SUM" ] || { sed 's/^/   | /' "$R/$ADMIN_CONF"; return 1; }
}
check "the administrator's /$ADMIN_CONF is back, byte-identical, after purge" admin_file_back
snapshot "$LOGDIR/files-after.txt"
diff -u "$LOGDIR/files-before.txt" "$LOGDIR/files-after.txt" >"$LOGDIR/files.diff"
if [ ! -s "$LOGDIR/files.diff" ]; then
	pass "purge left no file behind ($(wc -l <"$LOGDIR/files-before.txt") paths compared)"
else
	sed 's/^/   | /' "$LOGDIR/files.diff" | head -n 40
	failc "files differ after purge (see $LOGDIR/files.diff)"
fi
dkms_left=$(in_root "$R" dkms status -m fastsocket 2>&1)
[ -z "$dkms_left" ] && pass "dkms status empty after purge" || failc "dkms still knows fastsocket: $dkms_left"

summary
[ "$fails" -eq 0 ]
