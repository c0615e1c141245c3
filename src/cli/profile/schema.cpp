// SPDX-License-Identifier: GPL-2.0
#include "profile/schema.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>

#include "fastsocket_params.h"
#include "system/cpuset.h"

namespace fsock {

bool parse_long(const std::string &s, long *out)
{
	if (s.empty())
		return false;
	std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
	if (i == s.size())
		return false;
	for (std::size_t j = i; j < s.size(); j++)
		if (s[j] < '0' || s[j] > '9')
			return false;
	errno = 0;
	long v = std::strtol(s.c_str(), nullptr, 10);
	if (errno == ERANGE)
		return false;
	*out = v;
	return true;
}

std::vector<std::string> sysctl_words(const PNode &n)
{
	std::vector<std::string> words;
	if (n.is_seq()) {
		for (const auto &i : n.seq)
			words.push_back(i.scalar);
		return words;
	}
	std::string cur;
	for (char c : n.scalar + " ") {
		if (c == ' ' || c == '\t') {
			if (!cur.empty())
				words.push_back(cur);
			cur.clear();
		} else {
			cur += c;
		}
	}
	return words;
}

std::string canonical_sysctl_value(const PNode &n)
{
	std::string out;
	for (const auto &w : sysctl_words(n)) {
		long v = 0;
		// Validated before: every word is a decimal integer.  "010" is
		// written as 10 (the kernel would read 010 as octal 8) and
		// "+1024" as 1024 (the kernel refuses the sign).
		std::string word = parse_long(w, &v) ? std::to_string(v) : w;
		out += (out.empty() ? "" : " ") + word;
	}
	return out;
}

bool is_power_of_two(long v)
{
	return v > 0 && (v & (v - 1)) == 0;
}

namespace {

// UTF-8 characters (a lead byte and its continuation bytes), so that
// "vérsion" is one substitution away from "version", not two.
std::vector<std::string> characters(const std::string &s)
{
	std::vector<std::string> out;
	for (unsigned char c : s) {
		if ((c & 0xc0) == 0x80 && !out.empty())
			out.back() += static_cast<char>(c);
		else
			out.emplace_back(1, static_cast<char>(c));
	}
	return out;
}

} // namespace

std::size_t edit_distance(const std::string &a_text, const std::string &b_text)
{
	std::vector<std::string> a = characters(a_text), b = characters(b_text);
	std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
	for (std::size_t j = 0; j <= b.size(); j++)
		prev[j] = j;
	for (std::size_t i = 1; i <= a.size(); i++) {
		cur[0] = i;
		for (std::size_t j = 1; j <= b.size(); j++) {
			std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
			cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
		}
		std::swap(prev, cur);
	}
	return prev[b.size()];
}

std::string nearest(const std::string &word, const std::vector<std::string> &candidates)
{
	std::string best;
	std::size_t best_d = SIZE_MAX;
	// Keys are up to 4 KB and there can be thousands: no key name is
	// anywhere near 64 bytes, so a longer word is nobody's typo.
	if (word.size() > 64)
		return "";
	for (const auto &c : candidates) {
		// "tcp_tw_reuse" for "net.ipv4.tcp_tw_reuse": the last component matches.
		std::size_t dot = c.find_last_of('.');
		if (dot != std::string::npos && c.substr(dot + 1) == word)
			return c;
		std::size_t d = edit_distance(word, c);
		if (d < best_d) {
			best_d = d;
			best = c;
		}
	}
	std::size_t limit = std::max<std::size_t>(2, characters(word).size() / 3);
	return best_d <= limit ? best : "";
}

namespace {

std::string scalar_problem(const PNode &n, const char *what)
{
	if (n.is_scalar())
		return "";
	return std::string("expected ") + what + " (found " + n.describe() + ")";
}

std::function<std::string(const PNode &)> int_range(long min, long max)
{
	return [min, max](const PNode &n) -> std::string {
		std::string p = scalar_problem(n, "an integer");
		if (!p.empty())
			return p;
		long v;
		if (n.quoted || !parse_long(n.scalar, &v))
			return "not an integer";
		if (v < min || v > max)
			return "value out of range";
		return "";
	};
}

std::string check_bool(const PNode &n)
{
	std::string p = scalar_problem(n, "true or false");
	if (!p.empty())
		return p;
	if (n.quoted || (n.scalar != "true" && n.scalar != "false"))
		return "not a boolean";
	return "";
}

std::string check_string(const PNode &n)
{
	return scalar_problem(n, "a string");
}

std::string check_cpus(const PNode &n)
{
	std::string p = scalar_problem(n, "a CPU list");
	if (!p.empty())
		return p;
	if (n.scalar == "all" || n.scalar == "numa-local")
		return "";
	CpuSet s;
	std::string err;
	if (!CpuSet::parse_list(n.scalar, &s, &err))
		return "invalid CPU list: " + err;
	if (s.empty())
		return "empty CPU list";
	return "";
}

bool valid_ifname(const std::string &s)
{
	if (s.empty() || s.size() > 64)
		return false;
	// As the kernel's dev_valid_name(): no '/', ':' or white space;
	// no control bytes either (they would end up in messages).
	for (unsigned char c : s)
		if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
			return false;
	return true;
}

std::string check_interfaces(const PNode &n)
{
	if (n.is_scalar())
		return valid_ifname(n.scalar) ? "" : "invalid interface name or pattern";
	if (n.is_seq()) {
		if (n.seq.empty())
			return "empty list of interfaces";
		for (const auto &i : n.seq)
			if (!i.is_scalar() || !valid_ifname(i.scalar))
				return "invalid interface name or pattern '" + i.describe() + "'";
		return "";
	}
	return "expected an interface name, pattern or list (found " + n.describe() + ")";
}

std::string check_flow_entries(const PNode &n)
{
	std::string p = int_range(0, 1L << 29)(n);
	if (!p.empty())
		return p;
	long v = 0;
	parse_long(n.scalar, &v);
	if (v != 0 && !is_power_of_two(v))
		return "not a power of two (the kernel rounds it up)";
	return "";
}

std::string check_flow_cnt(const PNode &n)
{
	// A word may be quoted ("auto", like cpus: "all"); a number may not.
	if (n.is_scalar() && n.scalar == "auto")
		return "";
	return check_flow_entries(n);
}

std::string check_sysctl_value(const SysctlSpec &s, const PNode &n)
{
	if (!s.pair)
		return int_range(s.min, s.max)(n);
	if (!n.is_seq() && !n.is_scalar())
		return "expected \"LOW HIGH\" (found " + n.describe() + ")";
	for (const auto &i : n.seq)
		if (!i.is_scalar())
			return "expected two port numbers";
	std::vector<std::string> parts = sysctl_words(n);
	long lo, hi;
	if (parts.size() != 2 || !parse_long(parts[0], &lo) || !parse_long(parts[1], &hi))
		return "expected two port numbers \"LOW HIGH\"";
	if (lo < s.min || hi > s.max || lo > hi)
		return "invalid port range";
	return "";
}

Field value(const std::string &name, const std::string &allowed, const std::string &desc,
	    std::function<std::string(const PNode &)> check)
{
	Field f;
	f.name = name;
	f.allowed = allowed;
	f.description = desc;
	f.check = std::move(check);
	return f;
}

Field section(const std::string &name, const std::string &desc, std::vector<Field> children)
{
	Field f;
	f.name = name;
	f.description = desc;
	f.is_map = true;
	f.children = std::move(children);
	return f;
}

const char *kCpusAllowed = "all, numa-local, or a CPU list like 0-3,8,10-11";

Field build_schema()
{
	std::vector<Field> params;
#define X(name, def, min, max, allowed, desc) \
	params.push_back(value(#name, allowed, desc, int_range(min, max)));
	FSOCKET_PARAMS(X)
#undef X

	std::vector<Field> sysctls;
	for (const auto &s : known_sysctls()) {
		std::string allowed = s.pair ? "\"LOW HIGH\" with " + std::to_string(s.min) + " <= LOW <= HIGH <= " +
						       std::to_string(s.max)
					     : std::to_string(s.min) + ".." + std::to_string(s.max);
		SysctlSpec spec = s;
		sysctls.push_back(value(s.name, allowed, s.why,
					[spec](const PNode &n) { return check_sysctl_value(spec, n); }));
	}

	return section("", "a fastsocket profile", {
		value("version", "1", "schema version of the profile (required)", int_range(1, 1)),
		value("include", "a profile name or path, or a list of them",
		      "profiles merged first; this file's values win", check_string),
		value("description", "any text", "what the profile is for", check_string),
		value("interfaces", "all-physical, interface names, globs like eth*, or a list of them",
		      "interfaces whose queues and IRQs are tuned (default all-physical)", check_interfaces),
		section("module", "fastsocket.ko: parameters written to /etc/modprobe.d/fastsocket.conf", {
			value("load", "true or false", "load or reload the module when its parameters change (default true)",
			      check_bool),
			section("parameters", "module parameters (see modinfo fastsocket)", params),
		}),
		section("rps", "Receive Packet Steering: rx-N/rps_cpus", {
			value("enabled", "true or false", "manage RPS (default true when the section exists)", check_bool),
			value("cpus", kCpusAllowed, "CPUs that process received packets", check_cpus),
		}),
		section("rfs", "Receive Flow Steering: net.core.rps_sock_flow_entries and rx-N/rps_flow_cnt", {
			value("enabled", "true or false", "manage RFS (default true when the section exists)", check_bool),
			value("flow_entries", "0 or a power of two up to 536870912",
			      "global socket flow table size (net.core.rps_sock_flow_entries)", check_flow_entries),
			value("flow_cnt", "auto, 0 or a power of two up to 536870912",
			      "per rx queue flow table size; auto = flow_entries / rx queues", check_flow_cnt),
		}),
		section("xps", "Transmit Packet Steering: tx-N/xps_cpus", {
			value("enabled", "true or false", "manage XPS (default true when the section exists)", check_bool),
			value("cpus", kCpusAllowed, "CPUs spread over the tx queues round-robin", check_cpus),
		}),
		section("irq", "queue interrupts: /proc/irq/N/smp_affinity_list", {
			value("enabled", "true or false", "manage IRQ affinity (default true when the section exists)",
			      check_bool),
			value("cpus", kCpusAllowed, "queue i's interrupts go to the i-th of these CPUs (round-robin)",
			      check_cpus),
		}),
		section("sysctl", "kernel settings under /proc/sys for short-lived connections", sysctls),
	});
}

void describe_field(const Field &f, const std::string &prefix, int depth, std::string *out)
{
	for (const auto &c : f.children) {
		std::string path = prefix.empty() ? c.name : prefix + "." + c.name;
		*out += std::string(static_cast<std::size_t>(depth) * 2, ' ') + c.name + ":";
		if (c.is_map) {
			*out += "  # " + c.description + "\n";
			describe_field(c, path, depth + 1, out);
		} else {
			*out += " " + c.allowed + "\n" + std::string(static_cast<std::size_t>(depth) * 2 + 4, ' ') +
				"# " + c.description + "\n";
		}
	}
}

} // namespace

const std::vector<SysctlSpec> &known_sysctls()
{
	static const std::vector<SysctlSpec> v = {
		{"net.core.somaxconn", 1, INT_MAX, false, "upper bound of every listen() backlog"},
		{"net.core.netdev_max_backlog", 1, INT_MAX, false, "per-CPU input queue length (RPS queues packets here)"},
		{"net.core.netdev_budget", 1, INT_MAX, false, "packets processed per NAPI softirq round"},
		{"net.core.busy_poll", 0, INT_MAX, false, "busy-poll microseconds for poll/select"},
		{"net.core.busy_read", 0, INT_MAX, false, "busy-poll microseconds for blocking reads"},
		{"net.ipv4.tcp_tw_reuse", 0, 2, false, "reuse TIME-WAIT sockets for new outgoing connections (2 = loopback only)"},
		{"net.ipv4.ip_local_port_range", 1, 65535, true, "ephemeral ports for outgoing connections"},
		{"net.ipv4.tcp_max_syn_backlog", 1, INT_MAX, false, "half-open connections queued per listener"},
		{"net.ipv4.tcp_fin_timeout", 1, 120, false, "seconds an orphaned connection stays in FIN-WAIT-2"},
		{"net.ipv4.tcp_max_tw_buckets", 0, INT_MAX, false, "TIME-WAIT sockets kept system-wide"},
		{"net.ipv4.tcp_migrate_req", 0, 1, false, "move queued requests to another SO_REUSEPORT listener when one closes (5.14+)"},
		{"net.ipv4.tcp_early_demux", 0, 1, false, "look up the socket early on receive (upstream of enable_direct_tcp)"},
		{"net.ipv4.tcp_syncookies", 0, 2, false, "SYN cookies when the SYN queue overflows"},
		{"net.ipv4.tcp_abort_on_overflow", 0, 1, false, "reset connections when the accept queue is full"},
		{"net.ipv4.tcp_slow_start_after_idle", 0, 1, false, "restart slow start on idle connections"},
	};
	return v;
}

const Field &profile_schema()
{
	static const Field schema = build_schema();
	return schema;
}

std::string schema_reference()
{
	std::string out;
	describe_field(profile_schema(), "", 0, &out);
	return out;
}

} // namespace fsock
