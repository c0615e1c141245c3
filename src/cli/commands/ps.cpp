// SPDX-License-Identifier: GPL-2.0
#include "commands/ps.h"

#include <algorithm>
#include <iostream>
#include <map>

#include "commands/commands.h"
#include "commands/listeners_view.h"
#include "profile/excerpt.h"
#include "system/byte_string.h"
#include "system/processes.h"
#include "system/sysinfo.h"

namespace fsock {

const char *const kPreloadLibrary = "libfsocket.so";

bool pid_list_contains(const std::string &list, unsigned long pid)
{
	std::size_t pos = 0;
	while (pos < list.size()) {
		std::size_t comma = list.find(',', pos);
		std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
		unsigned long long v;
		if (parse_decimal(item, kMaxPid, &v) && v == pid)
			return true;
		if (comma == std::string::npos)
			break;
		pos = comma + 1;
	}
	return false;
}

PsReport build_ps(const Root &root)
{
	PsReport r;
	bool truncated = false;
	for (const auto &p : list_processes(root, &truncated)) {
		std::string lib = mapped_library(root, p.pid, kPreloadLibrary);
		if (lib.empty())
			continue;
		PsProcess pp;
		pp.pid = p.pid;
		// Shown in text and JSON: a process names itself (prctl) with any bytes.
		pp.comm = excerpt(utf8_for_display(p.comm), 32);
		pp.library = path_excerpt(utf8_for_display(lib));
		r.processes.push_back(pp);
	}
	if (truncated)
		r.warnings.push_back("more than " + std::to_string(kMaxProcesses) + " processes; the rest were not looked at");
	LibCounterScan scan = scan_lib_counters(root);
	r.counters_removed = scan.removed;
	for (const auto &why : scan.rejected)
		r.warnings.push_back("library counters file " + why + "; ignored");
	for (auto &pp : r.processes) {
		auto it = scan.live.find(pp.pid);
		if (it != scan.live.end())
			pp.counters = it->second;
	}
	// The module's view last: the groups point into r.listeners.
	r.listeners = read_listeners(root);
	if (!r.listeners.warning.empty())
		r.warnings.push_back(r.listeners.warning);
	// Socket tables by network namespace: 64 workers of one server share one.
	std::map<std::string, TcpTable> tables;
	for (auto &pp : r.processes) {
		std::vector<unsigned long long> inodes = socket_inodes(root, pp.pid);
		// The process's own network namespace; /proc/net when not available.
		std::string proc = "/proc/" + std::to_string(pp.pid);
		std::string netdir = root.exists(proc + "/net/tcp") ? proc + "/net" : "/proc/net";
		std::string ns = root.readlink(proc + "/ns/net").value_or(netdir);
		auto it = tables.find(ns);
		if (it == tables.end()) {
			it = tables.emplace(ns, read_tcp_table(root, netdir)).first;
			if (it->second.bad_lines || it->second.truncated)
				r.warnings.push_back(std::to_string(it->second.bad_lines) + " malformed line(s) in " +
						     netdir + "/tcp{,6} skipped" +
						     (it->second.truncated ? ", and lines past " +
										     std::to_string(kTcpMaxLines)
									   : std::string()));
		}
		const TcpTable &t = it->second;
		for (const auto &s : t.sockets)
			if (s.state == kTcpListen && std::binary_search(inodes.begin(), inodes.end(), s.inode))
				pp.listening.push_back(s);
		for (const auto &g : r.listeners.groups)
			if (const std::string *pids = g.get("pids"))
				if (pid_list_contains(*pids, pp.pid))
					pp.module_groups.push_back(&g);
	}
	return r;
}

namespace {

void render_counters_text(const PsProcess &p, std::ostream &out)
{
	if (!p.counters) {
		out << "  library: no counters file (no accelerated listener yet, or the library could not make one)\n";
		return;
	}
	const LibCounters &c = *p.counters;
	out << "  library: " << c.backend << ", " << c.listeners_total << " listener(s) accelerated, accepts local "
	    << c.accepts_local << " global " << c.accepts_global << " (" << path_excerpt(c.file) << ")\n";
	for (const auto &l : c.listeners)
		out << "  library listener: " << l.endpoint() << " " << l.path << " accepts local " << l.accepts_local
		    << " global " << l.accepts_global << " cpus " << (l.cpus.empty() ? "-" : l.cpus) << "\n";
}

nlohmann::json counters_json(const std::optional<LibCounters> &c)
{
	if (!c)
		return nullptr;
	nlohmann::json l = nlohmann::json::array();
	for (const auto &e : c->listeners)
		l.push_back({{"address", e.address},
			     {"port", e.port},
			     {"ipv6", e.v6},
			     {"path", e.path},
			     {"accepts_local", e.accepts_local},
			     {"accepts_global", e.accepts_global},
			     {"cpus", e.cpus}});
	return {{"file", c->file},
		{"backend", c->backend},
		{"start_time", c->start_time},
		{"listeners_total", c->listeners_total},
		{"accepts_local", c->accepts_local},
		{"accepts_global", c->accepts_global},
		{"listeners", l}};
}

} // namespace

void render_ps_text(const PsReport &r, std::ostream &out)
{
	if (r.processes.empty())
		out << "no process has " << kPreloadLibrary << " mapped\n";
	for (const auto &p : r.processes) {
		out << p.pid << " " << p.comm << "  " << p.library << "\n";
		if (p.listening.empty())
			out << "  listening: none\n";
		for (const auto &s : p.listening)
			out << "  listening: " << s.endpoint() << " (inode " << s.inode << ")\n";
		for (const ListenerGroup *g : p.module_groups) {
			const std::string *cpus = g->get("cpus");
			out << "  module: " << *g->get("addr") << " pids " << *g->get("pids") << " cpus "
			    << (cpus ? *cpus : "-");
			for (const auto &c : g->per_cpu())
				out << " cpu" << c.first << "=" << c.second;
			out << "\n";
		}
		render_counters_text(p, out);
	}
	if (!r.listeners.present)
		out << "module: not loaded (" << kListenersPath << " absent): no per-CPU listener view\n";
	else if (!r.listeners.read_error.empty())
		out << "module: cannot read " << kListenersPath << ": " << r.listeners.read_error << "\n";
	for (const auto &f : r.counters_removed)
		out << "removed stale library counters file " << f << "\n";
	for (const auto &w : r.warnings)
		out << "warning: " << w << "\n";
}

nlohmann::json ps_json(const PsReport &r)
{
	using nlohmann::json;
	json procs = json::array();
	for (const auto &p : r.processes) {
		json l = json::array();
		for (const auto &s : p.listening)
			l.push_back({{"address", s.local}, {"port", s.port}, {"inode", s.inode}, {"ipv6", s.v6}});
		ListenerTable mine;
		mine.present = r.listeners.present;
		for (const ListenerGroup *g : p.module_groups)
			mine.groups.push_back(*g);
		procs.push_back({{"pid", p.pid},
				 {"comm", p.comm},
				 {"library", p.library},
				 {"listening", l},
				 {"module_listeners", listeners_json(mine)["groups"]},
				 {"library_counters", counters_json(p.counters)}});
	}
	return {{"processes", procs},
		{"module_loaded", r.listeners.present},
		{"counters_removed", r.counters_removed},
		{"warnings", r.warnings}};
}

void register_ps(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("ps", "Processes using libfsocket.so, their listening sockets and per-CPU counters");
	auto json_out = std::make_shared<bool>(false);
	sub->add_flag("--json", *json_out, "Machine-readable JSON");
	sub->footer(R"(A process is listed when /proc/PID/maps maps libfsocket.so (started with
`fastsocket run` or LD_PRELOAD).  Its listening TCP sockets are its socket
descriptors (/proc/PID/fd) found in /proc/PID/net/tcp and tcp6; when fastsocket.ko
is loaded, the module's listen groups naming the pid (/proc/fastsocket/listeners)
follow with their per-CPU counters, then the library's own counters file
(/run/fastsocket/lib/PID, or /run/user/UID/fastsocket/PID): its listeners
with the path (module or fallback), connections accepted from the per-CPU
local listeners and from the application's listener, and the CPUs it holds.
Stale counters files (process gone, pid reused, exec'd) are removed.  Other
users' processes need root.

Examples:
  sudo fastsocket ps
  sudo fastsocket ps --json | jq '.processes[] | {pid, comm, listening}'

Exit codes: 0 listed (also when no process uses the library), 1 /proc cannot be read.)");
	sub->callback([&g, json_out]() {
		Root root(g.root);
		if (!root.is_dir("/proc")) {
			std::cerr << "error: " << root.path("/proc") << " cannot be read\n";
			g.exit_code = kExitFailure;
			return;
		}
		PsReport r = build_ps(root);
		if (*json_out)
			std::cout << ps_json(r).dump(2) << "\n";
		else
			render_ps_text(r, std::cout);
	});
}

} // namespace fsock
