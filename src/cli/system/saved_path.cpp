// SPDX-License-Identifier: GPL-2.0
#include "system/saved_path.h"

#include <climits>
#include <cstdlib>

namespace fsock {

namespace {

// Where apply writes: sysctls, IRQ affinity, queue masks, the modprobe file.
const char *const kAllowedPrefixes[] = {"/proc/sys/", "/proc/irq/", "/sys/class/net/", "/etc/modprobe.d/"};

std::string real(const std::string &host_path)
{
	char buf[PATH_MAX];
	return ::realpath(host_path.c_str(), buf) ? std::string(buf) : std::string();
}

} // namespace

std::string check_saved_path(const Root &root, const std::string &abs)
{
	if (abs.empty() || abs[0] != '/')
		return "not an absolute path";
	if (abs.find('\0') != std::string::npos)
		return "contains a NUL byte";
	std::size_t b = 1;
	while (b <= abs.size()) {
		std::size_t e = abs.find('/', b);
		if (e == std::string::npos)
			e = abs.size();
		std::string comp = abs.substr(b, e - b);
		if (comp.empty() || comp == "." || comp == "..")
			return "has an empty, '.' or '..' component";
		b = e + 1;
	}
	bool allowed = false;
	for (const char *p : kAllowedPrefixes)
		allowed |= abs.rfind(p, 0) == 0;
	if (!allowed)
		return "is not under /proc/sys, /proc/irq, /sys/class/net or /etc/modprobe.d";
	// Symlinks (sysfs has many) may point anywhere inside the root, not out
	// of it: resolve the parent directory and compare.
	std::string top = real(root.dir());
	std::string parent = real(root.path(abs.substr(0, abs.find_last_of('/'))));
	if (top.empty() || parent.empty())
		return "its directory does not exist";
	std::string file = real(root.path(abs)); // "" when it does not exist yet
	auto outside = [&top](const std::string &p) { return top != "/" && p != top && p.rfind(top + "/", 0) != 0; };
	if (outside(parent) || (!file.empty() && outside(file)))
		return "leads out of " + root.dir() + " through a symlink";
	return "";
}

} // namespace fsock
