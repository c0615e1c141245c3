// SPDX-License-Identifier: GPL-2.0
/*
 * Which CPU a JOIN gets.  The module never changes a task's affinity: it
 * only picks a CPU the calling thread may already run on; the caller pins
 * itself with sched_setaffinity() (where cpusets, security hooks and
 * PF_NO_SETAFFINITY apply).
 *
 * Mode 2 (enable_listen_spawn=2): the asked CPU, or a free one among the
 * thread's allowed online CPUs, the one it runs on first (a thread already
 * pinned for another group therefore gets the same CPU).  Mode 1: the one
 * CPU the application pinned the thread to.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/sched.h>
#include <linux/smp.h>

#include "fsocket.h"
#include "listen.h"

static bool fsocket_cpu_free(struct fsocket_group *g, int cpu)
{
	return !rcu_access_pointer(g->slots[cpu]);
}

int fsocket_pick_cpu(struct fsocket_group *g, int want)
{
	const struct cpumask *allowed = current->cpus_ptr;
	int cpu;

	if (want >= (int)nr_cpu_ids)
		return -EINVAL;
	if (READ_ONCE(fsocket_enable_listen_spawn) == 1) {
		if (cpumask_weight(allowed) != 1)
			return -EINVAL;
		cpu = cpumask_first(allowed);
		if (want >= 0 && want != cpu)
			return -EINVAL;
		return fsocket_cpu_free(g, cpu) ? cpu : -EEXIST;
	}
	if (want >= 0) {
		if (!cpu_online(want) || !cpumask_test_cpu(want, allowed))
			return -EINVAL;
		return fsocket_cpu_free(g, want) ? want : -EEXIST;
	}
	cpu = raw_smp_processor_id();
	if (cpumask_test_cpu(cpu, allowed) && cpu_online(cpu) &&
	    fsocket_cpu_free(g, cpu))
		return cpu;
	for_each_cpu_and(cpu, allowed, cpu_online_mask) {
		if (fsocket_cpu_free(g, cpu))
			return cpu;
	}
	return -EBUSY;
}
