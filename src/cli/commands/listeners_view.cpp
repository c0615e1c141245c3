// SPDX-License-Identifier: GPL-2.0
#include "commands/listeners_view.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace fsock {

namespace {

// Keys shown in this order; every other key follows in file order.
const char *const kShownKeys[] = {"pids", "backlog", "queued", "cpus", "local", "remote"};

bool is_shown(const std::string &key)
{
	unsigned cpu;
	if (key == "netns" || key == "addr" || per_cpu_key(key, &cpu))
		return true;
	for (const char *k : kShownKeys)
		if (key == k)
			return true;
	return false;
}

nlohmann::json value_json(const std::string &v)
{
	if (is_counter_value(v))
		return std::stoull(v);
	return v;
}

} // namespace

void render_listeners_text(const ListenerTable &t, std::ostream &out)
{
	if (!t.present) {
		out << "listeners: module not loaded or no listeners (" << kListenersPath << " absent)\n";
		return;
	}
	if (!t.read_error.empty()) {
		out << "listeners: cannot read " << kListenersPath << ": " << t.read_error << "\n";
		return;
	}
	out << "listeners (" << kListenersPath << "): ";
	if (t.groups.empty())
		out << "none";
	else
		out << t.groups.size() << " group(s)";
	out << "\n";
	for (const auto &g : t.groups) {
		const std::string *ns = g.get("netns");
		out << "  " << *g.get("addr") << " (netns " << (ns ? *ns : "-") << "):";
		for (const char *k : kShownKeys)
			if (const std::string *v = g.get(k))
				out << " " << k << " " << *v;
		out << "\n";
		auto cpus = g.per_cpu();
		if (!cpus.empty()) {
			out << "    per CPU:";
			for (const auto &c : cpus)
				out << " cpu" << c.first << "=" << c.second;
			out << "\n";
		}
		std::string other;
		for (const auto &f : g.fields)
			if (!is_shown(f.first))
				other += " " + f.first + "=" + f.second;
		if (!other.empty())
			out << "    other:" << other << "\n";
	}
	if (!t.warning.empty())
		out << "warning: " << kListenersPath << ": " << t.warning << "\n";
}

nlohmann::json listeners_json(const ListenerTable &t)
{
	using nlohmann::json;
	json groups = json::array();
	for (const auto &g : t.groups) {
		json jg = json::object();
		json per_cpu = json::object();
		unsigned cpu;
		for (const auto &f : g.fields) {
			if (per_cpu_key(f.first, &cpu))
				per_cpu[std::to_string(cpu)] = value_json(f.second);
			else if (f.first == "netns" || f.first == "addr")
				jg[f.first] = f.second; // identifiers stay strings
			else
				jg[f.first] = value_json(f.second);
		}
		jg["per_cpu"] = per_cpu;
		groups.push_back(jg);
	}
	return {{"present", t.present},
		{"path", kListenersPath},
		{"error", t.read_error.empty() ? json(nullptr) : json(t.read_error)},
		{"warning", t.warning.empty() ? json(nullptr) : json(t.warning)},
		{"groups", groups}};
}

namespace {

struct Family {
	std::string type, help;
	std::vector<std::string> samples;
};

// Metric families in first-use order; a name is never declared twice.
class Families {
public:
	Family *get(const std::string &name, const std::string &type, const std::string &help)
	{
		auto it = index_.find(name);
		if (it != index_.end())
			return &list_[it->second].second;
		index_[name] = list_.size();
		list_.push_back({name, {type, help, {}}});
		return &list_.back().second;
	}
	bool has(const std::string &name) const { return index_.count(name) != 0; }
	void print(std::ostream &out) const
	{
		for (const auto &f : list_) {
			out << "# HELP " << f.first << " " << f.second.help << "\n# TYPE " << f.first << " "
			    << f.second.type << "\n";
			for (const auto &s : f.second.samples)
				out << f.first << s << "\n";
		}
	}

private:
	std::vector<std::pair<std::string, Family>> list_;
	std::map<std::string, std::size_t> index_;
};

struct KnownMetric {
	const char *key, *name, *type, *help;
};

const KnownMetric kKnown[] = {
	{"backlog", "fastsocket_listener_backlog", "gauge", "Largest accept backlog among the group's listeners."},
	{"queued", "fastsocket_listener_queued", "gauge", "Connections waiting in the group's accept queues."},
	{"local", "fastsocket_listener_local_total", "counter",
	 "Connections accepted on the CPU that received them."},
	{"remote", "fastsocket_listener_remote_total", "counter",
	 "Connections accepted on another CPU than the one that received them."},
};
const char *const kPerCpu = "fastsocket_listener_cpu_connections_total";
const char *const kProcesses = "fastsocket_listener_processes";

} // namespace

void render_listeners_prometheus(const ListenerTable &t, std::ostream &out)
{
	Families fam;
	fam.get("fastsocket_listeners", "gauge", "Listen groups accelerated by fastsocket.ko (all network namespaces).")
		->samples.push_back(" " + std::to_string(t.groups.size()));
	// Every known name is declared first, so no unknown key can take it.
	for (const auto &k : kKnown)
		fam.get(k.name, k.type, k.help);
	fam.get(kPerCpu, "counter", "Connections of the group steered to (and accepted on) one CPU.");
	fam.get(kProcesses, "gauge", "Processes holding the group's listeners.");
	for (const auto &g : t.groups) {
		const std::string *ns = g.get("netns");
		// Values are validated: no quote, backslash or newline to escape.
		std::string labels = "netns=\"" + (ns ? *ns : std::string()) + "\",addr=\"" + *g.get("addr") + "\"";
		unsigned cpu;
		for (const auto &f : g.fields) {
			const std::string &key = f.first, &v = f.second;
			if (key == "pids") {
				std::size_t n = v.empty() || v == "-" ? 0 : 1 + std::count(v.begin(), v.end(), ',');
				fam.get(kProcesses, "", "")->samples.push_back("{" + labels + "} " + std::to_string(n));
				continue;
			}
			if (!is_counter_value(v) || key == "netns")
				continue;
			if (per_cpu_key(key, &cpu)) {
				fam.get(kPerCpu, "", "")->samples.push_back("{" + labels + ",cpu=\"" + std::to_string(cpu) +
									     "\"} " + v);
				continue;
			}
			const KnownMetric *known = nullptr;
			for (const auto &k : kKnown)
				if (key == k.key)
					known = &k;
			if (known) {
				fam.get(known->name, "", "")->samples.push_back("{" + labels + "} " + v);
				continue;
			}
			std::string name = "fastsocket_listener_" + key;
			bool ours = false;
			for (const auto &k : kKnown)
				ours = ours || name == k.name;
			if (ours || name == kPerCpu || name == kProcesses || key == "cpus")
				continue; // an unknown key must not add samples to a known metric
			fam.get(name, "gauge", "Value of '" + key + "=' in " + std::string(kListenersPath) +
						       " (a key this fastsocket CLI does not know).")
				->samples.push_back("{" + labels + "} " + v);
		}
	}
	fam.print(out);
}

} // namespace fsock
