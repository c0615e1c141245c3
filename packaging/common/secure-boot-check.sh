#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# secure-boot-check.sh - tell whether Secure Boot stops fastsocket.ko from
# loading, and if so print the exact steps to fix it.
#
# Installed as /usr/share/fastsocket/secure-boot-check.sh.  Called by the
# fastsocket-dkms postinst and by `fastsocket status`; see
# docs/secure-boot.md.
#
# Usage:
#   secure-boot-check.sh [--quiet] [--state] [--modprobe-error TEXT]
#
#   (no option)           check the firmware/kernel state, print advice
#   --state               print one machine-readable line and nothing else:
#                         "secure_boot=<on|off|unknown> enforce=<yes|no>
#                          key=<path|none> enrolled=<yes|no|unknown>"
#   --modprobe-error TEXT also treat TEXT (the stderr of a failed modprobe
#                         or insmod) as evidence: "Key was rejected by
#                         service" / EKEYREJECTED means an unenrolled key
#   --quiet               print nothing, only set the exit status
#
# Exit status:
#   0  nothing blocks loading (Secure Boot off, signatures not enforced,
#      or the DKMS signing key is already enrolled)
#   2  Secure Boot enforces module signatures and the DKMS key is not
#      (known to be) enrolled, or modprobe reported a rejected key:
#      the steps were printed
#   64 usage error
#
# FASTSOCKET_SYSROOT (default empty) is prepended to every /sys and
# /var/lib path, so the check can be tested against a fake tree.

set -u

root=${FASTSOCKET_SYSROOT:-}
efivar="$root/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
sig_enforce="$root/sys/module/module/parameters/sig_enforce"
lockdown="$root/sys/kernel/security/lockdown"
# Debian 12's dkms (3.0.10) signs modules with this key pair, generated on
# the first build; shim-signed's MOK (Ubuntu) is used instead when present.
dkms_key="$root/var/lib/dkms/mok.pub"
shim_key="$root/var/lib/shim-signed/mok/MOK.der"

quiet=0
state_only=0
modprobe_error=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quiet) quiet=1 ;;
	--state) state_only=1 ;;
	--modprobe-error)
		[ $# -ge 2 ] || { echo "secure-boot-check: --modprobe-error needs TEXT" >&2; exit 64; }
		modprobe_error=$2
		shift
		;;
	-h|--help)
		sed -n '4,/^$/s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "secure-boot-check: unknown option '$1' (see --help)" >&2
		exit 64
		;;
	esac
	shift
done

say() {
	[ "$quiet" -eq 1 ] || printf '%s\n' "$*"
}

# Secure Boot state: on, off or unknown.  mokutil is authoritative when it
# runs; the EFI variable (4 attribute bytes, then the value) is the fallback
# and the only source under FASTSOCKET_SYSROOT.
sb_state() {
	if [ -z "$root" ] && command -v mokutil >/dev/null 2>&1; then
		out=$(mokutil --sb-state 2>/dev/null)
		case "$out" in
		*"SecureBoot enabled"*) echo on; return ;;
		*"SecureBoot disabled"*) echo off; return ;;
		esac
	fi
	if [ -r "$efivar" ]; then
		last=$(od -An -tu1 -v "$efivar" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) v = $i } END { print v }')
		case "$last" in
		1) echo on ;;
		0) echo off ;;
		*) echo unknown ;;
		esac
		return
	fi
	# No EFI variables at all: legacy BIOS boot or no efivarfs; Secure
	# Boot cannot be on if the firmware is not EFI.
	if [ ! -d "$root/sys/firmware/efi" ]; then
		echo off
	else
		echo unknown
	fi
}

# Are module signatures enforced by the running kernel?
enforced() {
	if [ -r "$sig_enforce" ] && [ "$(cat "$sig_enforce" 2>/dev/null)" = "Y" ]; then
		return 0
	fi
	if [ -r "$lockdown" ]; then
		# e.g. "none [integrity] confidentiality": the bracketed mode is active
		mode=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' "$lockdown" 2>/dev/null)
		case "$mode" in
		integrity|confidentiality) return 0 ;;
		esac
	fi
	return 1
}

signing_key() {
	if [ -f "$shim_key" ]; then
		echo "$shim_key"
	elif [ -f "$dkms_key" ]; then
		echo "$dkms_key"
	else
		echo none
	fi
}

# yes, no or unknown: is KEY in the MOK list?
key_enrolled() {
	key=$1
	[ "$key" != none ] || { echo no; return; }
	if [ -n "$root" ] || ! command -v mokutil >/dev/null 2>&1; then
		echo unknown
		return
	fi
	out=$(mokutil --test-key "${key#"$root"}" 2>&1)
	case "$out" in
	*"already enrolled"*) echo yes ;;
	*"not enrolled"*) echo no ;;
	*) echo unknown ;;
	esac
}

sb=$(sb_state)
if enforced; then enf=yes; else enf=no; fi
key=$(signing_key)
enrolled=$(key_enrolled "$key")
rejected=0
case "$modprobe_error" in
*"Key was rejected by service"*|*EKEYREJECTED*) rejected=1 ;;
esac

if [ "$state_only" -eq 1 ]; then
	[ "$quiet" -eq 1 ] || echo "secure_boot=$sb enforce=$enf key=${key#"$root"} enrolled=$enrolled"
	if [ "$rejected" -eq 1 ] || { [ "$sb" = on ] && [ "$enf" = yes ] && [ "$enrolled" != yes ]; }; then
		exit 2
	fi
	exit 0
fi

if [ "$rejected" -eq 0 ]; then
	if [ "$sb" != on ]; then
		say "fastsocket: Secure Boot is $sb; the module loads without a signature check."
		exit 0
	fi
	if [ "$enf" = no ]; then
		say "fastsocket: Secure Boot is on but this kernel does not enforce module"
		say "  signatures (sig_enforce=N, lockdown none): fastsocket.ko loads, the"
		say "  kernel is marked tainted."
		exit 0
	fi
	if [ "$enrolled" = yes ]; then
		say "fastsocket: Secure Boot is on; the DKMS signing key ${key#"$root"} is enrolled."
		exit 0
	fi
fi

# From here on: the module will be (or was) refused.
k=${key#"$root"}
[ "$k" != none ] || k=/var/lib/dkms/mok.pub
if [ "$rejected" -eq 1 ]; then
	say "fastsocket: the kernel refused fastsocket.ko: \"Key was rejected by service\""
	say "  (EKEYREJECTED). The module is signed with a key that is not enrolled."
else
	say "fastsocket: Secure Boot is on and the kernel only loads modules signed"
	say "  with an enrolled key. DKMS signs fastsocket.ko with $k,"
	if [ "$enrolled" = no ]; then
		say "  which is not enrolled yet."
	else
		say "  which could not be confirmed as enrolled (mokutil missing?)."
	fi
fi
say ""
say "To load fastsocket.ko with Secure Boot on, enroll the DKMS key once:"
if [ ! -f "$root$k" ]; then
	say "  0. create the key by building the module: dkms autoinstall"
	say "     (dkms generates $k and /var/lib/dkms/mok.key)"
fi
say "  1. apt install mokutil            (if it is not installed)"
say "  2. mokutil --import $k"
say "     choose a one-time password; you type it again in step 4"
say "  3. reboot"
say "  4. in the blue MOK manager screen: Enroll MOK -> Continue -> Yes,"
say "     enter the password, then Reboot"
say "  5. check: mokutil --test-key $k   (\"is already enrolled\")"
say "     then:  modprobe fastsocket"
say "Without the module the library still runs applications (plain or"
say "user-space listen spawn); see /usr/share/doc/fastsocket."
exit 2
