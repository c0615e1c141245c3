// SPDX-License-Identifier: GPL-2.0
#include "tuning/tuning.h"
#include "system/tuned.h"

#include "tuning/rfd_steering.h"

namespace fsock {

CpuSet resolve_cpus(const PlanInput &in, const CpuSpec &spec, const Interface *iface, const std::string &key)
{
	switch (spec.kind) {
	case CpuSpec::Kind::All:
		return in.topo.online.without(in.isolated);
	case CpuSpec::Kind::NumaLocal: {
		CpuSet usable = in.topo.online.without(in.isolated);
		if (!iface || iface->numa_node < 0)
			return usable;
		CpuSet s = node_cpus(in.root, iface->numa_node).intersect(usable);
		return s.empty() ? usable : s;
	}
	case CpuSpec::Kind::List: {
		CpuSet s = spec.list.intersect(in.topo.online);
		if (s != spec.list) {
			CpuSet off;
			for (unsigned c : spec.list.cpus())
				if (!in.topo.online.test(c))
					off.set(c);
			throw PlanError(spec.origin.str() + ": " + key + ": CPUs " + off.to_list() +
					" are not online (online: " + in.topo.online.to_list() + ")");
		}
		return s;
	}
	}
	return in.topo.online;
}

void add_change(const PlanInput &in, Plan *plan, const std::string &area, const std::string &target,
		const std::string &path, const std::string &next, ValueKind kind, const std::string &note)
{
	int err = 0;
	std::string why;
	auto cur = in.root.read(path, &err, &why);
	if (!cur) {
		if (err == ENOENT) {
			plan->warnings.push_back(area + ": " + target + ": " + path +
						 " does not exist on this kernel; skipped");
			return;
		}
		throw PlanError("cannot read " + why);
	}
	Change c;
	c.area = area;
	c.target = target;
	c.path = path;
	c.existed = true;
	c.current = *cur;
	c.next = next;
	c.kind = kind;
	c.note = note;
	plan->changes.push_back(c);
}

namespace {

// `all` and `numa-local` leave isolated / nohz_full CPUs out; the plan says so.
void exclude_isolated_cpus(const Root &root, const Profile &profile, PlanInput *in, Plan *plan)
{
	IsolatedCpus iso = read_isolated_cpus(root);
	for (const auto &p : iso.problems)
		plan->warnings.push_back("isolated CPUs: " + p + "; ignored");
	CpuSet isolated = iso.cpus.intersect(plan->topo.online);
	if (isolated.empty())
		return;
	bool uses_all = false;
	for (const Profile::Steering *s : {&profile.rps, &profile.xps, &profile.irq})
		uses_all |= s->enabled && s->cpus.kind != CpuSpec::Kind::List;
	if (!uses_all)
		return;
	CpuSet rest = plan->topo.online.without(isolated);
	if (rest.empty()) {
		plan->warnings.push_back("every online CPU is isolated (" + isolated.to_list() + ", " + iso.source +
					 "): `all` keeps them all");
		return;
	}
	in->isolated = isolated;
	plan->notes.push_back("cpus: isolated/nohz_full CPUs " + isolated.to_list() + " (" + iso.source +
			      ") are left out of `all` and `numa-local`: using " + rest.to_list());
}

} // namespace

Plan build_plan(const Root &root, const Profile &profile, const ModuleControl &mod)
{
	Plan plan;
	plan.profile_name = profile.name;
	plan.profile_file = profile.file;
	std::string err;
	if (!read_topology(root, &plan.topo, &err))
		throw PlanError(err);
	bool needs_ifaces = profile.rps.enabled || profile.rfs.enabled || profile.xps.enabled || profile.irq.enabled ||
			    profile_wants_rfd(profile);
	if (needs_ifaces) {
		if (!select_interfaces(root, profile.interfaces, &plan.interfaces, &err))
			throw PlanError((profile.interfaces_origin.line ? profile.interfaces_origin.str() + ": interfaces: "
									: std::string("interfaces: ")) +
					err);
		if (plan.interfaces.empty())
			plan.warnings.push_back("no interface matches 'interfaces' in the profile; "
						"no queue or IRQ is tuned");
	}
	PlanInput in{root, profile, plan.topo, plan.interfaces};
	exclude_isolated_cpus(root, profile, &in, &plan);
	plan_sysctl(in, &plan);
	plan_rfs_global(in, &plan);
	for (const auto &i : plan.interfaces) {
		plan_rps(in, i, &plan);
		plan_rfs_queues(in, i, &plan);
		plan_xps(in, i, &plan);
	}
	plan_irq(in, &plan);
	plan_irqbalance(in, &plan);
	plan_modprobe(in, mod, &plan);
	plan_rfd_steering(in, &plan);
	add_tuned_warnings(root, &plan);
	return plan;
}

} // namespace fsock
