// SPDX-License-Identifier: GPL-2.0
// The profile schema (version 1): every key, what it accepts and why.
// docs/profiles.md documents the same table; `fastsocket validate
// --schema` prints it from here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "profile/node.h"

namespace fsock {

struct Field {
	std::string name;
	std::string allowed;	 // human text of the allowed values (scalars)
	std::string description; // one line
	// For scalars: returns "" if the node is acceptable, else the problem
	// ("not an integer", "out of range", ...).
	std::function<std::string(const PNode &)> check;
	std::vector<Field> children; // for mappings
	bool is_map = false;
};

const Field &profile_schema();

// Known sysctls: name, allowed text, checker.
struct SysctlSpec {
	const char *name;
	long min;
	long max;
	bool pair; // "LOW HIGH"
	const char *why;
};
const std::vector<SysctlSpec> &known_sysctls();

// Scalar helpers shared with validation.
bool parse_long(const std::string &s, long *out);
bool is_power_of_two(long v);
// The words of a sysctl value: "1024   65535" or [1024, 65535] -> {1024, 65535}.
std::vector<std::string> sysctl_words(const PNode &n);
// A validated sysctl value as written to /proc/sys and read back by the
// kernel: canonical decimal words separated by one space.
std::string canonical_sysctl_value(const PNode &n);
// Levenshtein distance.
std::size_t edit_distance(const std::string &a, const std::string &b);
// The closest candidate, or "" when none is close enough.
std::string nearest(const std::string &word, const std::vector<std::string> &candidates);

// Prints the schema as an indented reference.
std::string schema_reference();

} // namespace fsock
