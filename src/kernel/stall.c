// SPDX-License-Identifier: GPL-2.0
/*
 * Backpressure: a worker that stops accepting hands its CPU back.
 *
 * A joined listener whose worker keeps it registered but no longer accepts
 * (blocked, overloaded, an old master waiting for its new binary) would keep
 * catching its CPU's connections, which then wait for it.  Every
 * FSOCKET_STALL_PERIOD the namespace's listeners are looked at: a listener
 * with connections queued and none taken from its queue for FSOCKET_STALL_AFTER
 * is stalled, and the group's program sends its CPU to the registered
 * listener (the other workers) until the worker takes a connection again.
 * What was queued stays queued for it, as without the module.
 *
 * Taken from the queue = queued so far (counted by the sk_data_ready
 * observer, watch.c) minus still queued (sk_ack_backlog).  A listener the
 * observer does not count is never judged.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <net/sock.h>

#include "compat.h"
#include "fsocket.h"
#include "listen.h"

#define FSOCKET_STALL_PERIOD	(HZ / 4)
#define FSOCKET_STALL_AFTER	HZ

/* Has the slot's state changed (stalled <-> serving)?  fn->lock held. */
static bool fsocket_slot_judge(struct fsocket_slot *l, unsigned long now)
{
	struct sock *sk = l->m.sk;
	u32 queued_now = READ_ONCE(sk->sk_ack_backlog);
	u64 taken = (u64)atomic64_read(&l->queued) - queued_now;

	if (!l->m.watched)
		return false;
	if (taken != l->taken || !queued_now) {
		l->taken = taken;
		l->progress = now;
		if (l->stalled) {
			l->stalled = false;
			fsocket_stat_add(sock_net(sk), FSOCKET_STAT_RESUMED, 1);
			return true;
		}
		return false;
	}
	if (!l->stalled && time_after_eq(now, l->progress + FSOCKET_STALL_AFTER)) {
		l->stalled = true;
		fsocket_stat_add(sock_net(sk), FSOCKET_STAT_STALLED, 1);
		return true;
	}
	return false;
}

void fsocket_stall_work(struct work_struct *work)
{
	struct fsocket_net *fn = container_of(to_delayed_work(work),
					      struct fsocket_net, stall);
	unsigned long now = jiffies;
	struct fsocket_group *g;
	bool again = false;
	unsigned int cpu;

	mutex_lock(&fn->lock);
	list_for_each_entry(g, &fn->groups, node) {
		bool changed = false;

		if (g->dead || g->foreign || !g->nr_slots)
			continue;
		again = true;
		for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct fsocket_slot *l = fsocket_slot(g, cpu);

			if (l && fsocket_slot_judge(l, now))
				changed = true;
		}
		if (changed)
			fsocket_steer(g);
	}
	if (again)
		queue_delayed_work(fs_compat_wq(), &fn->stall, FSOCKET_STALL_PERIOD);
	mutex_unlock(&fn->lock);
}

/* A listener joined: look at the namespace's listeners from now on. */
void fsocket_stall_arm(struct fsocket_net *fn)
{
	queue_delayed_work(fs_compat_wq(), &fn->stall, FSOCKET_STALL_PERIOD);
}
