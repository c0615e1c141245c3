// SPDX-License-Identifier: GPL-2.0
// Turning a profile into a plan.  One planner per concern (sysctl.cpp,
// rfs.cpp, rps.cpp, xps.cpp, irq.cpp, modprobe.cpp); each appends the
// changes it wants, reading the current values through the Root.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "profile/profile.h"
#include "system/module_control.h"
#include "system/root.h"
#include "tuning/change.h"

namespace fsock {

// A profile that cannot be applied to this system (CPUs offline, ...).
class PlanError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

struct PlanInput {
	const Root &root;
	const Profile &profile;
	const Topology &topo;
	const std::vector<Interface> &interfaces;
	// Isolated / nohz_full CPUs (system/cpuset.h): left out of `all` and
	// `numa-local`, never out of an explicit list.
	CpuSet isolated = {};
};

// The CPUs a CpuSpec means on this system (for `numa-local`, near `iface`).
CpuSet resolve_cpus(const PlanInput &in, const CpuSpec &spec, const Interface *iface, const std::string &key);

// Reads the current value of `path` and appends the change; a missing file
// becomes a warning ("not available on this kernel") and no change.
void add_change(const PlanInput &in, Plan *plan, const std::string &area, const std::string &target,
		const std::string &path, const std::string &next, ValueKind kind, const std::string &note = "");

void plan_sysctl(const PlanInput &in, Plan *plan);
void plan_rfs_global(const PlanInput &in, Plan *plan);
void plan_rps(const PlanInput &in, const Interface &iface, Plan *plan);
void plan_rfs_queues(const PlanInput &in, const Interface &iface, Plan *plan);
void plan_xps(const PlanInput &in, const Interface &iface, Plan *plan);
// Queue IRQs of every interface at once, so several NICs share the CPUs out
// instead of each putting its queue i on the same CPU i.
void plan_irq(const PlanInput &in, Plan *plan);

// Picks a CPU per queue IRQ across NICs: the least used CPU of the allowed
// set, NUMA-local ones first among equals, then in CPU order.
class IrqCpuAllocator {
public:
	unsigned pick(const CpuSet &allowed, const CpuSet &local);

private:
	std::map<unsigned, unsigned> used_; // CPU -> IRQ queues given to it
};
void plan_irqbalance(const PlanInput &in, Plan *plan);
void plan_modprobe(const PlanInput &in, const ModuleControl &mod, Plan *plan);

// The interrupts of an interface's queues.
struct QueueIrq {
	unsigned irq;
	unsigned queue;
	std::string name; // from /proc/interrupts, or "msi" when found via msi_irqs
};
std::vector<QueueIrq> find_queue_irqs(const Root &root, const Interface &iface);

// The whole pipeline step: throws PlanError.
Plan build_plan(const Root &root, const Profile &profile, const ModuleControl &mod);

// Text of the modprobe.d file for a profile.
std::string modprobe_conf_text(const Profile &profile);

} // namespace fsock
