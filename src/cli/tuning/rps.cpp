// SPDX-License-Identifier: GPL-2.0
// RPS: which CPUs process the packets of each receive queue.
#include "tuning/tuning.h"

namespace fsock {

void plan_rps(const PlanInput &in, const Interface &iface, Plan *plan)
{
	if (!in.profile.rps.enabled)
		return;
	CpuSet cpus = resolve_cpus(in, in.profile.rps.cpus, &iface, "rps.cpus");
	std::string mask = cpus.to_mask(in.topo.nr_cpu_ids);
	for (unsigned q : iface.rx) {
		std::string dir = "/sys/class/net/" + iface.name + "/queues/rx-" + std::to_string(q);
		add_change(in, plan, "rps", iface.name + " rx-" + std::to_string(q), dir + "/rps_cpus", mask + "\n",
			   ValueKind::Mask);
	}
}

} // namespace fsock
