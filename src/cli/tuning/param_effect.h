// SPDX-License-Identifier: GPL-2.0
// What each fastsocket.ko parameter does on this kernel, in one line, for
// `fastsocket status`: the module's own effect, or the upstream mechanism
// that stands in for it and whether that mechanism is on.
#pragma once

#include <string>

#include "system/root.h"

namespace fsock {

// value: the live value ("" when the module is not loaded: the default is
// described).
std::string param_effect(const Root &root, const std::string &name, const std::string &value);

} // namespace fsock
