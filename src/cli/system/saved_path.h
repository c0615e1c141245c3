// SPDX-License-Identifier: GPL-2.0
// Paths read back from the saved state are input like any other: a state
// file edited by hand (or by an attacker) must not make revert write outside
// the tree apply tunes.  A path is accepted only if it is absolute, has no
// '.', '..' or empty component, lies under one of the directories apply
// writes to, and does not leave --root through a symlink.
#pragma once

#include <string>

#include "system/root.h"

namespace fsock {

// "" when `abs` may be written, else why not.
std::string check_saved_path(const Root &root, const std::string &abs);

} // namespace fsock
