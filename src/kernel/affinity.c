// SPDX-License-Identifier: GPL-2.0
/*
 * CPU slots for spawning workers.
 *
 * Each listen group has one slot per CPU.  Mode 2 (enable_listen_spawn=2)
 * picks a free CPU among the task's allowed CPUs (cpusets and
 * non-contiguous ids included) and pins the task to it; a task that already
 * holds a slot in any group keeps its CPU.  Mode 1 takes the one CPU the
 * application pinned the task to.  No free CPU: -EBUSY, the task keeps
 * running unpinned and uses the global listener.
 *
 * The worker table below remembers each task's CPU across groups; every
 * function here runs with fsocket_listen_lock held.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/list.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "fsocket.h"
#include "listen.h"
#include "log.h"

struct fsocket_worker {
	struct list_head node;
	struct pid *pid;
	int cpu;
	unsigned int nr_slots;
};

static LIST_HEAD(fsocket_workers);

static struct fsocket_worker *fsocket_worker_find(struct pid *pid)
{
	struct fsocket_worker *w;

	list_for_each_entry(w, &fsocket_workers, node) {
		if (w->pid == pid)
			return w;
	}
	return NULL;
}

static bool fsocket_slot_free(struct fsocket_group *g, int cpu)
{
	return !rcu_access_pointer(g->local[cpu]);
}

int fsocket_affinity_pick(struct fsocket_group *g, int want)
{
	const struct cpumask *allowed = current->cpus_ptr;
	struct fsocket_worker *w;
	int cpu;

	if (want >= 0 && (want >= nr_cpu_ids || !cpu_online(want) ||
			  !cpumask_test_cpu(want, allowed)))
		return -EINVAL;

	if (fsocket_enable_listen_spawn == 1) {
		/* The application pins its workers itself. */
		if (cpumask_weight(allowed) != 1)
			return -EINVAL;
		cpu = cpumask_first(allowed);
		if (want >= 0 && want != cpu)
			return -EINVAL;
		return fsocket_slot_free(g, cpu) ? cpu : -EBUSY;
	}

	w = fsocket_worker_find(task_pid(current));
	if (w) {
		if (want >= 0 && want != w->cpu)
			return -EINVAL;
		return fsocket_slot_free(g, w->cpu) ? w->cpu : -EBUSY;
	}
	if (want >= 0)
		return fsocket_slot_free(g, want) ? want : -EBUSY;

	/* Stay where we run if that CPU is free, else the first free one. */
	cpu = raw_smp_processor_id();
	if (cpumask_test_cpu(cpu, allowed) && cpu_online(cpu) &&
	    fsocket_slot_free(g, cpu))
		return cpu;
	for_each_cpu_and(cpu, allowed, cpu_online_mask) {
		if (fsocket_slot_free(g, cpu))
			return cpu;
	}
	return -EBUSY;
}

int fsocket_affinity_pin(int cpu)
{
	if (fsocket_enable_listen_spawn != 2)
		return 0;
	return set_cpus_allowed_ptr(current, cpumask_of(cpu));
}

int fsocket_worker_get(struct pid *pid, int cpu)
{
	struct fsocket_worker *w = fsocket_worker_find(pid);

	if (w) {
		w->nr_slots++;
		return 0;
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->pid = get_pid(pid);
	w->cpu = cpu;
	w->nr_slots = 1;
	list_add(&w->node, &fsocket_workers);
	return 0;
}

void fsocket_worker_put(struct pid *pid)
{
	struct fsocket_worker *w = fsocket_worker_find(pid);

	if (WARN_ON_ONCE(!w))
		return;
	if (--w->nr_slots)
		return;
	list_del(&w->node);
	put_pid(w->pid);
	kfree(w);
}

void fsocket_workers_release(void)
{
	struct fsocket_worker *w, *tmp;

	list_for_each_entry_safe(w, tmp, &fsocket_workers, node) {
		list_del(&w->node);
		put_pid(w->pid);
		kfree(w);
	}
}
