/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the files of fastsocket.ko.
 */
#ifndef _FSOCKET_H
#define _FSOCKET_H

#include <linux/types.h>
#include <linux/percpu.h>

#include "uapi/fastsocket.h"
#include "uapi/fastsocket_params.h"

/* From VERSION, set by Kbuild. */
#ifndef FSOCKET_VERSION
#define FSOCKET_VERSION "unknown"
#endif

struct net;
struct proc_dir_entry;
struct socket;

/*
 * main.c: the module parameters are variables named fsocket_<parameter>;
 * these are the ones the module acts on.  enable_listen_spawn can be
 * written at run time (the off switch): read it with READ_ONCE().
 */
extern int fsocket_enable_listen_spawn;
extern int fsocket_enable_fastsocket_debug;

/* dev.c: the misc device and the ioctl dispatcher. */
int fsocket_dev_init(void);
void fsocket_dev_exit(void);
u64 fsocket_features(void);

/* sock.c: the checks every fd argument goes through. */
struct socket *fsocket_lookup_tcp(int fd, int *err);

/* listen.c: LISTEN, JOIN, LEAVE, SHUTDOWN_LISTEN. */
long fsocket_cmd_listen(void *arg);
long fsocket_cmd_join(void *arg);
void fsocket_cmd_join_undo(void *arg);
long fsocket_cmd_leave(void *arg);
long fsocket_cmd_shutdown(void *arg);
int fsocket_listen_init(void);
void fsocket_listen_exit(void);
void fsocket_remove_all_groups(void);

/* stats.c: per network namespace counters, /proc/fastsocket/stats. */
enum fsocket_stat {
	FSOCKET_STAT_LOCAL_ACCEPT,	/* queued on the CPU's own listener */
	FSOCKET_STAT_GLOBAL_ACCEPT,	/* queued on the registered listener */
	FSOCKET_STAT_SPAWN,		/* successful JOINs */
	FSOCKET_STAT_FALLBACK,		/* JOINs refused: no free CPU */
	FSOCKET_STAT_MIGRATED,		/* queued on a closing local listener */
	FSOCKET_STAT_DROPPED,		/* (migrated by tcp_migrate_req or not) */
	FSOCKET_STAT_RFD_HIT,
	FSOCKET_STAT_RFD_MISS,
	FSOCKET_STAT_EPOLL_SKIP,
	FSOCKET_STAT_STALLED,		/* a worker stopped accepting: CPU handed back */
	FSOCKET_STAT_RESUMED,		/* ... and took connections again */
	FSOCKET_NR_STATS
};

struct fsocket_stats {
	u64 v[FSOCKET_NR_STATS];
};

void fsocket_stat_add(const struct net *net, enum fsocket_stat s, u64 n);
struct fsocket_stats __percpu *fsocket_stats_alloc(void);
int fsocket_proc_init(void);
void fsocket_proc_exit(void);

/* view.c: /proc/fastsocket/listeners. */
int fsocket_view_init(struct proc_dir_entry *dir);

#endif /* _FSOCKET_H */
