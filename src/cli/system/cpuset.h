// SPDX-License-Identifier: GPL-2.0
// A set of CPU ids of any size, in the two text forms the kernel uses:
// lists ("0-3,8,10-11", cpulist_parse / %*pbl) and masks (comma-separated
// 32-bit hex groups, most significant first, as %*pb prints them).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fsock {

class CpuSet {
public:
	CpuSet() = default;

	// "0-3,8,10-11"; an empty (or all-blank) string is the empty set.
	// Returns false and sets *err on malformed input.
	static bool parse_list(const std::string &text, CpuSet *out, std::string *err);
	// "ffff,ffffffff" (sysfs mask). Leading/trailing blanks ignored.
	static bool parse_mask(const std::string &text, CpuSet *out, std::string *err);

	// "0-3,8" like the kernel's %*pbl; "" for the empty set.
	std::string to_list() const;
	// The kernel's %*pb for a bitmap of nbits bits: the first (most
	// significant) group has (nbits % 32 or 32) bits, printed with just enough
	// hex digits; every other group has 8 digits.  E.g. 2 CPUs -> "3",
	// 48 -> "ffff,ffffffff".
	std::string to_mask(unsigned nbits) const;

	void set(unsigned cpu);
	void clear(unsigned cpu);
	bool test(unsigned cpu) const;
	bool empty() const;
	std::size_t count() const;
	// One past the highest CPU in the set (0 when empty).
	unsigned span() const;
	std::vector<unsigned> cpus() const;
	CpuSet intersect(const CpuSet &other) const;

	bool operator==(const CpuSet &o) const;
	bool operator!=(const CpuSet &o) const { return !(*this == o); }

private:
	void trim();
	std::vector<bool> bits_;
};

} // namespace fsock
