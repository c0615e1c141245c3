// SPDX-License-Identifier: GPL-2.0
/*
 * Listen spawn: LISTEN, SPAWN_LISTEN, SPAWN_ALL_LISTEN, ACCEPT, CLOSE,
 * SHUTDOWN_LISTEN, and the reaper of exited workers.
 *
 * See the contract in uapi/fastsocket.h.  LISTEN makes the caller's socket
 * the global listener of a new group.  SPAWN_LISTEN creates a listener for
 * the caller's CPU bound to the same address, in the same SO_REUSEPORT
 * group, with the credentials of whoever opened the global listener (so
 * that the group accepts it and privileged ports work after the workers
 * dropped privileges), and gives the caller an fd for it.  The module keeps
 * its own reference to every local listener: a worker that exits without
 * CLOSE leaves its listener in place until the reaper notices (every
 * FSOCKET_REAP_MS, and before every spawn), counts the connections still
 * queued as migrated (net.ipv4.tcp_migrate_req) or dropped, and closes it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "compat.h"
#include "fsocket.h"
#include "listen.h"
#include "log.h"

#define FSOCKET_REAP_MS		200

/* Serialises every change to the groups, their slots and the workers. */
DEFINE_MUTEX(fsocket_listen_lock);
LIST_HEAD(fsocket_groups);

static void fsocket_reap_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(fsocket_reap_work, fsocket_reap_fn);

static void fsocket_reap_schedule(void)
{
	schedule_delayed_work(&fsocket_reap_work,
			      msecs_to_jiffies(FSOCKET_REAP_MS));
}

static struct fsocket_local *fsocket_slot(struct fsocket_group *g, int cpu)
{
	return rcu_dereference_protected(g->local[cpu],
		lockdep_is_held(&fsocket_listen_lock));
}

static struct fsocket_group *fsocket_group_find(const struct sock *sk)
{
	struct fsocket_group *g;

	list_for_each_entry_rcu(g, &fsocket_groups, node,
				lockdep_is_held(&fsocket_listen_lock)) {
		if (g->gsk == sk)
			return g;
	}
	return NULL;
}

/* The CPU of the slot @pid holds in @g, or -1. */
static int fsocket_owner_slot(struct fsocket_group *g, struct pid *pid)
{
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct fsocket_local *l = fsocket_slot(g, cpu);

		if (l && l->owner == pid)
			return cpu;
	}
	return -1;
}

void fsocket_local_put(struct fsocket_local *l)
{
	if (!refcount_dec_and_test(&l->ref))
		return;
	fput(l->file);
	put_pid(l->owner);
	kfree_rcu(l, rcu);
}

/* Takes @cpu's local listener out of @g and closes it. */
static void fsocket_slot_release(struct fsocket_group *g, int cpu)
{
	struct fsocket_local *l = fsocket_slot(g, cpu);
	struct sock *sk = l->sock->sk;
	u32 queued;

	RCU_INIT_POINTER(g->local[cpu], NULL);
	g->nr_local--;
	/* First steer the CPU to the global listener, then close. */
	fsocket_reuseport_update(g);
	queued = READ_ONCE(sk->sk_ack_backlog);
	if (queued)
		fsocket_stat_add(fs_compat_tcp_migrate_req(sk) ?
				 FSOCKET_STAT_MIGRATED : FSOCKET_STAT_DROPPED,
				 queued);
	/* Leaves the reuseport group now, not at the last fput. */
	kernel_sock_shutdown(l->sock, SHUT_RDWR);
	fsocket_worker_put(l->owner);
	fsocket_local_put(l);
}

/* After slots were released: re-steer, or detach when none is left. */
static void fsocket_group_resteer(struct fsocket_group *g)
{
	if (g->nr_local)
		fsocket_reuseport_update(g);
	else
		fsocket_reuseport_detach(g);
}

static void fsocket_group_free_rcu(struct rcu_head *head)
{
	struct fsocket_group *g = container_of(head, struct fsocket_group, rcu);

	kfree(g->local);
	kfree(g);
}

/* Every local listener goes, and the CPU program with them. */
static void fsocket_group_release_all(struct fsocket_group *g)
{
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (fsocket_slot(g, cpu))
			fsocket_slot_release(g, cpu);
	}
	fsocket_reuseport_detach(g);
}

static void fsocket_group_destroy(struct fsocket_group *g)
{
	fsocket_group_release_all(g);
	list_del_rcu(&g->node);
	sock_put(g->gsk);
	call_rcu(&g->rcu, fsocket_group_free_rcu);
}

static bool fsocket_task_dead(struct pid *pid)
{
	struct task_struct *t;
	bool dead;

	rcu_read_lock();
	t = pid_task(pid, PIDTYPE_PID);
	dead = !t || (t->flags & PF_EXITING);
	rcu_read_unlock();
	return dead;
}

/* Frees the slots of exited tasks in @g. */
static void fsocket_group_reap(struct fsocket_group *g)
{
	unsigned int cpu, reaped = 0;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct fsocket_local *l = fsocket_slot(g, cpu);

		if (!l || !fsocket_task_dead(l->owner))
			continue;
		fs_info("worker on cpu %u exited: local listener closed (%u queued)\n",
			cpu, READ_ONCE(l->sock->sk->sk_ack_backlog));
		fsocket_slot_release(g, cpu);
		reaped++;
	}
	if (reaped)
		fsocket_group_resteer(g);
}

static void fsocket_reap_all(void)
{
	struct fsocket_group *g, *tmp;

	list_for_each_entry_safe(g, tmp, &fsocket_groups, node) {
		if (READ_ONCE(g->gsk->sk_state) != TCP_LISTEN) {
			fs_info("global listener closed: group removed\n");
			fsocket_group_destroy(g);
			continue;
		}
		fsocket_group_reap(g);
	}
}

static void fsocket_reap_fn(struct work_struct *work)
{
	mutex_lock(&fsocket_listen_lock);
	fsocket_reap_all();
	if (!list_empty(&fsocket_groups))
		fsocket_reap_schedule();
	mutex_unlock(&fsocket_listen_lock);
}

long fsocket_cmd_listen(void *arg, struct fsocket_newfd *nfd)
{
	struct fsocket_listen_arg *a = arg;
	struct fsocket_group *g;
	struct socket *sock;
	int err;

	sock = fsocket_lookup_tcp(a->fd, &err);
	if (!sock)
		return err;
	if (!sock->sk->sk_reuseport) {
		fs_dbg("LISTEN: fd %d has no SO_REUSEPORT\n", a->fd);
		err = -EINVAL;
		goto out;
	}
	err = kernel_listen(sock, a->backlog);
	if (err || !fsocket_enable_listen_spawn)
		goto out;

	mutex_lock(&fsocket_listen_lock);
	if (fsocket_group_find(sock->sk))
		goto out_unlock;
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (g)
		g->local = kcalloc(nr_cpu_ids, sizeof(*g->local), GFP_KERNEL);
	if (!g || !g->local) {
		kfree(g);
		err = -ENOMEM;
		goto out_unlock;
	}
	sock_hold(sock->sk);
	g->gsk = sock->sk;
	list_add_rcu(&g->node, &fsocket_groups);
	fsocket_reap_schedule();
out_unlock:
	mutex_unlock(&fsocket_listen_lock);
out:
	sockfd_put(sock);
	return err;
}

/* A listener for @g's address, created as the opener of @gsock. */
static struct fsocket_local *fsocket_local_create(struct socket *gsock,
						  unsigned int flags)
{
	struct sock *gsk = gsock->sk;
	struct sockaddr_storage addr;
	struct fsocket_local *l;
	const struct cred *old;
	struct socket *sock;
	struct file *file;
	int len, err;

	len = kernel_getsockname(gsock, (struct sockaddr *)&addr);
	if (len < 0)
		return ERR_PTR(len);
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	if (!l)
		return ERR_PTR(-ENOMEM);

	old = override_creds(gsock->file->f_cred);
	err = __sock_create(sock_net(gsk), gsk->sk_family, SOCK_STREAM,
			    IPPROTO_TCP, &sock, 0);
	if (!err) {
		struct sock *sk = sock->sk;

		lock_sock(sk);
		sk->sk_reuse = gsk->sk_reuse;
		sk->sk_reuseport = 1;
		sk->sk_ipv6only = gsk->sk_ipv6only;
		WRITE_ONCE(sk->sk_bound_dev_if, READ_ONCE(gsk->sk_bound_dev_if));
		release_sock(sk);
		err = fs_compat_kernel_bind(sock, &addr, len);
		if (!err)
			err = kernel_listen(sock,
					    READ_ONCE(gsk->sk_max_ack_backlog));
		if (err)
			sock_release(sock);
	}
	revert_creds(old);
	if (err) {
		fs_dbg("cannot create a local listener: %d\n", err);
		kfree(l);
		return ERR_PTR(err);
	}

	/* On failure sock_alloc_file() releases the socket. */
	file = sock_alloc_file(sock, flags & O_NONBLOCK, NULL);
	if (IS_ERR(file)) {
		kfree(l);
		return ERR_CAST(file);
	}
	refcount_set(&l->ref, 1);
	l->file = file;
	l->sock = sock;
	return l;
}

/*
 * Gives the calling task a local listener in @g.  On success *file is a new
 * reference to it for the caller's fd and the CPU is returned.
 */
static int fsocket_spawn_locked(struct fsocket_group *g, struct socket *gsock,
				int want, unsigned int flags,
				struct file **file)
{
	struct pid *me = task_pid(current);
	struct fsocket_local *l;
	int cpu, err;

	if (READ_ONCE(g->gsk->sk_state) != TCP_LISTEN)
		return -EINVAL;
	fsocket_group_reap(g);
	if (fsocket_owner_slot(g, me) >= 0)
		return -EEXIST;
	cpu = fsocket_affinity_pick(g, want);
	if (cpu < 0) {
		if (cpu == -EBUSY)
			fsocket_stat_inc(FSOCKET_STAT_FALLBACK);
		fs_dbg("SPAWN by %s[%d]: no CPU slot (%d)\n", current->comm,
		       task_pid_nr(current), cpu);
		return cpu;
	}
	l = fsocket_local_create(gsock, flags);
	if (IS_ERR(l))
		return PTR_ERR(l);
	err = fsocket_worker_get(me, cpu);
	if (err)
		goto err_local;
	err = fsocket_affinity_pin(cpu);
	if (err) {
		fs_warn("cannot pin %s[%d] to cpu %d: %d\n", current->comm,
			task_pid_nr(current), cpu, err);
		fsocket_worker_put(me);
		goto err_local;
	}
	l->owner = get_pid(me);
	l->cpu = cpu;
	rcu_assign_pointer(g->local[cpu], l);
	g->nr_local++;
	err = fsocket_reuseport_update(g);
	if (err) {
		fsocket_slot_release(g, cpu);
		fsocket_group_resteer(g);
		return err;
	}
	fsocket_stat_inc(FSOCKET_STAT_SPAWN);
	*file = get_file(l->file);
	return cpu;

err_local:
	fsocket_local_put(l);
	return err;
}

/* Undo of a spawn whose result could not reach user space. */
static void fsocket_spawn_abort(void *data)
{
	struct file *file = data;
	struct fsocket_group *g;
	unsigned int cpu;

	mutex_lock(&fsocket_listen_lock);
	list_for_each_entry(g, &fsocket_groups, node) {
		for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct fsocket_local *l = fsocket_slot(g, cpu);

			if (l && l->file == file) {
				fsocket_slot_release(g, cpu);
				fsocket_group_resteer(g);
				goto out;
			}
		}
	}
out:
	mutex_unlock(&fsocket_listen_lock);
}

static int fsocket_check_spawn_arg(const struct fsocket_spawn_arg *a)
{
	if (a->flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	if (a->cpu < -1)
		return -EINVAL;
	return 0;
}

long fsocket_cmd_spawn(void *arg, struct fsocket_newfd *nfd)
{
	struct fsocket_spawn_arg *a = arg;
	struct fsocket_group *g;
	struct socket *sock;
	struct file *file;
	int err, fd, cpu;

	err = fsocket_check_spawn_arg(a);
	if (err)
		return err;
	sock = fsocket_lookup_tcp(a->fd, &err);
	if (!sock)
		return err;
	fd = get_unused_fd_flags(a->flags & O_CLOEXEC);
	if (fd < 0) {
		err = fd;
		goto out;
	}
	mutex_lock(&fsocket_listen_lock);
	g = fsocket_group_find(sock->sk);
	cpu = g ? fsocket_spawn_locked(g, sock, a->cpu, a->flags, &file) :
		  -EINVAL;
	mutex_unlock(&fsocket_listen_lock);
	if (cpu < 0) {
		put_unused_fd(fd);
		err = cpu;
		goto out;
	}
	nfd->file = file;
	nfd->fd = fd;
	nfd->abort = fsocket_spawn_abort;
	nfd->abort_data = file;
	a->local_fd = fd;
	a->cpu = cpu;
	err = 0;
out:
	sockfd_put(sock);
	return err;
}

static int fsocket_match_sock(const void *p, struct file *f, unsigned int fd)
{
	return f->private_data == p ? fd + 1 : 0;
}

long fsocket_cmd_spawn_all(void *arg, struct fsocket_newfd *nfd)
{
	struct fsocket_spawn_arg *a = arg;
	struct fsocket_group *g;
	int err, first_err = 0, count = 0, cpu = -1;

	err = fsocket_check_spawn_arg(a);
	if (err)
		return err;

	mutex_lock(&fsocket_listen_lock);
	list_for_each_entry(g, &fsocket_groups, node) {
		struct socket *gsock;
		struct file *file;
		int gfd, fd, ret;

		/* Does the caller hold this group's global listener? */
		gsock = READ_ONCE(g->gsk->sk_socket);
		if (!gsock)
			continue;
		gfd = iterate_fd(current->files, 0, fsocket_match_sock,
				 gsock) - 1;
		if (gfd < 0)
			continue;
		gsock = sockfd_lookup(gfd, &err);
		if (!gsock)
			continue;
		if (gsock->sk != g->gsk) {
			sockfd_put(gsock);
			continue;
		}
		fd = get_unused_fd_flags(a->flags & O_CLOEXEC);
		ret = fd < 0 ? fd :
			fsocket_spawn_locked(g, gsock, a->cpu, a->flags, &file);
		sockfd_put(gsock);
		if (ret < 0) {
			if (fd >= 0)
				put_unused_fd(fd);
			if (ret != -EEXIST && !first_err)
				first_err = ret;
			continue;
		}
		fd_install(fd, file);
		cpu = ret;
		count++;
	}
	mutex_unlock(&fsocket_listen_lock);

	if (!count && first_err)
		return first_err;
	a->local_fd = count;
	a->cpu = cpu;
	return 0;
}

/* The caller's local listener of the group of @gsk, referenced, or NULL. */
static struct fsocket_local *fsocket_local_get(struct sock *gsk)
{
	struct pid *me = task_pid(current);
	struct fsocket_local *l = NULL;
	struct fsocket_group *g;
	unsigned int cpu;

	rcu_read_lock();
	g = fsocket_group_find(gsk);
	if (!g)
		goto out;
	/* A pinned worker's slot is its current CPU's. */
	l = rcu_dereference(g->local[raw_smp_processor_id()]);
	if (!l || l->owner != me) {
		for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
			l = rcu_dereference(g->local[cpu]);
			if (l && l->owner == me)
				break;
		}
	}
	if (l && (l->owner != me || !refcount_inc_not_zero(&l->ref)))
		l = NULL;
out:
	rcu_read_unlock();
	return l;
}

static int fsocket_put_addr(struct socket *sock, u64 uaddr, u64 ulenp,
			    int ulen)
{
	struct sockaddr_storage addr;
	int len;

	len = kernel_getpeername(sock, (struct sockaddr *)&addr);
	if (len < 0)
		return len;
	if (uaddr && copy_to_user(u64_to_user_ptr(uaddr), &addr,
				  min(len, ulen)))
		return -EFAULT;
	if (put_user(len, (u32 __user *)u64_to_user_ptr(ulenp)))
		return -EFAULT;
	return 0;
}

long fsocket_cmd_accept(void *arg, struct fsocket_newfd *nfd)
{
	struct fsocket_accept_arg *a = arg;
	struct socket *sock, *newsock = NULL;
	struct fsocket_local *l;
	u32 ulen = 0;
	int err, cpu = -1;

	if (a->flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (a->addr && !a->addrlen)
		return -EFAULT;
	if (a->addrlen) {
		if (get_user(ulen, (u32 __user *)u64_to_user_ptr(a->addrlen)))
			return -EFAULT;
		if ((int)ulen < 0)
			return -EINVAL;
	}
	sock = fsocket_lookup_tcp(a->fd, &err);
	if (!sock)
		return err;

	l = fsocket_local_get(sock->sk);
	if (l) {
		if (!kernel_accept(l->sock, &newsock, O_NONBLOCK))
			cpu = l->cpu;
		else
			newsock = NULL;
		fsocket_local_put(l);
	}
	if (!newsock) {
		err = kernel_accept(sock, &newsock, O_NONBLOCK);
		if (err) {
			newsock = NULL;
			goto out;
		}
	}
	if (a->addrlen) {
		err = fsocket_put_addr(newsock, a->addr, a->addrlen, ulen);
		if (err) {
			sock_release(newsock);
			goto out;
		}
	}
	err = fsocket_newfd_prepare(nfd, newsock, a->flags);
	if (err < 0)
		goto out;
	a->new_fd = err;
	a->cpu = cpu;
	fsocket_stat_inc(cpu >= 0 ? FSOCKET_STAT_LOCAL_ACCEPT :
		FSOCKET_STAT_GLOBAL_ACCEPT);
	err = 0;
out:
	sockfd_put(sock);
	return err;
}

/*
 * CLOSE and SHUTDOWN_LISTEN: run @op on the group of the listener that @arg
 * names, under fsocket_listen_lock; -EINVAL if it is not a fastsocket
 * listener.
 */
static long fsocket_on_group(void *arg, int (*op)(struct fsocket_group *g))
{
	struct fsocket_fd_arg *a = arg;
	struct fsocket_group *g;
	struct socket *sock;
	int err;

	if (a->reserved)
		return -EINVAL;
	sock = fsocket_lookup_tcp(a->fd, &err);
	if (!sock)
		return err;
	mutex_lock(&fsocket_listen_lock);
	g = fsocket_group_find(sock->sk);
	err = g ? op(g) : -EINVAL;
	mutex_unlock(&fsocket_listen_lock);
	sockfd_put(sock);
	return err;
}

/* CLOSE: free the calling worker's local listener and its CPU. */
static int fsocket_close_own_slot(struct fsocket_group *g)
{
	int cpu = fsocket_owner_slot(g, task_pid(current));

	if (cpu < 0)
		return -ENOENT;
	fsocket_slot_release(g, cpu);
	fsocket_group_resteer(g);
	return 0;
}

/* SHUTDOWN_LISTEN: the group stays, its local listeners go. */
static int fsocket_shutdown_group(struct fsocket_group *g)
{
	fsocket_group_release_all(g);
	return 0;
}

long fsocket_cmd_close(void *arg, struct fsocket_newfd *nfd)
{
	return fsocket_on_group(arg, fsocket_close_own_slot);
}

long fsocket_cmd_shutdown(void *arg, struct fsocket_newfd *nfd)
{
	return fsocket_on_group(arg, fsocket_shutdown_group);
}

void fsocket_listen_exit(void)
{
	struct fsocket_group *g, *tmp;

	cancel_delayed_work_sync(&fsocket_reap_work);
	mutex_lock(&fsocket_listen_lock);
	list_for_each_entry_safe(g, tmp, &fsocket_groups, node)
		fsocket_group_destroy(g);
	fsocket_workers_release();
	mutex_unlock(&fsocket_listen_lock);
	/* The RCU callbacks above run module code. */
	rcu_barrier();
}
