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
	// The CPUs of this set that are not in `other`.
	CpuSet without(const CpuSet &other) const;

	bool operator==(const CpuSet &o) const;
	bool operator!=(const CpuSet &o) const { return !(*this == o); }

private:
	void trim();
	std::vector<bool> bits_;
};

class Root;

// CPUs kept away from kernel housekeeping work (isolcpus=, nohz_full=):
// `all` in a profile leaves them out, so RPS, XPS and queue IRQs do not
// land on CPUs reserved for latency-critical work.  Read from
// /sys/devices/system/cpu/{isolated,nohz_full}; when neither exists,
// from isolcpus= and nohz_full= on /proc/cmdline.
struct IsolatedCpus {
	CpuSet cpus;
	std::string source;		   // the files the CPUs came from, for the plan note
	std::vector<std::string> problems; // values that could not be parsed (ignored)
};
constexpr std::size_t kMaxCmdlineBytes = 64 * 1024;
IsolatedCpus read_isolated_cpus(const Root &root);
// The CPU list of an isolcpus= value: "[flag,...,]LIST" with flags nohz,
// domain, managed_irq.  False with *err on a malformed value.
bool parse_isolcpus(const std::string &value, CpuSet *out, std::string *err);

} // namespace fsock
