// SPDX-License-Identifier: GPL-2.0
#include "system/listen_switch.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace fsock {

const char *const kListenSpawnParam = "/sys/module/fastsocket/parameters/enable_listen_spawn";

ListenSwitch switch_listen_spawn(const Root &root, const ModuleControl &mod, int mode)
{
	ListenSwitch s;
	s.path = kListenSpawnParam;
	if (!mod.loaded()) {
		s.error = "fastsocket.ko is not loaded: nothing to switch (load it with `modprobe fastsocket` "
			  "or `fastsocket apply PROFILE`)";
		return s;
	}
	int err = 0;
	auto prev = root.read_trimmed(s.path, &err);
	if (!prev) {
		s.error = "cannot read " + root.path(s.path) + ": " + std::strerror(err);
		return s;
	}
	s.previous = *prev;
	std::string want = std::to_string(mode);
	if (int e = root.write(s.path, want)) {
		s.error = "cannot write " + want + " to " + root.path(s.path) + ": " + std::strerror(e);
		if ((e == EACCES || e == EPERM) && ::geteuid() == 0)
			s.error += " (this fastsocket.ko has the parameter read-only: switching at run time "
				   "needs a module with ABI v2)";
		return s;
	}
	auto now = root.read_trimmed(s.path, &err);
	s.now = now.value_or("");
	if (s.now != want) {
		s.error = "wrote " + want + " to " + root.path(s.path) + " but it reads back as '" +
			  s.now.substr(0, 20) + "'";
		return s;
	}
	s.ok = true;
	s.changed = s.previous != s.now;
	return s;
}

} // namespace fsock
