// SPDX-License-Identifier: GPL-2.0
#include "commands/recommend.h"

#include <iostream>
#include <set>
#include <stdexcept>

#include "commands/commands.h"
#include "system/processes.h"

namespace fsock {

namespace {

// Servers we know, and whether each opens a backend connection per request.
struct KnownServer {
	const char *comm;
	bool proxy;
};
const KnownServer kKnownServers[] = {
	{"haproxy", true}, {"envoy", true}, {"nginx", false}, {"node", false}, {"nodejs", false},
};

const KnownServer *known_server(const std::string &comm)
{
	for (const auto &k : kKnownServers)
		if (comm == k.comm)
			return &k;
	return nullptr;
}

unsigned count_numa_nodes(const Root &root)
{
	unsigned n = 0;
	for (const auto &e : root.list("/sys/devices/system/node")) {
		unsigned long long id;
		if (e.size() > 4 && e.compare(0, 4, "node") == 0 && parse_decimal(e.substr(4), 1u << 16, &id))
			n++;
	}
	return n;
}

} // namespace

Recommendation recommend(const Root &root)
{
	Recommendation r;
	Topology topo;
	std::string err;
	if (!read_topology(root, &topo, &err))
		throw std::runtime_error(err);
	r.online_cpus = static_cast<unsigned>(topo.online.count());
	r.numa_nodes = count_numa_nodes(root);

	std::set<std::string> proxies, servers;
	for (const auto &p : list_processes(root)) {
		const KnownServer *k = known_server(p.comm);
		if (!k)
			continue;
		r.servers.emplace_back(p.pid, p.comm);
		(k->proxy ? proxies : servers).insert(p.comm);
	}
	auto names = [](const std::set<std::string> &s) {
		std::string out;
		for (const auto &n : s)
			out += (out.empty() ? "" : ", ") + n;
		return out;
	};
	if (!proxies.empty()) {
		r.profile = "proxy";
		r.reasons.push_back(names(proxies) + " running: a proxy opens a backend connection per request; "
						     "proxy adds RFD (backend replies on the worker's CPU), "
						     "the full local port range and tcp_tw_reuse");
		if (!servers.empty())
			r.reasons.push_back(names(servers) + " also running: proxy includes everything web-server sets");
	} else if (!servers.empty()) {
		r.profile = "web-server";
		r.reasons.push_back(names(servers) + " running: short-lived inbound connections, one worker per CPU "
						     "(listen spawn, RPS/RFS, big backlogs)");
		if (servers.count("nginx"))
			r.reasons.push_back("if nginx proxies to backends (proxy_pass), choose proxy instead");
	} else {
		r.profile = "web-server";
		r.reasons.push_back("no known server running (nginx, haproxy, envoy, node): web-server is the general "
				    "profile for short-lived inbound connections");
	}

	std::string e;
	select_interfaces(root, {"all-physical"}, &r.interfaces, &e);
	if (r.interfaces.empty())
		r.reasons.push_back("no physical NIC found: only the module and sysctls will be tuned");
	std::set<int> nic_nodes;
	for (const auto &i : r.interfaces) {
		std::string q = i.name + " has " + std::to_string(i.rx.size()) + " rx queue(s) for " +
				std::to_string(r.online_cpus) + " online CPUs: ";
		if (i.rx.size() < r.online_cpus)
			q += "RPS spreads its receive processing over the other CPUs in software";
		else
			q += "one queue IRQ per CPU; RPS adds little but keeps RFS's flow steering";
		r.reasons.push_back(q);
		if (i.numa_node >= 0)
			nic_nodes.insert(i.numa_node);
	}
	if (r.numa_nodes > 1) {
		std::string s = std::to_string(r.numa_nodes) + " NUMA nodes";
		if (!nic_nodes.empty()) {
			s += "; NICs on node(s)";
			for (int n : nic_nodes)
				s += " " + std::to_string(n);
			s += ": IRQs go to NIC-local CPUs first; consider `irq: {cpus: numa-local}` in an override "
			     "in /etc/fastsocket/profiles";
		}
		r.reasons.push_back(s);
	}
	return r;
}

nlohmann::json recommendation_json(const Recommendation &r)
{
	using nlohmann::json;
	json servers = json::array();
	for (const auto &s : r.servers)
		servers.push_back({{"pid", s.first}, {"comm", s.second}});
	json nics = json::array();
	for (const auto &i : r.interfaces)
		nics.push_back({{"name", i.name},
				{"rx_queues", i.rx.size()},
				{"tx_queues", i.tx.size()},
				{"numa_node", i.numa_node}});
	return {{"profile", r.profile},	    {"reasons", r.reasons},	    {"servers", servers},
		{"interfaces", nics},	    {"online_cpus", r.online_cpus}, {"numa_nodes", r.numa_nodes}};
}

void register_recommend(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("recommend", "Name the shipped profile that fits the running servers and NICs, and why");
	auto json_out = std::make_shared<bool>(false);
	sub->add_flag("--json", *json_out, "Machine-readable JSON");
	sub->footer(R"X(Looks at the servers running (/proc/*/comm: haproxy and envoy mean proxy;
nginx and node mean web-server) and at the physical NICs (rx queues against
online CPUs, NUMA nodes).  Nothing is changed.

Examples:
  fastsocket recommend
  fastsocket plan "$(fastsocket recommend --json | jq -r .profile)"

Exit codes: 0 a profile was named, 1 the CPUs cannot be read.)X");
	sub->callback([&g, json_out]() {
		Root root(g.root);
		Recommendation r;
		try {
			r = recommend(root);
		} catch (const std::exception &e) {
			std::cerr << "error: " << e.what() << "\n";
			g.exit_code = kExitFailure;
			return;
		}
		if (*json_out) {
			std::cout << recommendation_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
				  << "\n";
			return;
		}
		std::cout << "profile: " << r.profile << "\n";
		for (const auto &why : r.reasons)
			std::cout << "  because " << why << "\n";
	});
}

} // namespace fsock
