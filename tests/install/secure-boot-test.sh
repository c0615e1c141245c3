#!/bin/sh
# Host test of packaging/common/secure-boot-check.sh against fake /sys trees
# (FASTSOCKET_SYSROOT).  Needs no root and no VM.  Exit 0 when every case
# gives the expected exit status and message.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
chk="$top/packaging/common/secure-boot-check.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# mkroot NAME SB(0|1|none|nonefi) SIG_ENFORCE(Y|N|-) LOCKDOWN(text|-) KEY(yes|no)
mkroot() {
	r="$tmp/$1"
	mkdir -p "$r/sys/module/module/parameters" "$r/sys/kernel/security"
	case "$2" in
	0|1)
		mkdir -p "$r/sys/firmware/efi/efivars"
		printf '\006\000\000\000\00'"$2" >"$r/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
		;;
	none) mkdir -p "$r/sys/firmware/efi/efivars" ;;
	nonefi) ;;
	esac
	[ "$3" = - ] || echo "$3" >"$r/sys/module/module/parameters/sig_enforce"
	[ "$4" = - ] || echo "$4" >"$r/sys/kernel/security/lockdown"
	if [ "$5" = yes ]; then
		mkdir -p "$r/var/lib/dkms"
		echo cert >"$r/var/lib/dkms/mok.pub"
	fi
	echo "$r"
}

# expect NAME RC GREP-PATTERN ROOT [ARGS...]
expect() {
	name=$1 want=$2 pat=$3 r=$4
	shift 4
	out=$(FASTSOCKET_SYSROOT=$r sh "$chk" "$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$want" ] || ! printf '%s\n' "$out" | grep -q -- "$pat"; then
		echo "FAIL $name: rc=$rc (want $want), output:"
		printf '%s\n' "$out" | sed 's/^/    /'
		fail=1
	else
		echo "ok   $name"
	fi
}

r=$(mkroot bios nonefi N "none [integrity] confidentiality" no)
expect "legacy BIOS: off" 0 "Secure Boot is off" "$r"
r=$(mkroot sboff 0 N "[none] integrity confidentiality" no)
expect "SecureBoot var = 0" 0 "Secure Boot is off" "$r"
r=$(mkroot noenforce 1 N "[none] integrity confidentiality" no)
expect "SB on, not enforced" 0 "does not enforce" "$r"
r=$(mkroot lockdown 1 N "none [integrity] confidentiality" yes)
expect "SB on, lockdown integrity" 2 "mokutil --import /var/lib/dkms/mok.pub" "$r"
expect "state line" 2 "secure_boot=on enforce=yes key=/var/lib/dkms/mok.pub enrolled=unknown" "$r" --state
r=$(mkroot sigenf 1 Y - no)
expect "SB on, sig_enforce=Y, no key yet" 2 "dkms autoinstall" "$r"
expect "quiet prints nothing" 2 "^$" "$r" --quiet
r=$(mkroot rejected 0 N - yes)
expect "modprobe EKEYREJECTED" 2 "Key was rejected" "$r" \
	--modprobe-error "modprobe: ERROR: could not insert 'fastsocket': Key was rejected by service"
expect "other modprobe error" 0 "Secure Boot is off" "$r" --modprobe-error "Invalid argument"
r=$(mkroot nosbvar none N - no)
expect "EFI without SecureBoot var" 0 "Secure Boot is unknown" "$r"
expect "bad option" 64 "unknown option" "$r" --bogus

# The CLI's own check (src/cli/system/secure_boot.cpp): `fastsocket status`
# must print the enrollment steps exactly when the script says exit 2 and
# the module is not loaded.  FASTSOCKET_CLI, else the build tree's binary.
cli=${FASTSOCKET_CLI:-}
for c in "$top/build/src/cli/fastsocket" /usr/bin/fastsocket; do
	[ -n "$cli" ] || { [ -x "$c" ] && cli=$c; }
done
if [ -n "$cli" ]; then
	for case in bios:0 sboff:0 noenforce:0 lockdown:2 sigenf:2; do
		name=${case%%:*} want=${case#*:}
		out=$("$cli" --root "$tmp/$name" status 2>&1)
		if printf '%s\n' "$out" | grep -q "mokutil --import /var/lib/dkms/mok.pub"; then got=2; else got=0; fi
		if [ "$got" = "$want" ]; then
			echo "ok   fastsocket status on '$name': hint $([ "$want" = 2 ] && echo shown || echo absent)"
		else
			echo "FAIL fastsocket status on '$name': hint $([ "$got" = 2 ] && echo shown || echo absent), expected the opposite"
			printf '%s\n' "$out" | head -n 12 | sed 's/^/    /'
			fail=1
		fi
	done
else
	echo "skip fastsocket status checks: no CLI binary (set FASTSOCKET_CLI)"
fi

[ "$fail" -eq 0 ] && echo "secure-boot-test: all passed"
exit "$fail"
