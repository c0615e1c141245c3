// SPDX-License-Identifier: GPL-2.0
// XPS: transmit queue i is used by the CPUs at positions i, i+n, i+2n ... of
// the chosen CPUs (n tx queues); with more queues than CPUs, queue i gets
// CPU i mod #cpus.
#include "tuning/tuning.h"

namespace fsock {

void plan_xps(const PlanInput &in, const Interface &iface, Plan *plan)
{
	if (!in.profile.xps.enabled || iface.tx.empty())
		return;
	std::vector<unsigned> cpus = resolve_cpus(in, in.profile.xps.cpus, &iface, "xps.cpus").cpus();
	std::size_t ntx = iface.tx.size();
	for (std::size_t i = 0; i < ntx; i++) {
		CpuSet s;
		if (cpus.size() >= ntx) {
			for (std::size_t j = i; j < cpus.size(); j += ntx)
				s.set(cpus[j]);
		} else {
			s.set(cpus[i % cpus.size()]);
		}
		unsigned q = iface.tx[i];
		std::string dir = "/sys/class/net/" + iface.name + "/queues/tx-" + std::to_string(q);
		add_change(in, plan, "xps", iface.name + " tx-" + std::to_string(q), dir + "/xps_cpus",
			   s.to_mask(in.topo.nr_cpu_ids) + "\n", ValueKind::Mask);
	}
}

} // namespace fsock
