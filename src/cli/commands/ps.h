// SPDX-License-Identifier: GPL-2.0
// `fastsocket ps`: the processes that have libfsocket.so mapped, the TCP
// sockets they listen on (their socket inodes found in /proc/PID/net/tcp and
// tcp6) and, when the module is loaded, its listen groups that name them
// (/proc/fastsocket/listeners: owning pids, per-CPU counters), and the
// counters the library keeps per process (system/lib_counters.h).  Like
// onload_stackdump's per-process view.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "system/lib_counters.h"
#include "system/listeners.h"
#include "system/proc_net_tcp.h"
#include "system/root.h"

namespace fsock {

extern const char *const kPreloadLibrary; // "libfsocket.so"

struct PsProcess {
	unsigned long pid = 0;
	std::string comm;
	std::string library; // mapped path of libfsocket.so
	std::vector<TcpSocket> listening;
	std::vector<const ListenerGroup *> module_groups; // into PsReport::listeners
	std::optional<LibCounters> counters;		   // its library counters file
};

struct PsReport {
	std::vector<PsProcess> processes;
	ListenerTable listeners;
	std::vector<std::string> counters_removed; // stale counters files, "PATH (reason)"
	std::vector<std::string> warnings;
};

PsReport build_ps(const Root &root);
void render_ps_text(const PsReport &r, std::ostream &out);
nlohmann::json ps_json(const PsReport &r);

// "101,102" (the module's pids= value) contains pid; "-" is no pid.
bool pid_list_contains(const std::string &list, unsigned long pid);

} // namespace fsock
