/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Listen groups.  A group is one SO_REUSEPORT group registered by LISTEN:
 * the registered listener and up to one joined ("local") listener per CPU.
 * Every socket in it belongs to the caller; the module holds only a
 * reference to the struct sock (never to a file), so a listener that is
 * closed stops listening as it would without the module.
 *
 * Locking: the state of one network namespace (struct fsocket_net) is
 * guarded by its own mutex; groups of different namespaces never contend.
 * Lookups use two global RCU hash tables: fsocket_members (struct sock * ->
 * member, for the ioctls and the sk_data_ready observer) and fsocket_ports
 * (netns + port -> groups, for the listener-close observer).
 */
#ifndef _FSOCKET_LISTEN_H
#define _FSOCKET_LISTEN_H

#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/rhashtable.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct bpf_prog;
struct net;
struct pid;
struct sock;

/* Per network namespace (pernet_operations). */
struct fsocket_net {
	struct list_head node;		/* fsocket_nets */
	struct net *net;
	struct mutex lock;		/* groups, their slots and programs */
	struct list_head groups;
	unsigned int nr_groups;
	bool used;			/* ever had a group */
	struct xarray users;		/* uid -> number of groups */
	struct llist_head pending;	/* groups to re-check */
	struct work_struct work;
	struct delayed_work stall;	/* stall.c, while listeners are joined */
	struct fsocket_stats __percpu *stats;
};

struct fsocket_net *fsocket_net(const struct net *net);

/* A socket of a group, in fsocket_members. */
struct fsocket_member {
	struct rhash_head node;
	struct sock *sk;		/* key; sock_hold */
	struct fsocket_group *g;
	int cpu;			/* -1: the registered listener */
	bool watched;			/* sk_data_ready observed */
};

/* A joined local listener. */
struct fsocket_slot {
	struct fsocket_member m;
	struct pid *owner;		/* the thread that joined */
	atomic64_t queued;		/* connections queued on it (watch.c) */
	u64 taken;			/* ... taken from its queue (stall.c) */
	u64 moved;			/* ... moved to the registered listener */
	unsigned long progress;		/* jiffies: last taken, or queue empty */
	bool stalled;			/* its CPU goes to the registered listener */
	struct rcu_head rcu;
};

/* Per-CPU counters of a group (connections queued to it). */
struct fsocket_gcount {
	u64 arrived;			/* completed on this CPU */
	u64 local;			/* ... onto this CPU's listener */
};

struct fsocket_port_key {
	const struct net *net;
	u32 port;			/* network order */
};

#define FSOCKET_G_PENDING	0	/* on fn->pending */

struct fsocket_group {
	struct rhlist_head port_node;	/* fsocket_ports */
	struct fsocket_port_key key;
	struct list_head node;		/* fn->groups */
	struct fsocket_net *fn;
	refcount_t ref;			/* registration + pending checks */
	unsigned long flags;
	struct llist_node pending;
	bool dead;			/* unregistered */
	bool foreign;			/* our program was replaced */
	struct fsocket_member gm;	/* the registered listener */
	struct pid *owner;		/* the process that registered */
	kuid_t uid;
	struct bpf_prog *prog;		/* the program we attached (compare only) */
	unsigned int nr_slots;
	struct fsocket_slot __rcu **slots;	/* nr_cpu_ids entries */
	struct fsocket_gcount __percpu *cnt;
	struct rcu_head rcu;
};

static inline struct sock *fsocket_gsk(const struct fsocket_group *g)
{
	return g->gm.sk;
}

static inline struct fsocket_slot *fsocket_slot(struct fsocket_group *g,
						int cpu)
{
	return rcu_dereference_protected(g->slots[cpu],
					 lockdep_is_held(&g->fn->lock));
}

/* listen.c */
struct fsocket_member *fsocket_member_find(const struct sock *sk);
void fsocket_group_check(struct fsocket_group *g);
void fsocket_group_put(struct fsocket_group *g);
void fsocket_groups_changed(const struct sock *sk);
void fsocket_net_work(struct work_struct *work);
extern struct list_head fsocket_nets;
extern struct mutex fsocket_nets_lock;

/* watch.c: observers of the callers' listeners. */
int fsocket_watch_init(void);
void fsocket_watch_exit(void);
void fsocket_watch(struct fsocket_member *m);
void fsocket_unwatch(struct fsocket_member *m);
void fsocket_wake(struct sock *sk);

/* stall.c: a worker that stops accepting hands its CPU back. */
void fsocket_stall_work(struct work_struct *work);
void fsocket_stall_arm(struct fsocket_net *fn);
void fsocket_slot_alive(struct fsocket_group *g, struct fsocket_slot *l);

/* affinity.c: which CPU a JOIN gets (fn->lock held). */
int fsocket_pick_cpu(struct fsocket_group *g, int want);

/* reuseport.c: the CPU program of a group (fn->lock held). */
bool fsocket_reuseport_has_foreign_prog(struct sock *sk);
int fsocket_steer(struct fsocket_group *g);
void fsocket_steer_off(struct fsocket_group *g);

#endif /* _FSOCKET_LISTEN_H */
