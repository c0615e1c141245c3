/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Listen groups: a global listener (the application's socket) and up to one
 * local listener per CPU, all in the same SO_REUSEPORT group.
 *
 * Writers (LISTEN, SPAWN, CLOSE, SHUTDOWN_LISTEN, the reaper) hold
 * fsocket_listen_lock.  ACCEPT only reads, under RCU: groups and local
 * listeners are freed after a grace period, and ACCEPT takes a reference on
 * the local listener it uses.
 */
#ifndef _FSOCKET_LISTEN_H
#define _FSOCKET_LISTEN_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/types.h>

struct file;
struct pid;
struct sock;
struct socket;

/* A local listener: created by SPAWN_LISTEN, owned by one task. */
struct fsocket_local {
	struct rcu_head rcu;
	refcount_t ref;		/* the slot's reference + ACCEPTs in flight */
	struct file *file;	/* the module's reference to the listener */
	struct socket *sock;
	struct pid *owner;	/* the task that spawned it */
	int cpu;
};

struct fsocket_group {
	struct list_head node;	/* fsocket_groups, RCU */
	struct rcu_head rcu;
	struct sock *gsk;	/* the global listener (sock_hold) */
	unsigned int nr_local;
	/* Indexed by CPU id, nr_cpu_ids entries. */
	struct fsocket_local __rcu **local;
};

extern struct mutex fsocket_listen_lock;
extern struct list_head fsocket_groups;

void fsocket_local_put(struct fsocket_local *l);

/* affinity.c: which CPU a spawning task gets (fsocket_listen_lock held). */
int fsocket_affinity_pick(struct fsocket_group *g, int want);
int fsocket_affinity_pin(int cpu);
int fsocket_worker_get(struct pid *pid, int cpu);
void fsocket_worker_put(struct pid *pid);
void fsocket_workers_release(void);

/* reuseport.c: CPU -> local listener selection (fsocket_listen_lock held). */
int fsocket_reuseport_update(struct fsocket_group *g);
void fsocket_reuseport_detach(struct fsocket_group *g);

#endif /* _FSOCKET_LISTEN_H */
