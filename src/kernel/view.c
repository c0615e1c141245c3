// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/fastsocket/listeners: the host-wide, read-only (0400) view of every
 * listen group of every network namespace, in the format documented in
 * uapi/fastsocket.h ("# fastsocket listeners v1", then one line of
 * key=value pairs per group).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/in6.h>
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <net/inet_sock.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "fsocket.h"
#include "listen.h"

/* The process of a joined thread, 0 if it is gone. */
static pid_t fsocket_tgid(struct pid *pid)
{
	struct task_struct *t;
	pid_t tgid = 0;

	rcu_read_lock();
	t = pid_task(pid, PIDTYPE_PID);
	if (t)
		tgid = task_tgid_nr(t);
	rcu_read_unlock();
	return tgid;
}

/* Has the process of slot @upto's owner been printed before it? */
static bool fsocket_tgid_seen(struct fsocket_group *g, int upto, pid_t tgid)
{
	int cpu;

	if (tgid == pid_nr(g->owner))
		return true;
	for (cpu = 0; cpu < upto; cpu++) {
		struct fsocket_slot *l = fsocket_slot(g, cpu);

		if (l && fsocket_tgid(l->owner) == tgid)
			return true;
	}
	return false;
}

static void fsocket_show_pids(struct seq_file *m, struct fsocket_group *g)
{
	char sep = '=';
	int cpu;

	seq_puts(m, " pids");
	if (pid_nr(g->owner)) {
		seq_printf(m, "%c%d", sep, pid_nr(g->owner));
		sep = ',';
	}
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct fsocket_slot *l = fsocket_slot(g, cpu);
		pid_t tgid = l ? fsocket_tgid(l->owner) : 0;

		if (!tgid || fsocket_tgid_seen(g, cpu, tgid))
			continue;
		seq_printf(m, "%c%d", sep, tgid);
		sep = ',';
	}
	if (sep == '=')
		seq_puts(m, "=-");
}

static void fsocket_show_group(struct seq_file *m, struct fsocket_group *g)
{
	struct sock *gsk = fsocket_gsk(g);
	unsigned int port = ntohs(inet_sk(gsk)->inet_sport);
	u64 queued = READ_ONCE(gsk->sk_ack_backlog);
	u64 arrived = 0, local = 0;
	char sep = '=';
	int cpu;

	seq_printf(m, "netns=%u addr=", g->fn->net->ns.inum);
#if IS_ENABLED(CONFIG_IPV6)
	if (gsk->sk_family == AF_INET6)
		seq_printf(m, "[%pI6c]:%u", &gsk->sk_v6_rcv_saddr, port);
	else
#endif
		seq_printf(m, "%pI4:%u", &inet_sk(gsk)->inet_rcv_saddr, port);
	fsocket_show_pids(m, g);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		struct fsocket_slot *l = fsocket_slot(g, cpu);

		if (l)
			queued += READ_ONCE(l->m.sk->sk_ack_backlog);
	}
	seq_printf(m, " backlog=%u queued=%llu cpus",
		   (unsigned int)READ_ONCE(gsk->sk_max_ack_backlog),
		   (unsigned long long)queued);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		if (!fsocket_slot(g, cpu))
			continue;
		seq_printf(m, "%c%d", sep, cpu);
		sep = ',';
	}
	if (sep == '=')
		seq_puts(m, "=-");

	for_each_possible_cpu(cpu) {
		const struct fsocket_gcount *c = per_cpu_ptr(g->cnt, cpu);
		u64 n = READ_ONCE(c->arrived);

		arrived += n;
		local += READ_ONCE(c->local);
		if (n)
			seq_printf(m, " cpu%d=%llu", cpu, (unsigned long long)n);
	}
	seq_printf(m, " local=%llu remote=%llu steering=%s\n",
		   (unsigned long long)local,
		   (unsigned long long)(arrived - local),
		   g->foreign ? "foreign" : "on");
}

static int fsocket_view_show(struct seq_file *m, void *v)
{
	struct fsocket_group *g;
	struct fsocket_net *fn;

	seq_puts(m, "# fastsocket listeners v1\n");
	mutex_lock(&fsocket_nets_lock);
	list_for_each_entry(fn, &fsocket_nets, node) {
		mutex_lock(&fn->lock);
		list_for_each_entry(g, &fn->groups, node)
			fsocket_show_group(m, g);
		mutex_unlock(&fn->lock);
	}
	mutex_unlock(&fsocket_nets_lock);
	return 0;
}

int fsocket_view_init(struct proc_dir_entry *dir)
{
	return proc_create_single("listeners", 0400, dir,
				  fsocket_view_show) ? 0 : -ENOMEM;
}
