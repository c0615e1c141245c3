// SPDX-License-Identifier: GPL-2.0
#include "tuning/change.h"

#include <sstream>

namespace fsock {

const char *kind_name(ValueKind k)
{
	switch (k) {
	case ValueKind::Mask:
		return "mask";
	case ValueKind::CpuList:
		return "cpulist";
	case ValueKind::Words:
		return "words";
	case ValueKind::File:
		return "file";
	}
	return "words";
}

ValueKind kind_from_name(const std::string &s)
{
	if (s == "mask")
		return ValueKind::Mask;
	if (s == "cpulist")
		return ValueKind::CpuList;
	if (s == "file")
		return ValueKind::File;
	return ValueKind::Words;
}

static std::vector<std::string> words(const std::string &s)
{
	std::istringstream in(s);
	std::vector<std::string> w;
	std::string x;
	while (in >> x)
		w.push_back(x);
	return w;
}

bool equivalent(ValueKind k, const std::string &a, const std::string &b)
{
	switch (k) {
	case ValueKind::Mask: {
		CpuSet x, y;
		if (CpuSet::parse_mask(a, &x, nullptr) && CpuSet::parse_mask(b, &y, nullptr))
			return x == y;
		return trim(a) == trim(b);
	}
	case ValueKind::CpuList: {
		CpuSet x, y;
		if (CpuSet::parse_list(a, &x, nullptr) && CpuSet::parse_list(b, &y, nullptr))
			return x == y;
		return trim(a) == trim(b);
	}
	case ValueKind::Words:
		return words(a) == words(b);
	case ValueKind::File:
		return a == b;
	}
	return a == b;
}

std::string show_value(ValueKind k, const std::string &raw, bool existed)
{
	if (!existed)
		return "(absent)";
	if (k != ValueKind::File) {
		std::string t;
		for (const auto &w : words(raw))
			t += (t.empty() ? "" : " ") + w;
		return t.empty() ? "(empty)" : t;
	}
	// The first non-comment line of a file.
	std::istringstream in(raw);
	std::string line;
	while (std::getline(in, line)) {
		std::string t = trim(line);
		if (!t.empty() && t[0] != '#')
			return "\"" + t + "\"";
	}
	return "(no options)";
}

std::size_t Plan::pending_count() const
{
	std::size_t n = 0;
	for (const auto &c : changes)
		n += c.pending();
	for (const auto &x : xdp)
		n += x.pending();
	return n;
}

} // namespace fsock
