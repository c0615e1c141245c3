// SPDX-License-Identifier: GPL-2.0
// `fastsocket off` / `fastsocket on`: the module's runtime switch,
// /sys/module/fastsocket/parameters/enable_listen_spawn (0 = off: the
// module's steering program is detached from every group and the listeners
// keep working with plain SO_REUSEPORT hashing; 1/2 = on again).  Until the
// module is reloaded: its load options (fastsocket apply, modprobe.d) decide
// the value at load time.
#pragma once

#include <string>

#include "system/module_control.h"
#include "system/root.h"

namespace fsock {

struct ListenSwitch {
	bool ok = false;
	bool changed = false;
	std::string path;	    // inside the root
	std::string previous, now; // as sysfs shows them
	std::string error;	    // when !ok: one sentence
};

extern const char *const kListenSpawnParam; // /sys/module/fastsocket/parameters/enable_listen_spawn

ListenSwitch switch_listen_spawn(const Root &root, const ModuleControl &mod, int mode);

} // namespace fsock
