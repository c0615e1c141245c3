/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libfsocket internals shared by the interposition layer (interpose.c),
 * the policy/state code (core.c), the module client (module.c) and the
 * user-space fallback (fallback.c).
 *
 * Rules for everything reachable from an interposed call: no malloc, no
 * locks (a signal handler or a forked child must never find one held), no
 * exit(); any failure of an acceleration step falls back to the plain call.
 */
#ifndef FSOCK_H
#define FSOCK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#define FS_HIDDEN __attribute__((visibility("hidden")))

enum fs_backend {
	FS_BACKEND_OFF = 0,	/* pass-through */
	FS_BACKEND_MODULE,	/* /dev/fastsocket */
	FS_BACKEND_USER,	/* SO_REUSEPORT + SO_INCOMING_CPU + flock slots */
};

/* One byte per fd: what the library knows about it. */
enum fs_fd_kind {
	FD_NONE = 0,		/* not ours, or not interesting */
	FD_TCP,			/* AF_INET/AF_INET6 SOCK_STREAM socket, not listening */
	FD_LISTEN,		/* an application listener registered in a group */
	FD_INTERNAL,		/* the library's own fd (local listener, lock, device) */
};

/* Per CPU, per group: the local listener owned by this process. */
struct fs_entry {
	int local_fd;		/* -1: none */
	int spare_fd;		/* user space: bound, not listening, made at listen() */
	int lock_fd;		/* user-space slot lock, -1 in module mode */
	int epfd;		/* epoll set the local listener was added to, -1 */
	int in_epoll;
	int shared;		/* local_fd is spare_fd: other processes hold it too */
};

#define FS_MAX_GROUPS 64
#define FS_MAX_FDS (1 << 22)	/* fds above this are never tracked */

struct fs_group {
	int used;		/* 0 free, 1 being set up, 2 ready (atomic) */
	int fd;			/* the application's (global) listener */
	int backlog;
	int module;		/* created with FSOCKET_IOC_LISTEN */
	int port;
	socklen_t addrlen;
	struct sockaddr_storage addr;
	struct fs_entry *ent;	/* [fs.ncpu] */
};

struct fs_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*close)(int);
	int (*shutdown)(int, int);
	pid_t (*fork)(void);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
};

struct fs_state {
	int ready;		/* init done */
	int backend;		/* enum fs_backend */
	int spawn_mode;		/* FASTSOCKET_LISTEN_SPAWN: 0, 1, 2 */
	int verbose;
	int ncpu;		/* size of per-group entry arrays (max CPU id + 1) */
	cpu_set_t cpus;		/* CPUs workers may be pinned to */
	int devfd;		/* /dev/fastsocket, -1 */
	uint8_t *fdk;		/* enum fs_fd_kind per fd */
	int nfd;
	struct fs_group *groups; /* [FS_MAX_GROUPS] */
	char rundir[200];
};

extern struct fs_state fs FS_HIDDEN;
extern struct fs_real fs_real FS_HIDDEN;
/* CPU slot of the calling thread, -1 = none (initial-exec TLS: no allocation). */
extern __thread int fs_tl_cpu FS_HIDDEN __attribute__((tls_model("initial-exec")));

/* core.c */
FS_HIDDEN void fs_resolve(void);
FS_HIDDEN void fs_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
FS_HIDDEN int fs_kind(int fd);
FS_HIDDEN void fs_set_kind(int fd, int kind);
FS_HIDDEN struct fs_group *fs_group_of(int fd);
FS_HIDDEN struct fs_group *fs_group_new(int fd, int backlog, int module);
FS_HIDDEN void fs_group_release(struct fs_group *g);
FS_HIDDEN void fs_forget_internal(int fd);
FS_HIDDEN void fs_after_fork_child(void);
FS_HIDDEN int fs_is_tcp(int domain, int type, int protocol);
FS_HIDDEN int fs_classify_fd(int fd);
FS_HIDDEN int fs_fd_nonblocking(int fd);
FS_HIDDEN int fs_fmt_cpus(char *buf, size_t len, const cpu_set_t *set);
FS_HIDDEN int fs_single_cpu(void);

/* Operations common to both back ends (core.c), called by interpose.c. */
FS_HIDDEN int fs_listen(int fd, int backlog);
FS_HIDDEN int fs_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
FS_HIDDEN int fs_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags);
FS_HIDDEN int fs_close_listener(int fd);
FS_HIDDEN int fs_shutdown_listener(int fd, int how);

/* module.c */
FS_HIDDEN int fs_module_probe(char *why, size_t len);
FS_HIDDEN int fs_module_listen(int fd, int backlog);
FS_HIDDEN struct fs_entry *fs_module_spawn(struct fs_group *g);
FS_HIDDEN int fs_module_accept(int fd, struct sockaddr *addr, socklen_t *len,
			       int flags);
FS_HIDDEN void fs_module_close(int fd);
FS_HIDDEN void fs_module_shutdown(int fd);

/* fallback.c */
FS_HIDDEN int fs_user_kernel_ok(char *why, size_t len);
FS_HIDDEN void fs_user_prepare(struct fs_group *g);
FS_HIDDEN struct fs_entry *fs_user_spawn(struct fs_group *g);

/* rfd.c: source port encoding the CPU on connect(); counters. */
FS_HIDDEN int fs_rfd_pick(int fd, int cpu);
extern unsigned long fs_rfd_bound, fs_rfd_explicit, fs_rfd_exhausted FS_HIDDEN;

/*
 * rfd.c: reply locality of outgoing connections, measured only when
 * FASTSOCKET_STATS_FILE is set (fs_out_stats, decided by the constructor,
 * in every mode including off): connect() marks the fd, close() of a marked
 * fd compares SO_INCOMING_CPU with the closing thread's CPU.
 */
extern int fs_out_stats FS_HIDDEN;
FS_HIDDEN void fs_out_forget(int fd);	/* new fd number: drop a stale mark */
FS_HIDDEN void fs_out_closing(int fd);	/* fd is being closed: count it */
extern unsigned long fs_out_local, fs_out_remote, fs_out_norx FS_HIDDEN;

/* epoll_fast.c: skip no-op EPOLL_CTL_MOD; counters. */
FS_HIDDEN int fs_epoll_fast(int epfd, int op, int fd, struct epoll_event *ev);
FS_HIDDEN void fs_epoll_forget(int fd);
extern unsigned long fs_epoll_mod, fs_epoll_skip FS_HIDDEN;

#endif /* FSOCK_H */
