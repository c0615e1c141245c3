// SPDX-License-Identifier: GPL-2.0
// The Secure Boot hint of `fastsocket status`: when the module is not loaded
// and the kernel only accepts signed modules (Secure Boot on, sig_enforce=Y
// or lockdown), the steps to enroll the DKMS signing key; nothing otherwise.
// Same decision as /usr/share/fastsocket/secure-boot-check.sh.
#pragma once

#include <optional>
#include <string>

#include "system/root.h"

namespace fsock {

std::optional<std::string> secure_boot_hint(const Root &root, bool module_loaded);

} // namespace fsock
