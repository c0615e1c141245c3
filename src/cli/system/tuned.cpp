// SPDX-License-Identifier: GPL-2.0
#include "system/tuned.h"

#include <algorithm>
#include <sstream>

#include "profile/excerpt.h"
#include "system/file_read.h"
#include "system/sysinfo.h"
#include "tuning/change.h"

namespace fsock {

namespace {

// tuned accepts "net/core/somaxconn" as well as "net.core.somaxconn".
std::string sysctl_name(std::string key)
{
	std::replace(key.begin(), key.end(), '/', '.');
	return key;
}

bool touches_steering_file(const std::string &key)
{
	return key.find("rps_cpus") != std::string::npos || key.find("xps_cpus") != std::string::npos ||
	       key.find("rps_flow_cnt") != std::string::npos;
}

struct Section {
	std::string name, type;
	std::vector<std::pair<std::string, std::string>> entries;
};

std::string conf_path(const Root &root, const std::string &name)
{
	for (const char *base : {"/etc/tuned/profiles/", "/etc/tuned/", "/usr/lib/tuned/profiles/", "/usr/lib/tuned/"}) {
		std::string p = std::string(base) + name + "/tuned.conf";
		if (root.exists(p))
			return p;
	}
	return "";
}

} // namespace

bool valid_tuned_name(const std::string &name)
{
	if (name.empty() || name.size() > kTunedMaxName || name == "." || name == "..")
		return false;
	return std::all_of(name.begin(), name.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		       c == '-' || c == '.';
	});
}

TunedState read_tuned_state(const Root &root)
{
	TunedState s;
	std::string why;
	auto active = read_regular_file(root.path("/etc/tuned/active_profile"), kTunedMaxConfBytes, &why);
	if (!active)
		return s;
	std::istringstream in(*active);
	std::string name;
	while (in >> name) {
		if (valid_tuned_name(name))
			s.profiles.push_back(name);
		else
			s.problems.push_back("/etc/tuned/active_profile: '" + excerpt(name) + "' is not a tuned profile name");
	}
	if (auto pid = read_regular_file(root.path("/run/tuned/tuned.pid"), 64, nullptr)) {
		unsigned long long v;
		if (parse_decimal(trim(*pid), 4194304, &v) && root.exists("/proc/" + std::to_string(v)))
			s.running = true;
	}
	if (!s.running)
		s.running = process_running(root, "tuned");
	return s;
}

std::vector<std::string> parse_tuned_conf(const std::string &text, const std::string &file, TunedKnobs *out)
{
	std::vector<Section> sections;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line)) {
		line = trim(line);
		if (line.empty() || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			if (line.back() != ']') {
				out->problems.push_back(path_excerpt(file) + ": '" + excerpt(line) + "' is not a section header");
				continue;
			}
			Section sec;
			sec.name = sec.type = trim(line.substr(1, line.size() - 2));
			sections.push_back(sec);
			continue;
		}
		std::size_t eq = line.find('=');
		if (eq == std::string::npos || sections.empty())
			continue; // continuation lines and keys before a section: nothing we compare
		std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
		if (k == "type")
			sections.back().type = v;
		sections.back().entries.emplace_back(k, v);
	}
	std::vector<std::string> includes;
	for (const auto &sec : sections) {
		for (const auto &kv : sec.entries) {
			const std::string &k = kv.first;
			if (sec.name == "main" && k == "include") {
				std::istringstream names(kv.second);
				std::string n;
				while (std::getline(names, n, ','))
					if (!trim(n).empty())
						includes.push_back(trim(n));
			} else if (sec.type == "sysctl" && k != "type" && k != "replace" && k != "devices") {
				out->sysctl.emplace(sysctl_name(k), file);
			} else if (sec.type == "sysfs" && touches_steering_file(k)) {
				out->rps = file;
			} else if (sec.type == "irqbalance" || sec.type == "irq" ||
				   (sec.type == "scheduler" && (k == "isolated_cores" || k == "default_irq_smp_affinity" ||
								k == "irq_process"))) {
				if (k != "type")
					out->irq = file;
			}
		}
	}
	return includes;
}

TunedKnobs read_tuned_knobs(const Root &root, const std::vector<std::string> &profiles)
{
	TunedKnobs k;
	// Depth-first, includes before the profile; each profile read once.
	std::vector<std::string> todo(profiles.rbegin(), profiles.rend());
	std::vector<std::string> seen;
	while (!todo.empty()) {
		std::string name = todo.back();
		todo.pop_back();
		if (std::find(seen.begin(), seen.end(), name) != seen.end())
			continue;
		if (!valid_tuned_name(name)) {
			k.problems.push_back("tuned include '" + excerpt(name) + "' is not a profile name; skipped");
			continue;
		}
		if (seen.size() == kTunedMaxFiles) {
			k.problems.push_back("more than " + std::to_string(kTunedMaxFiles) +
					     " tuned profiles included; the rest were not read");
			break;
		}
		seen.push_back(name);
		std::string p = conf_path(root, name);
		if (p.empty())
			continue; // a profile tuned itself cannot find either
		std::string why;
		auto text = read_regular_file(root.path(p), kTunedMaxConfBytes, &why);
		if (!text) {
			k.problems.push_back("cannot read " + why);
			continue;
		}
		k.files.push_back(p);
		for (const auto &inc : parse_tuned_conf(*text, p, &k))
			todo.push_back(inc);
	}
	return k;
}

void add_tuned_warnings(const Root &root, Plan *plan)
{
	TunedState st = read_tuned_state(root);
	if (!st.running || st.profiles.empty())
		return;
	TunedKnobs k = read_tuned_knobs(root, st.profiles);
	std::string who = "tuned runs profile";
	for (const auto &p : st.profiles)
		who += " " + p;
	const std::string tail = ": whichever writes last wins, and tuned writes again at every start; "
				 "take them out of the tuned profile or stop tuned (systemctl disable --now tuned)";
	std::vector<std::string> both;
	bool irq = false, steering = false;
	for (const auto &c : plan->changes) {
		if (c.path.compare(0, 10, "/proc/sys/") == 0) {
			std::string name = sysctl_name(c.path.substr(10));
			auto it = k.sysctl.find(name);
			if (it != k.sysctl.end())
				both.push_back(name + " (" + it->second + ")");
		}
		irq |= c.area == "irq";
		steering |= c.area == "rps" || c.area == "xps" || c.area == "rfs";
	}
	if (!both.empty()) {
		std::string list;
		for (const auto &b : both)
			list += (list.empty() ? "" : ", ") + b;
		plan->warnings.push_back(who + " which also sets " + list + tail);
	}
	if (irq && !k.irq.empty())
		plan->warnings.push_back(who + " which also sets IRQ affinity (" + k.irq + ")" + tail);
	if (steering && !k.rps.empty())
		plan->warnings.push_back(who + " which also writes RPS/XPS/RFS queue files (" + k.rps + ")" + tail);
	for (const auto &p : st.problems)
		plan->warnings.push_back("tuned: " + p);
	for (const auto &p : k.problems)
		plan->warnings.push_back("tuned: " + p);
}

} // namespace fsock
