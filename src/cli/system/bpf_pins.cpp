// SPDX-License-Identifier: GPL-2.0
#include "system/bpf_pins.h"

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "system/sysinfo.h"

namespace fsock {

std::string rfd_pin_path(const std::string &ifname, RfdPin what)
{
	const char *suffix = what == RfdPin::Prog ? "-rfd-prog" : what == RfdPin::Cpus ? "-rfd-cpus" : "-rfd-link";
	return std::string(kBpfPinDir) + "/" + ifname + suffix;
}

bool rfd_pin(int fd, const std::string &ifname, RfdPin what, std::string *err)
{
	std::string path = rfd_pin_path(ifname, what);
	if (::mkdir(kBpfPinDir, 0700) != 0 && errno != EEXIST) {
		*err = std::string("cannot make ") + kBpfPinDir + ": " + errno_text(errno);
		return false;
	}
	::unlink(path.c_str()); // a pin left by an earlier attach of this interface
	if (bpf_obj_pin(fd, path.c_str()) != 0) {
		*err = "cannot pin " + path + ": " + errno_text(errno);
		return false;
	}
	return true;
}

uint32_t rfd_pinned_prog_id(const std::string &ifname, RfdPin what)
{
	int fd = bpf_obj_get(rfd_pin_path(ifname, what).c_str());
	if (fd < 0)
		return 0;
	uint32_t id = 0;
	if (what == RfdPin::Link) {
		bpf_link_info info{};
		uint32_t len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			id = info.prog_id;
	} else if (what == RfdPin::Prog) {
		bpf_prog_info info{};
		uint32_t len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			id = info.id;
	}
	::close(fd);
	return id;
}

void rfd_unpin(const std::string &ifname)
{
	for (RfdPin p : {RfdPin::Link, RfdPin::Prog, RfdPin::Cpus})
		::unlink(rfd_pin_path(ifname, p).c_str());
	::rmdir(kBpfPinDir); // ENOTEMPTY: another interface's pins stay
}

std::vector<std::string> rfd_missing_pins(const std::string &ifname, bool attached_alone)
{
	std::vector<std::string> missing;
	std::vector<RfdPin> want{RfdPin::Prog, RfdPin::Cpus};
	if (attached_alone)
		want.push_back(RfdPin::Link);
	for (RfdPin p : want) {
		struct stat st;
		std::string path = rfd_pin_path(ifname, p);
		if (::stat(path.c_str(), &st) != 0)
			missing.push_back(path);
	}
	return missing;
}

} // namespace fsock
