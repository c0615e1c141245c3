// SPDX-License-Identifier: GPL-2.0
// sysctls under /proc/sys, including the upstream settings that stand in for
// module parameters with no stock-kernel implementation of their own.
#include <algorithm>

#include "tuning/tuning.h"

namespace fsock {

static std::string sysctl_path(const std::string &name)
{
	std::string p = "/proc/sys/" + name;
	std::replace(p.begin() + 10, p.end(), '.', '/');
	return p;
}

void plan_sysctl(const PlanInput &in, Plan *plan)
{
	for (const auto &kv : in.profile.sysctl)
		add_change(in, plan, "sysctl", kv.first, sysctl_path(kv.first), kv.second + "\n", ValueKind::Words);

	// enable_direct_tcp: the upstream equivalent is TCP early demux.
	for (const auto &p : in.profile.module.params) {
		if (p.first != "enable_direct_tcp" || p.second != 1)
			continue;
		bool explicit_set = std::any_of(in.profile.sysctl.begin(), in.profile.sysctl.end(),
						[](const auto &kv) { return kv.first == "net.ipv4.tcp_early_demux"; });
		if (!explicit_set)
			add_change(in, plan, "sysctl", "net.ipv4.tcp_early_demux",
				   sysctl_path("net.ipv4.tcp_early_demux"), "1\n", ValueKind::Words,
				   "upstream equivalent of enable_direct_tcp=1");
	}
}

} // namespace fsock
