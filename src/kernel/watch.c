// SPDX-License-Identifier: GPL-2.0
/*
 * Observers of the callers' listeners: no polling, nothing kept alive.
 *
 * Stopped listening: the inet_sock_set_state tracepoint fires on every TCP
 * state change, after a closing listener has left its SO_REUSEPORT group
 * (tcp_set_state() unhashes first).  The probe looks only at LISTEN ->
 * CLOSE changes: it counts the connections still queued on a joined
 * listener (the kernel migrates them with net.ipv4.tcp_migrate_req=1,
 * otherwise they are reset, as without the module) and queues the re-check
 * of the groups on that port (a member that is not ours leaving reorders
 * the group too).  The tracepoint is not exported as a symbol, so it is
 * looked up by name; its prototype is the same from 5.10 on.
 *
 * Arrivals: a listener's sk_data_ready is called when a connection is
 * queued on it, on the CPU that completed the handshake.  For the group's
 * listeners that use the kernel's default (sock_def_readable, which is not
 * exported: taken from a socket of our own at load), the module calls a
 * wrapper that counts the connection per group and CPU, then the default.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/net.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "compat.h"
#include "fsocket.h"
#include "listen.h"
#include "log.h"

static struct tracepoint *fsocket_tp_state;
static void (*fsocket_def_data_ready)(struct sock *sk);

static void fsocket_probe_state(void *data, const struct sock *sk,
				const int oldstate, const int newstate)
{
	struct fsocket_member *m;
	u32 queued;

	/*
	 * A listener that stops listening goes to TCP_CLOSE (close,
	 * shutdown, disconnect).  Every new connection also shows LISTEN ->
	 * SYN_RECV: the child is cloned from the listener, state included.
	 */
	if (oldstate != TCP_LISTEN || newstate != TCP_CLOSE ||
	    sk->sk_protocol != IPPROTO_TCP)
		return;
	rcu_read_lock();
	m = fsocket_member_find(sk);
	if (m && m->cpu >= 0) {
		queued = READ_ONCE(sk->sk_ack_backlog);
		if (queued)
			fsocket_stat_add(sock_net(sk),
					 fs_compat_tcp_migrate_req(sk) ?
					 FSOCKET_STAT_MIGRATED :
					 FSOCKET_STAT_DROPPED, queued);
	}
	rcu_read_unlock();
	fsocket_groups_changed(sk);
}

static void fsocket_data_ready(struct sock *sk)
{
	struct fsocket_member *m;

	rcu_read_lock();
	m = fsocket_member_find(sk);
	if (m) {
		bool local = m->cpu == raw_smp_processor_id();

		this_cpu_inc(m->g->cnt->arrived);
		if (m->cpu >= 0)
			atomic64_inc(&container_of(m, struct fsocket_slot, m)->queued);
		if (local)
			this_cpu_inc(m->g->cnt->local);
		fsocket_stat_add(sock_net(sk), local ?
				 FSOCKET_STAT_LOCAL_ACCEPT :
				 FSOCKET_STAT_GLOBAL_ACCEPT, 1);
	}
	fsocket_def_data_ready(sk);
	rcu_read_unlock();
}

/* Wakes sk's waiters without counting an arrival (stall.c moved them). */
void fsocket_wake(struct sock *sk)
{
	void (*ready)(struct sock *sk) = READ_ONCE(sk->sk_data_ready);

	if (ready == fsocket_data_ready)
		ready = fsocket_def_data_ready;
	ready(sk);
}

void fsocket_watch(struct fsocket_member *m)
{
	struct sock *sk = m->sk;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_data_ready == fsocket_def_data_ready) {
		WRITE_ONCE(sk->sk_data_ready, fsocket_data_ready);
		m->watched = true;
	}
	write_unlock_bh(&sk->sk_callback_lock);
}

/* A wrapper still running is done after the next RCU grace period. */
void fsocket_unwatch(struct fsocket_member *m)
{
	struct sock *sk = m->sk;

	if (!m->watched)
		return;
	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_data_ready == fsocket_data_ready)
		WRITE_ONCE(sk->sk_data_ready, fsocket_def_data_ready);
	write_unlock_bh(&sk->sk_callback_lock);
	m->watched = false;
}

static void fsocket_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "inet_sock_set_state"))
		*(struct tracepoint **)priv = tp;
}

int fsocket_watch_init(void)
{
	struct socket *sock;
	int err;

	err = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (err)
		return err;
	fsocket_def_data_ready = sock->sk->sk_data_ready;
	sock_release(sock);

	for_each_kernel_tracepoint(fsocket_find_tp, &fsocket_tp_state);
	if (!fsocket_tp_state) {
		pr_err("no inet_sock_set_state tracepoint in this kernel\n");
		return -ENOENT;
	}
	err = tracepoint_probe_register(fsocket_tp_state, fsocket_probe_state,
					NULL);
	if (err)
		pr_err("cannot observe inet_sock_set_state: %d\n", err);
	return err;
}

void fsocket_watch_exit(void)
{
	tracepoint_probe_unregister(fsocket_tp_state, fsocket_probe_state,
				    NULL);
	tracepoint_synchronize_unregister();
}
