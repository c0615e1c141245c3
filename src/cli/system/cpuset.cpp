// SPDX-License-Identifier: GPL-2.0
#include "system/cpuset.h"
#include "system/root.h"
#include "profile/excerpt.h"
#include "system/file_read.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>

namespace fsock {

namespace {

// Kernel limit on CPU ids (NR_CPUS is at most 8192 in distribution kernels).
constexpr unsigned kMaxCpus = 1u << 16;

// Decimal digits; a number of any length past kMaxCpus reads as kMaxCpus,
// so "99999999" is "out of range" like 65536, not "not a CPU number".
bool parse_uint(const std::string &s, unsigned *out)
{
	if (s.empty())
		return false;
	unsigned v = 0;
	for (char c : s) {
		if (c < '0' || c > '9')
			return false;
		v = std::min(kMaxCpus, v * 10 + static_cast<unsigned>(c - '0'));
	}
	*out = v;
	return true;
}

} // namespace

bool CpuSet::parse_list(const std::string &text, CpuSet *out, std::string *err)
{
	CpuSet set;
	std::string s = fsock::trim(text);
	if (s.empty()) {
		*out = set;
		return true;
	}
	std::size_t pos = 0;
	while (pos <= s.size()) {
		std::size_t comma = s.find(',', pos);
		std::string item = fsock::trim(s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
		std::size_t dash = item.find('-');
		unsigned lo, hi;
		bool ok;
		if (dash == std::string::npos) {
			ok = parse_uint(item, &lo);
			hi = lo;
		} else {
			ok = parse_uint(fsock::trim(item.substr(0, dash)), &lo) &&
			     parse_uint(fsock::trim(item.substr(dash + 1)), &hi);
		}
		if (!ok) {
			if (err)
				*err = "'" + excerpt(item) + "' is not a CPU number or range (like 0-3)";
			return false;
		}
		if (hi < lo) {
			if (err)
				*err = "range '" + excerpt(item) + "' ends before it starts";
			return false;
		}
		if (hi >= kMaxCpus) {
			if (err)
				*err = "CPU '" + excerpt(item) + "' is out of range (CPU numbers go up to " +
				       std::to_string(kMaxCpus - 1) + ")";
			return false;
		}
		for (unsigned c = lo; c <= hi; c++)
			set.set(c);
		if (comma == std::string::npos)
			break;
		pos = comma + 1;
	}
	*out = set;
	return true;
}

bool CpuSet::parse_mask(const std::string &text, CpuSet *out, std::string *err)
{
	std::string s = fsock::trim(text);
	if (s.empty()) {
		if (err)
			*err = "empty CPU mask";
		return false;
	}
	std::vector<std::uint32_t> groups; // most significant first
	std::size_t pos = 0;
	while (true) {
		std::size_t comma = s.find(',', pos);
		std::string g = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
		if (g.empty() || g.size() > 8) {
			if (err)
				*err = "bad CPU mask group '" + g + "' (1 to 8 hex digits per 32 CPUs)";
			return false;
		}
		std::uint32_t v = 0;
		for (char c : g) {
			if (!std::isxdigit(static_cast<unsigned char>(c))) {
				if (err)
					*err = "bad hex digit '" + std::string(1, c) + "' in CPU mask";
				return false;
			}
			v = (v << 4) | static_cast<std::uint32_t>(std::stoul(std::string(1, c), nullptr, 16));
		}
		groups.push_back(v);
		if (comma == std::string::npos)
			break;
		pos = comma + 1;
	}
	if (groups.size() * 32 > kMaxCpus) {
		if (err)
			*err = "CPU mask too long";
		return false;
	}
	CpuSet set;
	std::size_t n = groups.size();
	for (std::size_t i = 0; i < n; i++) {
		std::uint32_t v = groups[n - 1 - i];
		for (unsigned b = 0; b < 32; b++)
			if (v & (1u << b))
				set.set(static_cast<unsigned>(i * 32 + b));
	}
	*out = set;
	return true;
}

std::string CpuSet::to_list() const
{
	std::string out;
	unsigned n = span();
	for (unsigned c = 0; c < n; c++) {
		if (!bits_[c])
			continue;
		unsigned e = c;
		while (e + 1 < n && bits_[e + 1])
			e++;
		if (!out.empty())
			out += ',';
		out += std::to_string(c);
		if (e > c)
			out += "-" + std::to_string(e);
		c = e;
	}
	return out;
}

std::string CpuSet::to_mask(unsigned nbits) const
{
	if (nbits == 0)
		nbits = 1;
	static const char hex[] = "0123456789abcdef";
	unsigned ngroups = (nbits + 31) / 32;
	std::string out;
	for (unsigned gi = ngroups; gi-- > 0;) {
		std::uint32_t v = 0;
		for (unsigned b = 0; b < 32; b++) {
			unsigned cpu = gi * 32 + b;
			if (cpu < nbits && test(cpu))
				v |= 1u << b;
		}
		unsigned digits = 8;
		if (gi == ngroups - 1) {
			unsigned bits = nbits % 32 ? nbits % 32 : 32;
			digits = (bits + 3) / 4;
		}
		if (!out.empty())
			out += ',';
		for (unsigned d = digits; d-- > 0;)
			out += hex[(v >> (d * 4)) & 0xf];
	}
	return out;
}

void CpuSet::set(unsigned cpu)
{
	if (cpu >= bits_.size())
		bits_.resize(cpu + 1, false);
	bits_[cpu] = true;
}

void CpuSet::clear(unsigned cpu)
{
	if (cpu < bits_.size())
		bits_[cpu] = false;
	trim();
}

bool CpuSet::test(unsigned cpu) const
{
	return cpu < bits_.size() && bits_[cpu];
}

bool CpuSet::empty() const
{
	return span() == 0;
}

std::size_t CpuSet::count() const
{
	std::size_t n = 0;
	for (bool b : bits_)
		n += b;
	return n;
}

unsigned CpuSet::span() const
{
	unsigned n = static_cast<unsigned>(bits_.size());
	while (n > 0 && !bits_[n - 1])
		n--;
	return n;
}

std::vector<unsigned> CpuSet::cpus() const
{
	std::vector<unsigned> v;
	for (unsigned c = 0; c < bits_.size(); c++)
		if (bits_[c])
			v.push_back(c);
	return v;
}

CpuSet CpuSet::intersect(const CpuSet &other) const
{
	CpuSet r;
	for (unsigned c : cpus())
		if (other.test(c))
			r.set(c);
	return r;
}

CpuSet CpuSet::without(const CpuSet &other) const
{
	CpuSet r;
	for (unsigned c : cpus())
		if (!other.test(c))
			r.set(c);
	return r;
}

bool CpuSet::operator==(const CpuSet &o) const
{
	unsigned n = span();
	if (n != o.span())
		return false;
	for (unsigned c = 0; c < n; c++)
		if (bits_[c] != o.bits_[c])
			return false;
	return true;
}

void CpuSet::trim()
{
	bits_.resize(span());
}

bool parse_isolcpus(const std::string &value, CpuSet *out, std::string *err)
{
	// Flags come first; the list starts at the first item that is not one.
	std::size_t pos = 0;
	while (pos < value.size()) {
		std::size_t comma = value.find(',', pos);
		std::string item = value.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
		if (item != "nohz" && item != "domain" && item != "managed_irq")
			break;
		pos = comma == std::string::npos ? value.size() : comma + 1;
	}
	std::string list = value.substr(pos);
	if (list.empty()) {
		*err = "isolcpus='" + excerpt(value) + "' names no CPU";
		return false;
	}
	return CpuSet::parse_list(list, out, err);
}

IsolatedCpus read_isolated_cpus(const Root &root)
{
	IsolatedCpus r;
	bool sysfs = false;
	for (const char *f : {"/sys/devices/system/cpu/isolated", "/sys/devices/system/cpu/nohz_full"}) {
		auto v = root.read_trimmed(f);
		if (!v)
			continue;
		sysfs = true;
		if (v->empty() || *v == "(null)") // nohz_full of kernels without it set
			continue;
		CpuSet s;
		std::string err;
		if (!CpuSet::parse_list(*v, &s, &err)) {
			r.problems.push_back(std::string(f) + ": " + err);
			continue;
		}
		for (unsigned c : s.cpus())
			r.cpus.set(c);
		r.source += (r.source.empty() ? "" : ", ") + std::string(f);
	}
	if (sysfs)
		return r;
	auto cmdline = read_regular_file(root.path("/proc/cmdline"), kMaxCmdlineBytes, nullptr);
	if (!cmdline)
		return r;
	std::size_t pos = 0;
	const std::string &c = *cmdline;
	while (pos < c.size()) {
		std::size_t end = c.find_first_of(" \t\n", pos);
		std::string word = c.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
		pos = end == std::string::npos ? c.size() : end + 1;
		bool iso = word.compare(0, 9, "isolcpus=") == 0, nohz = word.compare(0, 10, "nohz_full=") == 0;
		if (!iso && !nohz)
			continue;
		CpuSet s;
		std::string err;
		bool ok = iso ? parse_isolcpus(word.substr(9), &s, &err) : CpuSet::parse_list(word.substr(10), &s, &err);
		if (!ok) {
			r.problems.push_back("/proc/cmdline: " + err);
			continue;
		}
		for (unsigned cpu : s.cpus())
			r.cpus.set(cpu);
		r.source = "/proc/cmdline";
	}
	return r;
}

} // namespace fsock
