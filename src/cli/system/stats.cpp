// SPDX-License-Identifier: GPL-2.0
#include "system/stats.h"

#include <sstream>

namespace fsock {

const char *const kStatsPath = "/proc/fastsocket/stats";

static bool parse_values(std::istringstream &in, std::vector<unsigned long long> *out)
{
	std::string tok;
	while (in >> tok) {
		if (tok.find_first_not_of("0123456789") != std::string::npos)
			return false;
		out->push_back(std::stoull(tok));
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
			s.columns = cols;
			continue;
		}
		std::vector<unsigned long long> vals;
		if (!parse_values(ls, &vals) || vals.size() != s.columns.size()) {
			s.error = "line " + std::to_string(lineno) + ": expected " + std::to_string(s.columns.size()) +
				  " numbers after '" + first + "'";
			return s;
		}
		if (first == "total") {
			s.total = vals;
		} else if (first.rfind("cpu", 0) == 0 && first.size() > 3 &&
			   first.find_first_not_of("0123456789", 3) == std::string::npos) {
			s.cpus.emplace_back(static_cast<unsigned>(std::stoul(first.substr(3))), vals);
		} else {
			s.error = "line " + std::to_string(lineno) + ": unknown row '" + first + "'";
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
