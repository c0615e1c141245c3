// SPDX-License-Identifier: GPL-2.0
/*
 * Backpressure: a worker that stops accepting hands its CPU back.
 *
 * A joined listener whose worker keeps it registered but no longer accepts
 * (blocked, overloaded, an old master waiting for its new binary) would keep
 * catching its CPU's connections, which then wait for it.  Every
 * FSOCKET_STALL_PERIOD the namespace's listeners are looked at: a listener
 * with connections queued and none taken from its queue for FSOCKET_STALL_AFTER
 * is stalled: the group's program sends its CPU to the registered listener
 * (the other workers), and what waits in its accept queue moves there too,
 * as plain Linux would have queued it there (fsocket_slot_move).  It stays
 * so until the worker takes a connection from its listener again or says
 * it is back (JOIN of the same listener, which the library sends when it
 * accepts from the registered listener: fsocket_slot_alive).
 *
 * Taken from the queue = queued so far (counted by the sk_data_ready
 * observer, watch.c) minus moved minus still queued (sk_ack_backlog).  A
 * listener the observer does not count is never judged.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/tcp.h>
#include <net/inet_connection_sock.h>
#include <net/request_sock.h>
#include <net/sock.h>

#include "compat.h"
#include "fsocket.h"
#include "listen.h"

#define FSOCKET_STALL_PERIOD	(HZ / 4)
#define FSOCKET_STALL_AFTER	HZ

/* The head of sk's accept queue, unless it came by TCP Fast Open. */
static struct request_sock *fsocket_queue_take(struct sock *sk)
{
	struct request_sock_queue *q = &inet_csk(sk)->icsk_accept_queue;
	struct request_sock *req;

	spin_lock_bh(&q->rskq_lock);
	req = q->rskq_accept_head;
	/* A Fast Open request is also on sk's fastopen queue: it stays. */
	if (req && !tcp_rsk(req)->tfo_listener) {
		sk_acceptq_removed(sk);
		WRITE_ONCE(q->rskq_accept_head, req->dl_next);
		if (!q->rskq_accept_head)
			q->rskq_accept_tail = NULL;
	} else {
		req = NULL;
	}
	spin_unlock_bh(&q->rskq_lock);
	return req;
}

/*
 * Puts req at the tail of sk's accept queue (front: at its head, where it
 * was taken from), if sk listens: under the queue's lock, as the kernel's
 * inet_csk_reqsk_queue_add() (not exported by every kernel) does, so a
 * listener closing meanwhile drains it with the rest.
 */
static bool fsocket_queue_put(struct sock *sk, struct request_sock *req, bool front)
{
	struct request_sock_queue *q = &inet_csk(sk)->icsk_accept_queue;
	bool ok;

	spin_lock_bh(&q->rskq_lock);
	ok = READ_ONCE(sk->sk_state) == TCP_LISTEN;
	if (ok && front) {
		req->dl_next = q->rskq_accept_head;
		if (!q->rskq_accept_head)
			q->rskq_accept_tail = req;
		WRITE_ONCE(q->rskq_accept_head, req);
	} else if (ok) {
		req->dl_next = NULL;
		if (!q->rskq_accept_head)
			WRITE_ONCE(q->rskq_accept_head, req);
		else
			q->rskq_accept_tail->dl_next = req;
		q->rskq_accept_tail = req;
	}
	if (ok)
		sk_acceptq_added(sk);
	spin_unlock_bh(&q->rskq_lock);
	return ok;
}

/*
 * Moves the established connections waiting in sk's accept queue to gsk's
 * (what inet_csk_listen_stop() does with net.ipv4.tcp_migrate_req, without
 * closing sk).  sk is locked, so it cannot stop listening meanwhile; if gsk
 * did, the connection goes back to sk and the move ends.  The request keeps
 * its reference to sk until it is accepted.  Returns how many moved.
 */
static u32 fsocket_slot_move(struct sock *sk, struct sock *gsk)
{
	struct request_sock *req;
	u32 n = 0;

	lock_sock(sk);
	while (READ_ONCE(sk->sk_state) == TCP_LISTEN && (req = fsocket_queue_take(sk))) {
		if (!fsocket_queue_put(gsk, req, false)) {
			/* sk is locked: it still listens. */
			WARN_ON_ONCE(!fsocket_queue_put(sk, req, true));
			break;
		}
		n++;
	}
	release_sock(sk);
	if (n)
		fsocket_wake(gsk);
	return n;
}

/* Connections its worker took from l's queue: queued, not moved, not waiting. */
static u64 fsocket_slot_taken(struct fsocket_slot *l, u32 waiting)
{
	return (u64)atomic64_read(&l->queued) - l->moved - waiting;
}

/* Has the slot's state changed (stalled <-> serving)?  fn->lock held. */
static bool fsocket_slot_judge(struct fsocket_group *g, struct fsocket_slot *l,
			       unsigned long now)
{
	struct sock *sk = l->m.sk;
	u32 queued_now = READ_ONCE(sk->sk_ack_backlog);
	u64 taken = fsocket_slot_taken(l, queued_now);

	if (!l->m.watched)
		return false;
	if (taken != l->taken) {
		l->taken = taken;
		l->progress = now;
		if (l->stalled) {
			l->stalled = false;
			fsocket_stat_add(sock_net(sk), FSOCKET_STAT_RESUMED, 1);
			return true;
		}
		return false;
	}
	if (!queued_now) {
		if (!l->stalled)
			l->progress = now;
		return false;
	}
	if (!l->stalled && !time_after_eq(now, l->progress + FSOCKET_STALL_AFTER))
		return false;
	/* Stalled (or a connection raced the program's update): move them. */
	l->moved += fsocket_slot_move(sk, fsocket_gsk(g));
	l->taken = fsocket_slot_taken(l, READ_ONCE(sk->sk_ack_backlog));
	if (l->stalled)
		return false;
	l->stalled = true;
	fsocket_stat_add(sock_net(sk), FSOCKET_STAT_STALLED, 1);
	return true;
}

/*
 * The worker of a stalled slot accepts again (it re-joined its listener):
 * its CPU comes back at once.  fn->lock held.
 */
void fsocket_slot_alive(struct fsocket_group *g, struct fsocket_slot *l)
{
	if (!l->stalled)
		return;
	l->stalled = false;
	l->progress = jiffies;
	fsocket_stat_add(sock_net(l->m.sk), FSOCKET_STAT_RESUMED, 1);
	fsocket_steer(g);
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

			if (l && fsocket_slot_judge(g, l, now))
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
