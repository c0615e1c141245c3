// SPDX-License-Identifier: GPL-2.0
#include "system/processes.h"

#include <algorithm>
#include <sstream>

#include "system/file_read.h"
#include "system/sysinfo.h"

namespace fsock {

std::vector<ProcessInfo> list_processes(const Root &root, bool *truncated)
{
	std::vector<ProcessInfo> out;
	if (truncated)
		*truncated = false;
	for (const auto &e : root.list("/proc")) {
		unsigned long long pid;
		if (!parse_decimal(e, kMaxPid, &pid) || pid == 0 || e[0] == '0')
			continue;
		if (out.size() == kMaxProcesses) {
			if (truncated)
				*truncated = true;
			break;
		}
		auto comm = read_regular_file(root.path("/proc/" + e + "/comm"), kMaxCommBytes, nullptr);
		if (!comm)
			continue; // exited, or not a comm the kernel wrote
		ProcessInfo p;
		p.pid = static_cast<unsigned long>(pid);
		p.comm = trim(*comm);
		out.push_back(p);
	}
	std::sort(out.begin(), out.end(), [](const ProcessInfo &a, const ProcessInfo &b) { return a.pid < b.pid; });
	return out;
}

std::string mapped_library(const Root &root, unsigned long pid, const std::string &lib_basename)
{
	auto maps = read_regular_file(root.path("/proc/" + std::to_string(pid) + "/maps"), kMaxMapsBytes, nullptr);
	if (!maps)
		return "";
	// "7f..-7f.. r-xp 00000000 08:01 1234   /usr/lib/x86_64-linux-gnu/libfsocket.so"
	std::istringstream in(*maps);
	std::string line;
	while (std::getline(in, line)) {
		std::size_t slash = line.find('/');
		if (slash == std::string::npos)
			continue;
		std::string path = line.substr(slash);
		if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0)
			path.resize(path.size() - 10);
		std::size_t base = path.find_last_of('/');
		if (path.compare(base + 1, std::string::npos, lib_basename) == 0)
			return path;
	}
	return "";
}

std::vector<unsigned long long> socket_inodes(const Root &root, unsigned long pid)
{
	std::vector<unsigned long long> out;
	std::string dir = "/proc/" + std::to_string(pid) + "/fd";
	std::size_t scanned = 0;
	for (const auto &fd : root.list(dir)) {
		if (++scanned > kMaxFdsScanned)
			break;
		auto target = root.readlink(dir + "/" + fd);
		// "socket:[12345]"
		if (!target || target->size() < 10 || target->compare(0, 8, "socket:[") != 0 || target->back() != ']')
			continue;
		unsigned long long ino;
		if (parse_decimal(target->substr(8, target->size() - 9), ~0ull, &ino))
			out.push_back(ino);
	}
	std::sort(out.begin(), out.end());
	out.erase(std::unique(out.begin(), out.end()), out.end());
	return out;
}

} // namespace fsock
