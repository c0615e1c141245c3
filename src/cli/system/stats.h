// SPDX-License-Identifier: GPL-2.0
// The module's counters, /proc/fastsocket/stats: a header line of column
// names, one line "cpuN v v ..." per CPU, then "total v v ...".
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "system/root.h"

namespace fsock {

struct ModuleStats {
	bool present = false;
	std::string error; // set when present but malformed
	std::vector<std::string> columns;	 // unique: repeats get _2, _3
	std::vector<std::string> duplicates; // names that were repeated
	std::vector<std::pair<unsigned, std::vector<unsigned long long>>> cpus;
	std::vector<unsigned long long> total;
};

extern const char *const kStatsPath;
ModuleStats parse_stats(const std::string &text);
ModuleStats read_stats(const Root &root);

} // namespace fsock
