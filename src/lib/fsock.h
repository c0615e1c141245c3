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
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define FS_HIDDEN __attribute__((visibility("hidden")))

enum fs_backend {
	FS_BACKEND_OFF = 0,	/* pass-through */
	FS_BACKEND_MODULE,	/* /dev/fastsocket */
	FS_BACKEND_USER,	/* SO_REUSEPORT + SO_INCOMING_CPU + flock slots */
};

/* One byte per fd: what the library knows about it (low bits) + flags. */
enum fs_fd_kind {
	FD_NONE = 0,		/* not ours, or not interesting */
	FD_TCP,			/* AF_INET/AF_INET6 SOCK_STREAM socket, not listening */
	FD_LISTEN,		/* an application listener registered in a group */
	FD_INTERNAL,		/* the library's own fd (local listener, lock, device) */
};
#define FD_KIND_MASK 0x3
/* setsockopt() saw state the copier cannot read back (TCP_MD5SIG, an
 * attached reuseport program or eBPF filter): never accelerate this fd. */
#define FD_F_UNCOPYABLE 0x10

/* The kernel's identity of an open file: a remembered fd is only acted on
 * while it still names the same file (closed behind our back otherwise). */
struct fs_ident {
	uint64_t dev, ino;
};

#define FS_STASH 32

/* Per CPU, per group: the local listener owned by this process. */
struct fs_entry {
	int local_fd;		/* -1: none */
	int spare_fd;		/* user space: bound, not listening, made at listen() */
	int locked;		/* this process holds the CPU slot lock */
	int epfd;		/* epoll set the local listener is registered in, -1 */
	int in_epoll;
	int shared;		/* local_fd is spare_fd: other processes hold it too */
	int module;		/* joined with the module (ABI v2 JOIN) */
	int parked;		/* handed back: not listening, slot free, kept for a cheap resume */
	unsigned long reserved_by;	/* slot held for that thread's next claim (0: none) */
	struct fs_ident id, spare_id;
	/* Connections queued on the local listener when its worker stopped
	 * watching (backpressure hand-back); served first by the next accept. */
	int nstash;
	int stash[FS_STASH];
};

/* A local listener accept() and epoll use (not parked). */
static inline int fs_entry_live(const struct fs_entry *e)
{
	return e->local_fd >= 0 && !e->parked;
}

#define FS_MAX_GROUPS 64
#define FS_MAX_FDS (1 << 22)	/* fds above this are never tracked */

struct fs_group {
	int used;		/* 0 free, 1 being set up, 2 ready (atomic) */
	int fd;			/* the application's (global) listener */
	struct fs_ident id;	/* ... and its identity */
	int backlog;
	int module;		/* registered with the module (ABI v2 LISTEN) */
	int added_reuseport;	/* the library set SO_REUSEPORT at listen() */
	int app_excl;		/* the application asked for EPOLLEXCLUSIVE */
	int nlocal;		/* local listeners of this process (atomic) */
	int nstash;		/* parked connections over all entries (atomic) */
	/*
	 * A thread watching the listener without a local listener (every CPU
	 * was taken, e.g. by the old workers of an nginx binary upgrade): its
	 * epoll set, retried from accept() while connections reach it.
	 */
	int wait_epfd;		/* -1: nobody waits */
	struct fs_ident wait_epid;
	struct epoll_event wait_ev;
	unsigned long wait_thread;	/* pthread_self() of the watcher */
	int kick_fd;		/* eventfd telling an epoll set "accept: stash", -1 */
	int kick_epfd;
	struct fs_ident kick_id;
	/* epoll_wait.c: the event data all its registrations carry (atomic). */
	int ep_state;		/* FS_EP_NONE, FS_EP_ONE (fold), FS_EP_MIXED */
	uint64_t ep_data;
	int port;
	socklen_t addrlen;
	struct sockaddr_storage addr;
	struct fs_entry *ent;	/* [fs.ncpu] */
	struct fs_rp_slot *bp;	/* backpressure state (backpressure.c), or NULL */
	void *bp_area;		/* where this slot's state is mapped (kept) */
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
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*fclose)(void *);
	long (*syscall)(long, ...);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*dup)(int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*pthread_create)(void *, const void *, void *(*)(void *), void *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			    const sigset_t *);
};

struct fs_state {
	int ready;		/* init done */
	int backend;		/* enum fs_backend */
	int spawn_mode;		/* FASTSOCKET_LISTEN_SPAWN: 0, 1, 2 */
	int verbose;
	int log_fd;		/* FASTSOCKET_LOG_FILE, or 2 when verbose, else -1 */
	pid_t pid;		/* this process (a vfork child has another pid) */
	int ncpu;		/* size of per-group entry arrays (max CPU id + 1) */
	cpu_set_t cpus;		/* CPUs workers may be pinned to */
	int devfd;		/* /dev/fastsocket, -1 */
	int fd_base;		/* internal fds are moved to >= this number */
	uint8_t *fdk;		/* enum fs_fd_kind | flags per fd */
	int nfd;
	struct fs_group *groups; /* [FS_MAX_GROUPS] */
};

extern struct fs_state fs FS_HIDDEN;
extern struct fs_real fs_real FS_HIDDEN;
/* CPU slot of the calling thread, -1 = none (initial-exec TLS: no allocation). */
extern __thread int fs_tl_cpu FS_HIDDEN __attribute__((tls_model("initial-exec")));
/* The library pinned this thread; the mask it had before (restored for
 * threads and children it creates). */
extern __thread int fs_tl_pinned FS_HIDDEN __attribute__((tls_model("initial-exec")));
extern __thread cpu_set_t fs_tl_mask FS_HIDDEN __attribute__((tls_model("initial-exec")));
/* ops.c: a listener this thread deleted from epoll, maybe to re-add it at
 * once (nginx); its CPU is handed back at the thread's next other call. */
extern __thread struct fs_group *fs_tl_hb_group FS_HIDDEN __attribute__((tls_model("initial-exec")));
FS_HIDDEN void fs_hand_back_pending(void);

/* core.c: configuration, logging, the per-fd kind table. */
FS_HIDDEN void fs_resolve(void);
FS_HIDDEN void fs_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
FS_HIDDEN int fs_kind(int fd);
FS_HIDDEN int fs_kind_flags(int fd);
FS_HIDDEN void fs_set_kind(int fd, int kind);
FS_HIDDEN void fs_set_flag(int fd, int flag);
FS_HIDDEN int fs_is_tcp(int domain, int type, int protocol);
FS_HIDDEN int fs_classify_fd(int fd);
FS_HIDDEN int fs_fd_nonblocking(int fd);
FS_HIDDEN int fs_fmt_cpus(char *buf, size_t len, const cpu_set_t *set);
FS_HIDDEN int fs_parse_cpulist(const char *s, cpu_set_t *set);

/* fdstate.c: identities, hidden internal fds, CPU slot locks. */
FS_HIDDEN int fs_ident_of(int fd, struct fs_ident *id);
FS_HIDDEN int fs_ident_same(int fd, const struct fs_ident *id);
FS_HIDDEN void fs_close_own(int fd, const struct fs_ident *id);
FS_HIDDEN int fs_hide_fd(int fd, struct fs_ident *id);
FS_HIDDEN int fs_in_other_process(void);
FS_HIDDEN int fs_slot_take(struct fs_group *g, int cpu);
FS_HIDDEN void fs_slot_release(struct fs_group *g, int cpu);
FS_HIDDEN void fs_slots_relock(struct fs_group *g);

/* groups.c */
FS_HIDDEN struct fs_group *fs_group_of(int fd);
FS_HIDDEN struct fs_group *fs_group_checked(int fd);
FS_HIDDEN struct fs_group *fs_group_new(int fd, int backlog, int module);
FS_HIDDEN void fs_group_release(struct fs_group *g, int app_fd_ours);
FS_HIDDEN void fs_entry_drop(struct fs_group *g, int c, int all);
FS_HIDDEN void fs_forget_internal(int fd);
FS_HIDDEN void fs_fd_gone(int fd, int closed);
FS_HIDDEN void fs_fd_reborn(int fd);
FS_HIDDEN void fs_after_fork_child(void);

/* ops.c: operations common to both back ends, called by interpose.c. */
FS_HIDDEN int fs_listen(int fd, int backlog);
FS_HIDDEN void fs_adopt_listener(int fd);
FS_HIDDEN void fs_adopt_inherited(void);
FS_HIDDEN int fs_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
FS_HIDDEN int fs_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags);
FS_HIDDEN int fs_shutdown_listener(int fd, int how);
FS_HIDDEN void fs_listener_setsockopt(int fd, int level, int name, const void *val,
				      socklen_t len);
FS_HIDDEN void fs_listener_getsockopt(int fd, int level, int name, void *val,
				      socklen_t *len);
FS_HIDDEN int fs_bind_conflicts(int fd, const struct sockaddr *addr);
FS_HIDDEN int fs_stash_from(struct fs_group *g, int c, int lfd);
FS_HIDDEN void fs_kick(struct fs_group *g, int epfd, const struct epoll_event *ev);
FS_HIDDEN int fs_listener_hides_detach(int fd);

/* sockopt_copy.c: the one option copier (both back ends). */
FS_HIDDEN int fs_sockopt_copy(int from, int to, int family);
FS_HIDDEN int fs_sockopt_copyable(int fd);
FS_HIDDEN int fs_sockopt_marks_uncopyable(int level, int name);

/* module.c: the ioctl client of ABI v2 (LISTEN, JOIN, LEAVE). */
FS_HIDDEN int fs_module_probe(char *why, size_t len, int *spawn);
FS_HIDDEN int fs_module_listen(int fd);
FS_HIDDEN int fs_module_join(struct fs_group *g, int local_fd, int cpu);
FS_HIDDEN void fs_module_leave(int local_fd);
FS_HIDDEN void fs_module_shutdown(int fd);

/* fallback.c: the per-CPU local listener (made with plain calls). */
FS_HIDDEN int fs_user_kernel_ok(char *why, size_t len);
FS_HIDDEN void fs_user_prepare(struct fs_group *g);
FS_HIDDEN struct fs_entry *fs_user_spawn(struct fs_group *g, int want);

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

/* epoll_wait.c: one report per listener per epoll_wait(). */
enum { FS_EP_NONE, FS_EP_ONE, FS_EP_MIXED };
FS_HIDDEN void fs_ep_listener_registered(struct fs_group *g, const struct epoll_event *ev);
FS_HIDDEN void fs_ep_group_reset(struct fs_group *g);
FS_HIDDEN void fs_ep_other_registered(const struct epoll_event *ev);
FS_HIDDEN int fs_ep_after_wait(struct epoll_event *ev, int n);

/* epoll_fast.c: skip no-op EPOLL_CTL_MOD; counters. */
FS_HIDDEN int fs_epoll_fast(int epfd, int op, int fd, struct epoll_event *ev);
FS_HIDDEN void fs_epoll_forget(int fd);
FS_HIDDEN int fs_epoll_data_in_use(uint64_t d, int except);
extern unsigned long fs_epoll_mod, fs_epoll_skip FS_HIDDEN;

/* backpressure.c: a stalled worker's CPU goes back (SK_REUSEPORT program). */
struct fs_rp_slot;
extern int fs_bp_enabled FS_HIDDEN;
FS_HIDDEN void fs_bp_listen(struct fs_group *g, int fresh);
FS_HIDDEN void fs_bp_cpu(struct fs_group *g, int c, int serving);
FS_HIDDEN void fs_bp_accepted_slow(struct fs_group *g);
FS_HIDDEN void fs_bp_release(struct fs_group *g);
/* A group with backpressure state has a watcher without a CPU. */
extern int fs_bp_waiting FS_HIDDEN;
FS_HIDDEN void fs_bp_before_wait(int epfd);
static inline void fs_bp_wait_hook(int epfd)
{
	if (__builtin_expect(__atomic_load_n(&fs_bp_waiting, __ATOMIC_RELAXED) != 0, 0))
		fs_bp_before_wait(epfd);
}
static inline int fs_bp_accepted(struct fs_group *g, int nfd)
{
	if (__builtin_expect(g->bp != NULL, 0) && nfd >= 0)
		fs_bp_accepted_slow(g);
	return nfd;
}

/* proc_counters.c: the per-process counters file `fastsocket ps` reads. */
FS_HIDDEN void fs_pc_listener_add(struct fs_group *g);
FS_HIDDEN void fs_pc_listener_gone(struct fs_group *g);
FS_HIDDEN int fs_pc_accepted(struct fs_group *g, int nfd, int local);	/* returns nfd */
FS_HIDDEN void fs_pc_cpu(struct fs_group *g, int cpu, int held);

#endif /* FSOCK_H */
