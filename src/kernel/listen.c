// SPDX-License-Identifier: GPL-2.0
/*
 * Listen groups: LISTEN, JOIN, LEAVE, SHUTDOWN_LISTEN, and the re-check of a
 * group when one of its listeners stops listening.
 *
 * See the contract in uapi/fastsocket.h.  Every socket is the caller's own,
 * made with plain system calls; the module only records which listener
 * serves which CPU and keeps the group's CPU program (reuseport.c) in step.
 * It holds a struct sock reference per listener, never a file: a close,
 * exit or exec closes the listener exactly as without the module, the
 * close is seen at once (watch.c queues fsocket_net_work) and the group is
 * re-checked, so a dead slot never outlives its listener.  JOIN re-checks
 * synchronously too, so it never finds a slot of a listener already gone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <net/inet_sock.h>
#include <net/netns/generic.h>
#include <net/sock.h>
#include <net/sock_reuseport.h>
#include <net/tcp_states.h>

#include "compat.h"
#include "fsocket.h"
#include "listen.h"
#include "log.h"

/* Every namespace's state, for the host-wide view and the off switch. */
LIST_HEAD(fsocket_nets);
/* Guards fsocket_nets; taken before any namespace's lock. */
DEFINE_MUTEX(fsocket_nets_lock);

static struct rhashtable fsocket_members;
static struct rhltable fsocket_ports;

static const struct rhashtable_params fsocket_member_params = {
	.key_len = sizeof(struct sock *),
	.key_offset = offsetof(struct fsocket_member, sk),
	.head_offset = offsetof(struct fsocket_member, node),
	.automatic_shrinking = true,
};

static const struct rhashtable_params fsocket_port_params = {
	.key_len = offsetofend(struct fsocket_port_key, port),
	.key_offset = offsetof(struct fsocket_group, key),
	.head_offset = offsetof(struct fsocket_group, port_node),
	.automatic_shrinking = true,
};

/* Under rcu_read_lock() or the namespace's lock. */
struct fsocket_member *fsocket_member_find(const struct sock *sk)
{
	return rhashtable_lookup_fast(&fsocket_members, &sk,
				      fsocket_member_params);
}

static void fsocket_port_key(struct fsocket_port_key *key,
			     const struct sock *sk)
{
	memset(key, 0, sizeof(*key));
	key->net = sock_net(sk);
	key->port = inet_sk(sk)->inet_sport;
}

static int fsocket_member_add(struct fsocket_member *m,
			      struct fsocket_group *g, struct sock *sk,
			      int cpu)
{
	int err;

	m->sk = sk;
	m->g = g;
	m->cpu = cpu;
	err = rhashtable_lookup_insert_fast(&fsocket_members, &m->node,
					    fsocket_member_params);
	if (err)
		return err;
	sock_hold(sk);
	fsocket_watch(m);
	return 0;
}

static void fsocket_member_del(struct fsocket_member *m)
{
	fsocket_unwatch(m);
	rhashtable_remove_fast(&fsocket_members, &m->node,
			       fsocket_member_params);
	sock_put(m->sk);
}

/*
 * Does @sk still listen in the SO_REUSEPORT group of @g?  The same
 * sk_reuseport_cb is the common answer; while the kernel grows the group
 * (reuseport_grow() moves the members to a new array one by one) the two
 * may differ for a moment, so then look for @sk in the registered
 * listener's array, which holds every listening member.
 */
static bool fsocket_in_group(struct fsocket_group *g, const struct sock *sk)
{
	const struct sock *gsk = fsocket_gsk(g);
	const struct sock_reuseport *reuse;
	bool found = false;
	unsigned int i;

	if (READ_ONCE(sk->sk_state) != TCP_LISTEN)
		return false;
	rcu_read_lock();
	reuse = rcu_dereference(gsk->sk_reuseport_cb);
	if (reuse && rcu_access_pointer(sk->sk_reuseport_cb) == reuse) {
		found = true;
	} else if (reuse) {
		for (i = 0; i < READ_ONCE(reuse->num_socks) && !found; i++)
			found = READ_ONCE(reuse->socks[i]) == sk;
	}
	rcu_read_unlock();
	return found;
}

static void fsocket_slot_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct fsocket_slot, rcu));
}

/* Takes @cpu's slot out of @g (the caller re-steers). */
static void fsocket_slot_release(struct fsocket_group *g, int cpu)
{
	struct fsocket_slot *l = fsocket_slot(g, cpu);

	RCU_INIT_POINTER(g->slots[cpu], NULL);
	g->nr_slots--;
	fsocket_member_del(&l->m);
	put_pid(l->owner);
	call_rcu(&l->rcu, fsocket_slot_free_rcu);
}

static void fsocket_group_free_rcu(struct rcu_head *head)
{
	struct fsocket_group *g = container_of(head, struct fsocket_group, rcu);

	free_percpu(g->cnt);
	kfree(g->slots);
	kfree(g);
}

void fsocket_group_put(struct fsocket_group *g)
{
	if (refcount_dec_and_test(&g->ref))
		call_rcu(&g->rcu, fsocket_group_free_rcu);
}

static unsigned long fsocket_user_groups(struct fsocket_net *fn, kuid_t uid)
{
	void *v = xa_load(&fn->users, from_kuid(&init_user_ns, uid));

	return v ? xa_to_value(v) : 0;
}

/* Counts a group of @uid up or down; only counting up can fail. */
static int fsocket_user_count(struct fsocket_net *fn, kuid_t uid, int delta)
{
	unsigned long idx = from_kuid(&init_user_ns, uid);
	unsigned long n = fsocket_user_groups(fn, uid) + delta;

	if (!n) {
		xa_erase(&fn->users, idx);
		return 0;
	}
	return xa_err(xa_store(&fn->users, idx, xa_mk_value(n),
			       GFP_KERNEL_ACCOUNT));
}

/* Unregisters @g: plain SO_REUSEPORT hashing again, every slot freed. */
static void fsocket_group_destroy(struct fsocket_group *g)
{
	struct fsocket_net *fn = g->fn;
	unsigned int cpu;

	g->dead = true;
	fsocket_steer_off(g);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (fsocket_slot(g, cpu))
			fsocket_slot_release(g, cpu);
	}
	rhltable_remove(&fsocket_ports, &g->port_node, fsocket_port_params);
	fsocket_member_del(&g->gm);
	list_del(&g->node);
	fn->nr_groups--;
	fsocket_user_count(fn, g->uid, -1);
	put_pid(g->owner);
	g->owner = NULL;
	fsocket_group_put(g);
}

/*
 * Frees the slots whose listener stopped listening and removes the group if
 * its registered listener did.  False if the group is gone.
 */
static bool fsocket_group_prune(struct fsocket_group *g)
{
	unsigned int cpu;

	if (g->dead)
		return false;
	if (!fsocket_in_group(g, fsocket_gsk(g))) {
		fs_info("registered listener closed: group removed\n");
		fsocket_group_destroy(g);
		return false;
	}
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct fsocket_slot *l = fsocket_slot(g, cpu);

		if (l && !fsocket_in_group(g, l->m.sk)) {
			fs_info("local listener of cpu %u closed: slot freed\n",
				cpu);
			fsocket_slot_release(g, cpu);
		}
	}
	return true;
}

/* After a member of the SO_REUSEPORT group left: prune, re-steer. */
void fsocket_group_check(struct fsocket_group *g)
{
	if (fsocket_group_prune(g))
		fsocket_steer(g);
}

/*
 * A listening socket of @sk's port stopped listening (any context): queue
 * the re-check of the groups on that port.
 */
void fsocket_groups_changed(const struct sock *sk)
{
	struct fsocket_port_key key;
	struct rhlist_head *list, *pos;
	struct fsocket_group *g;
	struct fsocket_net *fn = NULL;

	fsocket_port_key(&key, sk);
	rcu_read_lock();
	list = rhltable_lookup(&fsocket_ports, &key, fsocket_port_params);
	rhl_for_each_entry_rcu(g, pos, list, port_node) {
		if (test_and_set_bit(FSOCKET_G_PENDING, &g->flags))
			continue;
		if (!refcount_inc_not_zero(&g->ref)) {
			clear_bit(FSOCKET_G_PENDING, &g->flags);
			continue;
		}
		llist_add(&g->pending, &g->fn->pending);
		fn = g->fn;
	}
	if (fn)
		queue_work(fs_compat_wq(), &fn->work);
	rcu_read_unlock();
}

void fsocket_net_work(struct work_struct *work)
{
	struct fsocket_net *fn = container_of(work, struct fsocket_net, work);
	struct llist_node *list = llist_del_all(&fn->pending);
	struct fsocket_group *g, *tmp;

	mutex_lock(&fn->lock);
	llist_for_each_entry_safe(g, tmp, list, pending) {
		clear_bit(FSOCKET_G_PENDING, &g->flags);
		fsocket_group_check(g);
		fsocket_group_put(g);
	}
	mutex_unlock(&fn->lock);
}

/*
 * Re-checked under the namespace's lock: the off switch sets the parameter
 * before it takes each lock, so no group is created after it ran.
 */
static bool fsocket_spawn_on(void)
{
	return READ_ONCE(fsocket_enable_listen_spawn) != 0;
}

/* The group whose registered listener is @sk (fn->lock held), or NULL. */
static struct fsocket_group *fsocket_group_of(const struct sock *sk)
{
	struct fsocket_member *m = fsocket_member_find(sk);

	return m && m->cpu < 0 && !m->g->dead ? m->g : NULL;
}

/* Is @sk's SO_REUSEPORT group already registered by another group? */
static bool fsocket_reuse_taken(const struct sock *sk)
{
	const void *reuse = rcu_access_pointer(sk->sk_reuseport_cb);
	struct fsocket_port_key key;
	struct rhlist_head *list, *pos;
	struct fsocket_group *g;
	bool taken = false;

	fsocket_port_key(&key, sk);
	rcu_read_lock();
	list = rhltable_lookup(&fsocket_ports, &key, fsocket_port_params);
	rhl_for_each_entry_rcu(g, pos, list, port_node) {
		if (!g->dead &&
		    rcu_access_pointer(fsocket_gsk(g)->sk_reuseport_cb) == reuse)
			taken = true;
	}
	rcu_read_unlock();
	return taken;
}

static int fsocket_group_create(struct fsocket_net *fn, struct sock *sk)
{
	kuid_t uid = current_euid();
	struct fsocket_group *g;
	int err = -ENOMEM;

	if (fn->nr_groups >= FSOCKET_MAX_GROUPS_PER_NET ||
	    fsocket_user_groups(fn, uid) >= FSOCKET_MAX_GROUPS_PER_USER) {
		fs_notice("LISTEN by %s[%d]: group limit reached\n",
			  current->comm, task_pid_nr(current));
		return -ENOSPC;
	}
	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	err = fsocket_user_count(fn, uid, 1);
	if (err) {
		kfree(g);
		return err;
	}
	err = -ENOMEM;
	g->slots = kcalloc(nr_cpu_ids, sizeof(*g->slots), GFP_KERNEL_ACCOUNT);
	g->cnt = alloc_percpu_gfp(struct fsocket_gcount, GFP_KERNEL_ACCOUNT);
	if (!g->slots || !g->cnt)
		goto err_free;
	refcount_set(&g->ref, 1);
	g->fn = fn;
	g->uid = uid;
	fsocket_port_key(&g->key, sk);
	err = fsocket_member_add(&g->gm, g, sk, -1);
	if (err)
		goto err_free;
	err = rhltable_insert(&fsocket_ports, &g->port_node,
			      fsocket_port_params);
	if (err) {
		fsocket_member_del(&g->gm);
		goto err_free;
	}
	g->owner = get_pid(task_tgid(current));
	list_add_tail(&g->node, &fn->groups);
	fn->nr_groups++;
	fn->used = true;
	/* Until a CPU joins, its connections go to the registered listener. */
	err = fsocket_steer(g);
	if (err)
		fsocket_group_destroy(g);
	return err;

err_free:
	fsocket_user_count(fn, uid, -1);
	free_percpu(g->cnt);
	kfree(g->slots);
	kfree(g);
	return err;
}

long fsocket_cmd_listen(void *arg)
{
	struct fsocket_listen_arg *a = arg;
	struct fsocket_member *m;
	struct fsocket_net *fn;
	struct socket *sock;
	struct sock *sk;
	int err;

	if (a->backlog)
		return -EINVAL;
	sock = fsocket_lookup_tcp(a->fd, &err);
	if (!sock)
		return err;
	sk = sock->sk;
	if (READ_ONCE(sk->sk_state) != TCP_LISTEN || !sk->sk_reuseport ||
	    !rcu_access_pointer(sk->sk_reuseport_cb)) {
		fs_dbg("LISTEN: fd %d does not listen with SO_REUSEPORT\n",
		       a->fd);
		err = -EINVAL;
		goto out;
	}
	fn = fsocket_net(sock_net(sk));
	mutex_lock(&fn->lock);
	m = fsocket_member_find(sk);
	if (!fsocket_spawn_on()) {
		err = -EOPNOTSUPP;
	} else if (m && m->cpu < 0 && !m->g->dead) {
		err = 0;	/* already registered */
	} else if (m || fsocket_reuse_taken(sk)) {
		fs_dbg("LISTEN: fd %d shares its group with another group\n",
		       a->fd);
		err = -EBUSY;
	} else if (fsocket_reuseport_has_foreign_prog(sk)) {
		fs_dbg("LISTEN: fd %d has a reuseport program of its own\n",
		       a->fd);
		err = -EBUSY;
	} else {
		err = fsocket_group_create(fn, sk);
	}
	mutex_unlock(&fn->lock);
out:
	sockfd_put(sock);
	return err;
}

/* Looks up the two fds of JOIN. */
static int fsocket_lookup_pair(int gfd, int lfd, struct socket **gsockp,
			       struct socket **lsockp)
{
	struct socket *gsock, *lsock;
	int err;

	gsock = fsocket_lookup_tcp(gfd, &err);
	if (!gsock)
		return err;
	lsock = fsocket_lookup_tcp(lfd, &err);
	if (!lsock) {
		sockfd_put(gsock);
		return err;
	}
	*gsockp = gsock;
	*lsockp = lsock;
	return 0;
}

static int fsocket_join_locked(struct fsocket_group *g, struct sock *lsk,
			       int want)
{
	struct fsocket_member *m;
	struct fsocket_slot *l;
	int cpu, err;

	if (!fsocket_group_prune(g))
		return -EINVAL;
	if (!fsocket_in_group(g, lsk) || lsk == fsocket_gsk(g))
		return -EINVAL;
	m = fsocket_member_find(lsk);
	if (m) {
		/* Joined already: its worker says it accepts (stall.c). */
		if (m->g == g && m->cpu >= 0)
			fsocket_slot_alive(g, container_of(m, struct fsocket_slot, m));
		return -EEXIST;
	}
	if (g->foreign)
		return -EBUSY;
	cpu = fsocket_pick_cpu(g, want);
	if (cpu < 0) {
		if (cpu == -EBUSY)
			fsocket_stat_add(sock_net(lsk), FSOCKET_STAT_FALLBACK, 1);
		return cpu;
	}
	l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);
	if (!l)
		return -ENOMEM;
	err = fsocket_member_add(&l->m, g, lsk, cpu);
	if (err) {
		kfree(l);
		return err;
	}
	l->owner = get_pid(task_pid(current));
	l->progress = jiffies;
	rcu_assign_pointer(g->slots[cpu], l);
	g->nr_slots++;
	err = fsocket_steer(g);
	if (err) {
		fsocket_slot_release(g, cpu);
		fsocket_steer(g);
		return err;
	}
	fsocket_stat_add(sock_net(lsk), FSOCKET_STAT_SPAWN, 1);
	fsocket_stall_arm(g->fn);
	return cpu;
}

long fsocket_cmd_join(void *arg)
{
	struct fsocket_join_arg *a = arg;
	struct socket *gsock, *lsock;
	struct fsocket_group *g;
	struct fsocket_net *fn;
	int err;

	if (a->flags || a->cpu < -1)
		return -EINVAL;
	err = fsocket_lookup_pair(a->fd, a->local_fd, &gsock, &lsock);
	if (err)
		return err;
	fn = fsocket_net(sock_net(gsock->sk));
	mutex_lock(&fn->lock);
	g = fsocket_group_of(gsock->sk);
	if (!fsocket_spawn_on())
		err = -EOPNOTSUPP;
	else
		err = g ? fsocket_join_locked(g, lsock->sk, a->cpu) : -EINVAL;
	mutex_unlock(&fn->lock);
	if (err >= 0) {
		a->cpu = err;
		err = 0;
	} else {
		fs_dbg("JOIN by %s[%d]: %d\n", current->comm,
		       task_pid_nr(current), err);
	}
	sockfd_put(lsock);
	sockfd_put(gsock);
	return err;
}

/*
 * LEAVE of the slot of @sk (a local listener), or of the slot the calling
 * thread joined in the group registered by @sk.
 */
static int fsocket_leave_locked(struct sock *sk)
{
	struct fsocket_member *m = fsocket_member_find(sk);
	struct fsocket_group *g;
	int cpu;

	if (!m || m->g->dead)
		return -EINVAL;
	g = m->g;
	cpu = m->cpu;
	if (cpu < 0) {
		for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct fsocket_slot *l = fsocket_slot(g, cpu);

			if (l && l->owner == task_pid(current))
				break;
		}
		if (cpu >= nr_cpu_ids)
			return -ENOENT;
	}
	fsocket_slot_release(g, cpu);
	fsocket_steer(g);
	return 0;
}

long fsocket_cmd_leave(void *arg)
{
	struct fsocket_fd_arg *a = arg;
	struct fsocket_net *fn;
	struct socket *sock;
	int err;

	if (a->reserved)
		return -EINVAL;
	sock = fsocket_lookup_tcp(a->fd, &err);
	if (!sock)
		return err;
	fn = fsocket_net(sock_net(sock->sk));
	mutex_lock(&fn->lock);
	err = fsocket_leave_locked(sock->sk);
	mutex_unlock(&fn->lock);
	sockfd_put(sock);
	return err;
}

/* The result of a JOIN could not be copied out: the caller never learnt it. */
void fsocket_cmd_join_undo(void *arg)
{
	struct fsocket_join_arg *a = arg;
	struct fsocket_fd_arg leave = { .fd = a->local_fd };

	fsocket_cmd_leave(&leave);
}

long fsocket_cmd_shutdown(void *arg)
{
	struct fsocket_fd_arg *a = arg;
	struct fsocket_group *g;
	struct fsocket_net *fn;
	struct socket *sock;
	int err;

	if (a->reserved)
		return -EINVAL;
	sock = fsocket_lookup_tcp(a->fd, &err);
	if (!sock)
		return err;
	fn = fsocket_net(sock_net(sock->sk));
	mutex_lock(&fn->lock);
	g = fsocket_group_of(sock->sk);
	if (g)
		fsocket_group_destroy(g);
	err = g ? 0 : -EINVAL;
	mutex_unlock(&fn->lock);
	sockfd_put(sock);
	return err;
}

static void fsocket_net_remove_groups(struct fsocket_net *fn)
{
	struct fsocket_group *g, *tmp;

	mutex_lock(&fn->lock);
	list_for_each_entry_safe(g, tmp, &fn->groups, node)
		fsocket_group_destroy(g);
	mutex_unlock(&fn->lock);
}

/* The off switch: every group of every namespace goes at once. */
void fsocket_remove_all_groups(void)
{
	struct fsocket_net *fn;

	mutex_lock(&fsocket_nets_lock);
	list_for_each_entry(fn, &fsocket_nets, node)
		fsocket_net_remove_groups(fn);
	mutex_unlock(&fsocket_nets_lock);
}

static unsigned int fsocket_net_id __read_mostly;

struct fsocket_net *fsocket_net(const struct net *net)
{
	return net_generic(net, fsocket_net_id);
}

static int __net_init fsocket_net_init(struct net *net)
{
	struct fsocket_net *fn = fsocket_net(net);

	fn->stats = fsocket_stats_alloc();
	if (!fn->stats)
		return -ENOMEM;
	fn->net = net;
	mutex_init(&fn->lock);
	INIT_LIST_HEAD(&fn->groups);
	xa_init(&fn->users);
	init_llist_head(&fn->pending);
	INIT_WORK(&fn->work, fsocket_net_work);
	INIT_DELAYED_WORK(&fn->stall, fsocket_stall_work);
	mutex_lock(&fsocket_nets_lock);
	list_add_tail(&fn->node, &fsocket_nets);
	mutex_unlock(&fsocket_nets_lock);
	return 0;
}

static void __net_exit fsocket_net_exit(struct net *net)
{
	struct fsocket_net *fn = fsocket_net(net);

	mutex_lock(&fsocket_nets_lock);
	list_del(&fn->node);
	mutex_unlock(&fsocket_nets_lock);
	fsocket_net_remove_groups(fn);
	cancel_delayed_work_sync(&fn->stall);
	/*
	 * A probe that found one of the namespace's groups may still queue a
	 * re-check: it is done after a grace period, and the re-check then
	 * only drops its reference.  A namespace that never had a group
	 * skips the grace period.
	 */
	if (fn->used)
		synchronize_rcu();
	flush_work(&fn->work);
	xa_destroy(&fn->users);
	free_percpu(fn->stats);
}

static struct pernet_operations fsocket_net_ops = {
	.init = fsocket_net_init,
	.exit = fsocket_net_exit,
	.id = &fsocket_net_id,
	.size = sizeof(struct fsocket_net),
};

int fsocket_listen_init(void)
{
	int err;

	err = rhashtable_init(&fsocket_members, &fsocket_member_params);
	if (err)
		return err;
	err = rhltable_init(&fsocket_ports, &fsocket_port_params);
	if (err)
		goto err_members;
	err = register_pernet_subsys(&fsocket_net_ops);
	if (err)
		goto err_ports;
	err = fsocket_watch_init();
	if (err)
		goto err_pernet;
	return 0;

err_pernet:
	unregister_pernet_subsys(&fsocket_net_ops);
err_ports:
	rhltable_destroy(&fsocket_ports);
err_members:
	rhashtable_destroy(&fsocket_members);
	return err;
}

void fsocket_listen_exit(void)
{
	/* No new re-checks, then every group goes (namespace by namespace). */
	fsocket_watch_exit();
	unregister_pernet_subsys(&fsocket_net_ops);
	/* The RCU callbacks above run module code. */
	rcu_barrier();
	rhltable_destroy(&fsocket_ports);
	rhashtable_destroy(&fsocket_members);
}
