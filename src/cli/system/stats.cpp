// SPDX-License-Identifier: GPL-2.0
#include "system/stats.h"

#include <set>
#include <sstream>

#include "system/sysinfo.h"

namespace fsock {

const char *const kStatsPath = "/proc/fastsocket/stats";

static bool parse_values(std::istringstream &in, std::vector<unsigned long long> *out)
{
	std::string tok;
	while (in >> tok) {
		unsigned long long v;
		if (!parse_decimal(tok, ~0ull, &v))
			return false;
		out->push_back(v);
	}
	return true;
}

ModuleStats parse_stats(const std::string &text)
{
	ModuleStats s;
	s.present = true;
	std::istringstream in(text);
	std::string line;
	bool header = false;
	int lineno = 0;
	while (std::getline(in, line)) {
		lineno++;
		std::istringstream ls(line);
		std::string first;
		if (!(ls >> first))
			continue;
		if (!header) {
			header = true;
			std::string tok;
			std::vector<std::string> cols{first};
			while (ls >> tok)
				cols.push_back(tok);
			// "cpu a b c" or "a b c": the first name may label the row column.
			if (cols.front() == "cpu" || cols.front() == "CPU")
				cols.erase(cols.begin());
			// A repeated name gets a suffix (_2, _3): every column stays
			// addressable and every metric name unique.
			std::set<std::string> seen;
			for (auto &c : cols) {
				std::string name = c;
				for (unsigned k = 2; !seen.insert(name).second; k++)
					name = c + "_" + std::to_string(k);
				if (name != c)
					s.duplicates.push_back(c);
				c = name;
			}
			s.columns = cols;
			continue;
		}
		std::vector<unsigned long long> vals;
		if (!parse_values(ls, &vals) || vals.size() != s.columns.size()) {
			s.error = "line " + std::to_string(lineno) + ": expected " + std::to_string(s.columns.size()) +
				  " numbers (decimal, at most 2^64-1) after '" + first.substr(0, 40) + "'";
			return s;
		}
		if (first == "total") {
			s.total = vals;
		} else if (unsigned long long cpu; first.rfind("cpu", 0) == 0 &&
						   parse_decimal(first.substr(3), 1u << 20, &cpu)) {
			for (const auto &row : s.cpus)
				if (row.first == cpu) {
					s.error = "line " + std::to_string(lineno) + ": " + first + " appears twice";
					return s;
				}
			s.cpus.emplace_back(static_cast<unsigned>(cpu), vals);
		} else {
			s.error = "line " + std::to_string(lineno) + ": unknown row '" + first.substr(0, 40) + "'";
			return s;
		}
	}
	if (!header)
		s.error = "empty";
	return s;
}

ModuleStats read_stats(const Root &root)
{
	auto text = root.read(kStatsPath);
	if (!text)
		return ModuleStats();
	return parse_stats(*text);
}

} // namespace fsock
