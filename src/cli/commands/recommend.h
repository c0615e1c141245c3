// SPDX-License-Identifier: GPL-2.0
// `fastsocket recommend`: which shipped profile fits this host, from the
// servers that run (/proc/*/comm: nginx, haproxy, envoy, node) and the NICs
// (queue counts against online CPUs, NUMA placement), with the reasons.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "system/root.h"
#include "system/sysinfo.h"

namespace fsock {

struct Recommendation {
	std::string profile;
	std::vector<std::string> reasons;
	std::vector<std::pair<unsigned long, std::string>> servers; // pid, comm
	std::vector<Interface> interfaces;			   // physical NICs
	unsigned online_cpus = 0;
	unsigned numa_nodes = 0;
};

// Throws std::runtime_error when the CPUs cannot be read.
Recommendation recommend(const Root &root);
nlohmann::json recommendation_json(const Recommendation &r);

} // namespace fsock
