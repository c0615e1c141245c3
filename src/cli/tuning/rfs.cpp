// SPDX-License-Identifier: GPL-2.0
// RFS: the global socket flow table and each receive queue's flow table
// (Documentation/networking/scaling.rst: rps_flow_cnt = entries / queues).
#include "tuning/tuning.h"

namespace fsock {

static long roundup_pow2(long v)
{
	long r = 1;
	while (r < v)
		r <<= 1;
	return r;
}

void plan_rfs_global(const PlanInput &in, Plan *plan)
{
	if (!in.profile.rfs.enabled)
		return;
	add_change(in, plan, "rfs", "net.core.rps_sock_flow_entries", "/proc/sys/net/core/rps_sock_flow_entries",
		   std::to_string(in.profile.rfs.flow_entries) + "\n", ValueKind::Words);
}

void plan_rfs_queues(const PlanInput &in, const Interface &iface, Plan *plan)
{
	if (!in.profile.rfs.enabled || iface.rx.empty())
		return;
	long cnt = in.profile.rfs.flow_cnt;
	std::string note;
	if (cnt < 0) {
		long entries = in.profile.rfs.flow_entries;
		cnt = entries == 0 ? 0 : roundup_pow2(std::max<long>(1, entries / static_cast<long>(iface.rx.size())));
		note = "auto: " + std::to_string(entries) + " / " + std::to_string(iface.rx.size()) + " queues";
	}
	for (unsigned q : iface.rx) {
		std::string dir = "/sys/class/net/" + iface.name + "/queues/rx-" + std::to_string(q);
		add_change(in, plan, "rfs", iface.name + " rx-" + std::to_string(q), dir + "/rps_flow_cnt",
			   std::to_string(cnt) + "\n", ValueKind::Words, note);
	}
}

} // namespace fsock
