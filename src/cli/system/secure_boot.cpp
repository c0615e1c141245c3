// SPDX-License-Identifier: GPL-2.0
// The same decision as packaging/common/secure-boot-check.sh (installed as
// /usr/share/fastsocket/secure-boot-check.sh, see docs/secure-boot.md), read
// through the Root so tests can fake /sys.
#include "system/secure_boot.h"

namespace fsock {

namespace {

const char *const kSecureBootVar =
	"/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
const char *const kSigEnforce = "/sys/module/module/parameters/sig_enforce";
const char *const kLockdown = "/sys/kernel/security/lockdown";
// Debian 12's dkms signs with this key; Ubuntu's shim-signed MOK wins when present.
const char *const kDkmsKey = "/var/lib/dkms/mok.pub";
const char *const kShimKey = "/var/lib/shim-signed/mok/MOK.der";

// The EFI variable is 4 attribute bytes followed by the value.
bool secure_boot_on(const Root &root)
{
	auto v = root.read(kSecureBootVar);
	return v && v->size() >= 5 && static_cast<unsigned char>(v->back()) == 1;
}

bool signatures_enforced(const Root &root)
{
	if (root.read_trimmed(kSigEnforce).value_or("") == "Y")
		return true;
	// e.g. "none [integrity] confidentiality": the bracketed mode is active.
	auto l = root.read_trimmed(kLockdown).value_or("");
	return l.find("[integrity]") != std::string::npos ||
	       l.find("[confidentiality]") != std::string::npos;
}

} // namespace

std::optional<std::string> secure_boot_hint(const Root &root, bool module_loaded)
{
	if (module_loaded || !secure_boot_on(root) || !signatures_enforced(root))
		return std::nullopt;
	std::string key = root.exists(kShimKey) ? kShimKey : kDkmsKey;
	std::string h =
		"Secure Boot is on and this kernel loads only modules signed with an enrolled key.\n"
		"  If `modprobe fastsocket` fails with \"Key was rejected by service\", enroll the\n"
		"  DKMS signing key " + key + " once:\n";
	if (!root.exists(key))
		h += "    0. dkms autoinstall   (builds the module and creates the key)\n";
	h += "    1. mokutil --import " + key + "   (choose a one-time password)\n"
	     "    2. reboot; in the MOK manager: Enroll MOK -> Continue -> Yes, password, Reboot\n"
	     "    3. mokutil --test-key " + key + "; modprobe fastsocket\n"
	     "  Details: /usr/share/fastsocket/secure-boot-check.sh";
	return h;
}

} // namespace fsock
