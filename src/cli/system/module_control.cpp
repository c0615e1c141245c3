// SPDX-License-Identifier: GPL-2.0
#include "system/module_control.h"

#include <cstdlib>

namespace fsock {

const char *const kModuleSysDir = "/sys/module/fastsocket";
const char *const kModprobeConf = "/etc/modprobe.d/fastsocket.conf";

SysfsModuleControl::SysfsModuleControl(const Root &root) : root_(root)
{
	const char *env = std::getenv("FASTSOCKET_MODPROBE");
	modprobe_ = env && *env ? env : "modprobe";
}

bool SysfsModuleControl::loaded() const
{
	// A built-in or loaded module has this directory; "initstate" tells a
	// module that is still loading or going away.
	if (!root_.is_dir(kModuleSysDir))
		return false;
	auto st = root_.read_trimmed(std::string(kModuleSysDir) + "/initstate");
	return !st || *st == "live";
}

std::optional<long> SysfsModuleControl::refcnt() const
{
	auto r = root_.read_trimmed(std::string(kModuleSysDir) + "/refcnt");
	if (!r)
		return std::nullopt;
	try {
		return std::stol(*r);
	} catch (...) {
		return std::nullopt;
	}
}

std::optional<std::string> SysfsModuleControl::version() const
{
	auto v = root_.read_trimmed(std::string(kModuleSysDir) + "/version");
	if (!v)
		return std::nullopt;
	return v;
}

std::map<std::string, std::string> SysfsModuleControl::parameters() const
{
	std::map<std::string, std::string> out;
	std::string dir = std::string(kModuleSysDir) + "/parameters";
	for (const auto &n : root_.list(dir))
		if (auto v = root_.read_trimmed(dir + "/" + n))
			out[n] = *v;
	return out;
}

bool SysfsModuleControl::unload(std::string *err)
{
	std::string out;
	int rc = root_.run({modprobe_, "-r", "fastsocket"}, &out);
	if (rc != 0) {
		*err = modprobe_ + " -r fastsocket failed (" +
		       (rc < 0 ? std::string("not run") : "exit " + std::to_string(rc)) + ")" +
		       (out.empty() ? "" : ": " + out);
		return false;
	}
	if (loaded()) {
		*err = modprobe_ + " -r fastsocket succeeded but " + root_.path(kModuleSysDir) + " is still there";
		return false;
	}
	return true;
}

bool SysfsModuleControl::load(std::string *err)
{
	std::string out;
	int rc = root_.run({modprobe_, "fastsocket"}, &out);
	if (rc != 0) {
		*err = modprobe_ + " fastsocket failed (" +
		       (rc < 0 ? std::string("not run") : "exit " + std::to_string(rc)) + ")" +
		       (out.empty() ? "" : ": " + out);
		return false;
	}
	if (!loaded()) {
		*err = modprobe_ + " fastsocket succeeded but " + root_.path(kModuleSysDir) + " does not exist";
		return false;
	}
	return true;
}

} // namespace fsock
