// SPDX-License-Identifier: GPL-2.0
// Running processes as seen through a Root's /proc: their names
// (/proc/PID/comm), whether a library is mapped (/proc/PID/maps) and their
// socket inodes (/proc/PID/fd/N -> "socket:[INODE]").  `recommend` and `ps`
// use them.  Bounded: at most kMaxProcesses pids, kMaxFdsScanned descriptors
// per process, kMaxMapsBytes of maps; entries that are not what the kernel
// writes (a pid dir "12a", a comm of 4 KB) are skipped.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "system/root.h"

namespace fsock {

constexpr std::size_t kMaxProcesses = 1u << 17;
constexpr std::size_t kMaxFdsScanned = 1u << 16;
constexpr std::size_t kMaxMapsBytes = 8u << 20;
constexpr std::size_t kMaxCommBytes = 64; // the kernel's is 16 (TASK_COMM_LEN)
constexpr unsigned long kMaxPid = 4194304; // PID_MAX_LIMIT

struct ProcessInfo {
	unsigned long pid = 0;
	std::string comm;
};

// Every process, ascending pid.  *truncated (optional) when more than
// kMaxProcesses were found.
std::vector<ProcessInfo> list_processes(const Root &root, bool *truncated = nullptr);

// The path of the first mapping of `pid` whose file name is `lib_basename`
// (e.g. libfsocket.so), or "" when none.
std::string mapped_library(const Root &root, unsigned long pid, const std::string &lib_basename);

// Inodes of the sockets `pid` holds, ascending, without duplicates.
std::vector<unsigned long long> socket_inodes(const Root &root, unsigned long pid);

} // namespace fsock
