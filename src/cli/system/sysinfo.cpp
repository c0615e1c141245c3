// SPDX-License-Identifier: GPL-2.0
#include "system/sysinfo.h"

#include <algorithm>
#include <cstring>
#include <fnmatch.h>

namespace fsock {

std::string errno_text(int err)
{
	return std::strerror(err);
}

bool parse_decimal(const std::string &s, unsigned long long max, unsigned long long *out)
{
	if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
		return false;
	unsigned long long v = 0;
	for (char c : s) {
		unsigned d = static_cast<unsigned>(c - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool read_topology(const Root &root, Topology *out, std::string *err)
{
	int e = 0;
	auto online = root.read_trimmed("/sys/devices/system/cpu/online", &e);
	if (!online) {
		*err = "cannot read " + root.path("/sys/devices/system/cpu/online") + ": " + errno_text(e);
		return false;
	}
	std::string perr;
	if (!CpuSet::parse_list(*online, &out->online, &perr) || out->online.empty()) {
		*err = "bad CPU list in /sys/devices/system/cpu/online: " + (perr.empty() ? "empty" : perr);
		return false;
	}
	CpuSet possible = out->online;
	if (auto p = root.read_trimmed("/sys/devices/system/cpu/possible"))
		CpuSet::parse_list(*p, &possible, nullptr);
	out->nr_cpu_ids = std::max(possible.span(), out->online.span());
	return true;
}

CpuSet node_cpus(const Root &root, int node)
{
	CpuSet s;
	if (node < 0)
		return s;
	if (auto l = root.read_trimmed("/sys/devices/system/node/node" + std::to_string(node) + "/cpulist"))
		CpuSet::parse_list(*l, &s, nullptr);
	return s;
}

std::vector<std::string> list_interfaces(const Root &root)
{
	return root.list("/sys/class/net");
}

static std::vector<unsigned> queues(const Root &root, const std::string &ifname, const std::string &prefix)
{
	std::vector<unsigned> q;
	for (const auto &e : root.list("/sys/class/net/" + ifname + "/queues")) {
		if (e.rfind(prefix, 0) != 0)
			continue;
		unsigned long long n;
		if (parse_decimal(e.substr(prefix.size()), 65535, &n))
			q.push_back(static_cast<unsigned>(n));
	}
	std::sort(q.begin(), q.end());
	return q;
}

bool read_interface(const Root &root, const std::string &name, Interface *out)
{
	std::string base = "/sys/class/net/" + name;
	if (!root.exists(base))
		return false;
	Interface i;
	i.name = name;
	i.physical = root.exists(base + "/device");
	if (i.physical) {
		i.device = root.resolved_basename(base + "/device");
		unsigned long long node;
		auto n = root.read_trimmed(base + "/device/numa_node");
		if (n && parse_decimal(*n, 65535, &node)) // "-1": no NUMA information
			i.numa_node = static_cast<int>(node);
	}
	i.rx = queues(root, name, "rx-");
	i.tx = queues(root, name, "tx-");
	*out = i;
	return true;
}

bool select_interfaces(const Root &root, const std::vector<std::string> &patterns,
		       std::vector<Interface> *out, std::string *err)
{
	std::vector<std::string> all = list_interfaces(root);
	std::vector<std::string> chosen;
	auto add = [&](const std::string &n) {
		if (std::find(chosen.begin(), chosen.end(), n) == chosen.end())
			chosen.push_back(n);
	};
	for (const auto &p : patterns) {
		if (p == "all-physical") {
			for (const auto &n : all)
				if (root.exists("/sys/class/net/" + n + "/device"))
					add(n);
		} else if (p.find_first_of("*?[") != std::string::npos) {
			for (const auto &n : all)
				if (::fnmatch(p.c_str(), n.c_str(), 0) == 0)
					add(n);
		} else {
			if (std::find(all.begin(), all.end(), p) == all.end()) {
				std::string have;
				for (const auto &n : all)
					have += (have.empty() ? "" : ", ") + n;
				*err = "interface '" + p + "' does not exist (interfaces: " +
				       (have.empty() ? "none" : have) + ")";
				return false;
			}
			add(p);
		}
	}
	out->clear();
	for (const auto &n : chosen) {
		Interface i;
		if (read_interface(root, n, &i))
			out->push_back(i);
	}
	return true;
}

bool process_running(const Root &root, const std::string &comm)
{
	for (const auto &e : root.list("/proc")) {
		if (e.find_first_not_of("0123456789") != std::string::npos)
			continue;
		auto c = root.read_trimmed("/proc/" + e + "/comm");
		if (c && *c == comm)
			return true;
	}
	return false;
}

} // namespace fsock
