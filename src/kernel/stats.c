// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace counters and /proc/fastsocket/stats.
 *
 * Each namespace has its own per-CPU counters; /proc/fastsocket/stats shows
 * those of the reader's network namespace.  Format: a header line with the
 * column names, one line per possible CPU ("cpuN v v ..."), then a "total"
 * line.  Writing "0" resets the namespace's counters (CAP_NET_ADMIN in the
 * namespace's user namespace).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/kernel.h>
#include <linux/nsproxy.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <net/net_namespace.h>

#include "fsocket.h"
#include "listen.h"

static const char *const fsocket_stat_names[FSOCKET_NR_STATS] = {
	[FSOCKET_STAT_LOCAL_ACCEPT]	= "local_accept",
	[FSOCKET_STAT_GLOBAL_ACCEPT]	= "global_accept",
	[FSOCKET_STAT_SPAWN]		= "spawn",
	[FSOCKET_STAT_FALLBACK]		= "fallback",
	[FSOCKET_STAT_MIGRATED]		= "migrated",
	[FSOCKET_STAT_DROPPED]		= "dropped",
	[FSOCKET_STAT_RFD_HIT]		= "rfd_hit",
	[FSOCKET_STAT_RFD_MISS]		= "rfd_miss",
	[FSOCKET_STAT_EPOLL_SKIP]	= "epoll_skip",
	[FSOCKET_STAT_STALLED]		= "stalled",
	[FSOCKET_STAT_RESUMED]		= "resumed",
};

static struct proc_dir_entry *fsocket_proc_dir;

struct fsocket_stats __percpu *fsocket_stats_alloc(void)
{
	return alloc_percpu(struct fsocket_stats);
}

void fsocket_stat_add(const struct net *net, enum fsocket_stat s, u64 n)
{
	this_cpu_add(fsocket_net(net)->stats->v[s], n);
}

static int fsocket_stats_show(struct seq_file *m, void *v)
{
	struct fsocket_stats __percpu *stats = fsocket_net(m->private)->stats;
	u64 total[FSOCKET_NR_STATS] = { 0 };
	int cpu, i;

	seq_puts(m, "cpu");
	for (i = 0; i < FSOCKET_NR_STATS; i++)
		seq_printf(m, " %s", fsocket_stat_names[i]);
	seq_putc(m, '\n');

	for_each_possible_cpu(cpu) {
		const struct fsocket_stats *s = per_cpu_ptr(stats, cpu);

		seq_printf(m, "cpu%d", cpu);
		for (i = 0; i < FSOCKET_NR_STATS; i++) {
			u64 val = READ_ONCE(s->v[i]);

			total[i] += val;
			seq_printf(m, " %llu", (unsigned long long)val);
		}
		seq_putc(m, '\n');
	}

	seq_puts(m, "total");
	for (i = 0; i < FSOCKET_NR_STATS; i++)
		seq_printf(m, " %llu", (unsigned long long)total[i]);
	seq_putc(m, '\n');
	return 0;
}

/* The reader's network namespace, for as long as the file is open. */
static int fsocket_stats_open(struct inode *inode, struct file *file)
{
	struct net *net = get_net(current->nsproxy->net_ns);
	int err = single_open(file, fsocket_stats_show, net);

	if (err)
		put_net(net);
	return err;
}

static int fsocket_stats_release(struct inode *inode, struct file *file)
{
	struct net *net = ((struct seq_file *)file->private_data)->private;

	put_net(net);
	return single_release(inode, file);
}

static ssize_t fsocket_stats_write(struct file *file, const char __user *buf,
				   size_t count, loff_t *ppos)
{
	struct net *net = ((struct seq_file *)file->private_data)->private;
	struct fsocket_stats __percpu *stats = fsocket_net(net)->stats;
	int cpu, val, ret;

	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	ret = kstrtoint_from_user(buf, count, 0, &val);
	if (ret)
		return ret;
	if (val != 0)
		return -EINVAL;

	for_each_possible_cpu(cpu) {
		struct fsocket_stats *s = per_cpu_ptr(stats, cpu);
		int i;

		for (i = 0; i < FSOCKET_NR_STATS; i++)
			WRITE_ONCE(s->v[i], 0);
	}
	return count;
}

static const struct proc_ops fsocket_stats_ops = {
	.proc_open	= fsocket_stats_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= fsocket_stats_release,
	.proc_write	= fsocket_stats_write,
};

int fsocket_proc_init(void)
{
	fsocket_proc_dir = proc_mkdir("fastsocket", NULL);
	if (!fsocket_proc_dir) {
		pr_err("cannot create /proc/fastsocket\n");
		return -ENOMEM;
	}
	if (!proc_create("stats", 0644, fsocket_proc_dir, &fsocket_stats_ops) ||
	    fsocket_view_init(fsocket_proc_dir)) {
		pr_err("cannot create the files of /proc/fastsocket\n");
		proc_remove(fsocket_proc_dir);
		return -ENOMEM;
	}
	return 0;
}

void fsocket_proc_exit(void)
{
	proc_remove(fsocket_proc_dir);
}
