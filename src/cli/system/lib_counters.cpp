// SPDX-License-Identifier: GPL-2.0
#include "system/lib_counters.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>

#include "../../lib/fsock_counters.h"
#include "profile/excerpt.h"
#include "system/byte_string.h"
#include "system/cpuset.h"
#include "system/file_read.h"
#include "system/processes.h"
#include "system/sysinfo.h"

namespace fsock {

namespace {

const char *const kRootDir = "/run/fastsocket/lib";
const char *const kUserRuntime = "/run/user";
const char *const kUserSubdir = "fastsocket";
// Far above the file's real size: a bigger file is rejected unread.
constexpr std::size_t kMaxFileBytes = 64 * 1024;
constexpr std::size_t kMaxFilesPerDir = 1u << 16;
constexpr std::size_t kMaxUserDirs = 4096;

std::string ip_text(bool v6, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];
	inet_ntop(v6 ? AF_INET6 : AF_INET, addr, buf, sizeof(buf));
	return buf;
}

// Field 22 of /proc/PID/stat, or false when the process is gone.
bool process_start_time(const Root &root, unsigned long pid, uint64_t *out)
{
	auto stat = root.read("/proc/" + std::to_string(pid) + "/stat");
	if (!stat)
		return false;
	std::size_t p = stat->rfind(')');
	if (p == std::string::npos)
		return false;
	int field = 2;
	for (; p < stat->size() && field < 22; p++)
		if ((*stat)[p] == ' ')
			field++;
	std::size_t end = stat->find(' ', p);
	unsigned long long v;
	if (!parse_decimal(stat->substr(p, end == std::string::npos ? std::string::npos : end - p), ~0ull, &v))
		return false;
	*out = v;
	return true;
}

// Whether /proc/PID/maps maps `file`: 1 yes, 0 no, -1 unknown (unreadable).
int maps_file(const Root &root, unsigned long pid, const std::string &file)
{
	auto maps = root.read("/proc/" + std::to_string(pid) + "/maps");
	if (!maps)
		return -1;
	std::size_t pos = 0;
	while ((pos = maps->find(file, pos)) != std::string::npos) {
		std::size_t end = pos + file.size();
		if (pos > 0 && (*maps)[pos - 1] == ' ' &&
		    (end == maps->size() || (*maps)[end] == '\n' || maps->compare(end, 10, " (deleted)") == 0))
			return 1;
		pos = end;
	}
	return 0;
}

// The directories the library writes to, as absolute paths (not under root).
std::vector<std::string> counter_dirs(const Root &root)
{
	std::set<std::string> dirs{kRootDir};
	std::size_t n = 0;
	for (const auto &uid : root.list(kUserRuntime)) {
		unsigned long long v;
		if (++n > kMaxUserDirs)
			break;
		if (parse_decimal(uid, ~0u, &v))
			dirs.insert(std::string(kUserRuntime) + "/" + uid + "/" + kUserSubdir);
	}
	const char *xdg = std::getenv("XDG_RUNTIME_DIR");
	if (root.is_host_root() && xdg && xdg[0] == '/')
		dirs.insert(std::string(xdg) + "/" + kUserSubdir);
	return {dirs.begin(), dirs.end()};
}

// "123" -> 123, ".123.tmp" -> 123 (*tmp), anything else false.
bool pid_of_name(const std::string &name, unsigned long *pid, bool *tmp)
{
	std::string digits = name;
	*tmp = name.size() > 5 && name[0] == '.' && name.compare(name.size() - 4, 4, ".tmp") == 0;
	if (*tmp)
		digits = name.substr(1, name.size() - 5);
	unsigned long long v;
	if (digits.empty() || digits[0] == '0' || !parse_decimal(digits, kMaxPid, &v))
		return false;
	*pid = static_cast<unsigned long>(v);
	return true;
}

} // namespace

std::string LibListener::endpoint() const
{
	return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

bool parse_lib_counters(const std::string &bytes, unsigned long pid, LibCounters *out, std::string *why)
{
	fs_pc_header h;
	if (bytes.size() < sizeof(h)) {
		*why = "truncated (" + std::to_string(bytes.size()) + " bytes)";
		return false;
	}
	std::memcpy(&h, bytes.data(), sizeof(h));
	if (std::memcmp(h.magic, FS_PC_MAGIC, sizeof(h.magic)) != 0) {
		*why = "not a counters file (bad magic)";
		return false;
	}
	if (h.version != FS_PC_VERSION) {
		*why = "format version " + std::to_string(h.version) + ", this fastsocket reads " +
		       std::to_string(FS_PC_VERSION);
		return false;
	}
	if (h.header_size != sizeof(h) || h.listener_size != sizeof(fs_pc_listener) ||
	    h.max_listeners != FS_PC_MAX_LISTENERS) {
		*why = "unexpected layout (header " + std::to_string(h.header_size) + ", entry " +
		       std::to_string(h.listener_size) + ", " + std::to_string(h.max_listeners) + " entries)";
		return false;
	}
	if (bytes.size() != FS_PC_FILE_SIZE) {
		*why = (bytes.size() < FS_PC_FILE_SIZE ? "truncated (" : "oversized (") + std::to_string(bytes.size()) +
		       " bytes, expected " + std::to_string(FS_PC_FILE_SIZE) + ")";
		return false;
	}
	if (h.pid <= 0 || static_cast<unsigned long>(h.pid) != pid) {
		*why = "names pid " + std::to_string(h.pid) + ", not " + std::to_string(pid);
		return false;
	}
	if (h.backend != 1 && h.backend != 2) {
		*why = "unknown backend " + std::to_string(h.backend);
		return false;
	}
	LibCounters c;
	c.pid = pid;
	c.start_time = h.start_time;
	c.backend = h.backend == 1 ? "module" : "userspace";
	c.listeners_total = h.listeners_total;
	c.accepts_local = h.closed_accepts_local;
	c.accepts_global = h.closed_accepts_global;
	for (uint32_t i = 0; i < FS_PC_MAX_LISTENERS; i++) {
		fs_pc_listener e;
		std::memcpy(&e, bytes.data() + sizeof(h) + i * sizeof(e), sizeof(e));
		if (e.in_use == 0)
			continue;
		std::string at = "listener " + std::to_string(i) + ": ";
		if (e.in_use != 1) {
			*why = at + "bad in_use " + std::to_string(e.in_use);
			return false;
		}
		if (e.family != AF_INET && e.family != AF_INET6) {
			*why = at + "unknown address family " + std::to_string(e.family);
			return false;
		}
		if (e.path != FS_PC_PATH_MODULE && e.path != FS_PC_PATH_FALLBACK) {
			*why = at + "unknown path " + std::to_string(e.path);
			return false;
		}
		LibListener l;
		l.v6 = e.family == AF_INET6;
		l.address = ip_text(l.v6, e.addr);
		l.port = e.port;
		l.path = e.path == FS_PC_PATH_MODULE ? "module" : "fallback";
		l.accepts_local = e.accepts_local;
		l.accepts_global = e.accepts_global;
		CpuSet cpus;
		for (unsigned w = 0; w < FS_PC_CPU_WORDS; w++)
			for (unsigned b = 0; b < 64; b++)
				if (e.cpus[w] >> b & 1)
					cpus.set(w * 64 + b);
		l.cpus = cpus.to_list();
		c.accepts_local += l.accepts_local;
		c.accepts_global += l.accepts_global;
		c.listeners.push_back(l);
	}
	*out = c;
	return true;
}

LibCounterScan scan_lib_counters(const Root &root)
{
	LibCounterScan scan;
	for (const auto &dir : counter_dirs(root)) {
		std::size_t n = 0;
		for (const auto &name : root.list(dir)) {
			std::string file = dir + "/" + name;
			std::string shown = path_excerpt(utf8_for_display(file));
			if (++n > kMaxFilesPerDir) {
				scan.rejected.push_back(dir + ": more than " + std::to_string(kMaxFilesPerDir) +
							" files; the rest were not looked at");
				break;
			}
			unsigned long pid;
			bool tmp;
			if (!pid_of_name(name, &pid, &tmp)) {
				scan.rejected.push_back(shown + ": not a pid");
				continue;
			}
			uint64_t started = 0;
			bool alive = process_start_time(root, pid, &started);
			if (!alive || tmp) {
				// A temporary file of a live process is being made now.
				if (!alive && root.remove(file) == 0)
					scan.removed.push_back(shown + " (pid " + std::to_string(pid) + " gone)");
				continue;
			}
			struct stat st;
			if (::lstat(root.path(file).c_str(), &st) != 0)
				continue; // removed meanwhile
			std::string bytes, why;
			if (S_ISLNK(st.st_mode)) {
				scan.rejected.push_back(shown + ": is a symbolic link");
				continue;
			}
			auto content = read_regular_file(root.path(file), kMaxFileBytes, &why);
			if (!content) {
				scan.rejected.push_back(excerpt(utf8_for_display(why), 120));
				continue;
			}
			LibCounters c;
			if (!parse_lib_counters(*content, pid, &c, &why)) {
				scan.rejected.push_back(shown + ": " + why);
				continue;
			}
			c.file = file;
			std::string stale;
			if (c.start_time != started)
				stale = "pid " + std::to_string(pid) + " is another process now";
			else if (maps_file(root, pid, file) == 0)
				stale = "pid " + std::to_string(pid) + " no longer maps it";
			if (stale.empty())
				scan.live[pid] = c;
			else if (root.remove(file) == 0)
				scan.removed.push_back(shown + " (" + stale + ")");
		}
	}
	return scan;
}

} // namespace fsock
