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

struct file;
struct socket;

/*
 * main.c: the module parameters are variables named fsocket_<parameter>;
 * these are the ones the module acts on.
 */
extern int fsocket_enable_listen_spawn;
extern int fsocket_enable_fastsocket_debug;

/* dev.c: the misc device and the ioctl dispatcher. */
int fsocket_dev_init(void);
void fsocket_dev_exit(void);
u64 fsocket_features(void);

/*
 * A new fd that a command hands back to the caller.  The dispatcher installs
 * it only after the result was copied to user space; on failure it drops the
 * file, gives the fd number back and calls abort (if set).
 */
struct fsocket_newfd {
	struct file *file;
	int fd;
	void (*abort)(void *data);
	void *abort_data;
};

int fsocket_newfd_prepare(struct fsocket_newfd *nfd, struct socket *sock,
			  unsigned int flags);
void fsocket_newfd_commit(struct fsocket_newfd *nfd);
void fsocket_newfd_abort(struct fsocket_newfd *nfd);

/* sock.c: socket commands and fd checks. */
bool fsocket_sock_is_tcp(const struct socket *sock);
struct socket *fsocket_lookup_tcp(int fd, int *err);
long fsocket_cmd_socket(void *arg, struct fsocket_newfd *nfd);

/* listen.c: fastsocket listeners and listen spawn. */
long fsocket_cmd_listen(void *arg, struct fsocket_newfd *nfd);
long fsocket_cmd_spawn(void *arg, struct fsocket_newfd *nfd);
long fsocket_cmd_spawn_all(void *arg, struct fsocket_newfd *nfd);
long fsocket_cmd_accept(void *arg, struct fsocket_newfd *nfd);
long fsocket_cmd_close(void *arg, struct fsocket_newfd *nfd);
long fsocket_cmd_shutdown(void *arg, struct fsocket_newfd *nfd);
void fsocket_listen_exit(void);

/* stats.c: per-CPU counters, /proc/fastsocket/stats. */
enum fsocket_stat {
	FSOCKET_STAT_LOCAL_ACCEPT,
	FSOCKET_STAT_GLOBAL_ACCEPT,
	FSOCKET_STAT_SPAWN,
	FSOCKET_STAT_FALLBACK,
	FSOCKET_STAT_MIGRATED,
	FSOCKET_STAT_DROPPED,
	FSOCKET_STAT_RFD_HIT,
	FSOCKET_STAT_RFD_MISS,
	FSOCKET_STAT_EPOLL_SKIP,
	FSOCKET_NR_STATS
};

struct fsocket_stats {
	u64 v[FSOCKET_NR_STATS];
};

DECLARE_PER_CPU(struct fsocket_stats, fsocket_stats);

static inline void fsocket_stat_add(enum fsocket_stat s, u64 n)
{
	this_cpu_add(fsocket_stats.v[s], n);
}

static inline void fsocket_stat_inc(enum fsocket_stat s)
{
	this_cpu_inc(fsocket_stats.v[s]);
}

int fsocket_stats_init(void);
void fsocket_stats_exit(void);

#endif /* _FSOCKET_H */
