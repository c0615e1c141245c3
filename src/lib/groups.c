// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Listen groups: an application listener the library accelerates, and per
 * CPU the local listener this process holds for it.  Entries belong to the
 * process, not to a thread: any thread's accept() or epoll_ctl() on the
 * application's fd reaches them (routing by fd).
 *
 * Everything remembered is checked against the kernel (fdstate.c) before it
 * is closed: a group whose fd no longer names its listener is forgotten
 * without touching the fd number, which is the application's now.
 */
#include "fsock.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The group of fd: its own, or, for a dup() of a listener (an alias), the
 * group whose listener is the same file.
 */
struct fs_group *fs_group_of(int fd)
{
	struct fs_ident id;
	int i;

	if (fs_kind(fd) != FD_LISTEN || !fs.groups)
		return NULL;
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) == 2 && g->fd == fd)
			return g;
	}
	if (fs_ident_of(fd, &id) < 0)
		return NULL;
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) == 2 &&
		    g->id.dev == id.dev && g->id.ino == id.ino)
			return g;
	}
	return NULL;
}

/* Another fd of this process naming g's listener (a dup), or -1. */
static int find_alias(struct fs_group *g, int except)
{
	int fd;

	for (fd = 0; fd < fs.nfd; fd++)
		if (fd != except && (fs.fdk[fd] & FD_KIND_MASK) == FD_LISTEN &&
		    fs_ident_same(fd, &g->id))
			return fd;
	return -1;
}

/* The group of fd if fd still names its listener; a stale group is dropped. */
struct fs_group *fs_group_checked(int fd)
{
	struct fs_group *g = fs_group_of(fd);

	if (g && !fs_ident_same(fd, &g->id)) {
		fs_log(2, "fd %d was closed behind the library's back; forgetting its group", fd);
		fs_group_release(g, 0);
		fs_set_kind(fd, FD_NONE);
		return NULL;
	}
	return g;
}

struct fs_group *fs_group_new(int fd, int backlog, int module)
{
	int i, c;

	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];
		int expect = 0;

		if (!__atomic_compare_exchange_n(&g->used, &expect, 1, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		g->fd = fd;
		g->backlog = backlog;
		g->module = module;
		g->added_reuseport = 0;
		g->app_excl = 0;
		g->kick_fd = -1;
		g->wait_epfd = -1;
		g->bp = NULL;
		fs_ep_group_reset(g);
		g->nlocal = 0;
		g->nstash = 0;
		g->addrlen = sizeof(g->addr);
		if (fs_ident_of(fd, &g->id) < 0 ||
		    getsockname(fd, (struct sockaddr *)&g->addr, &g->addrlen) < 0) {
			__atomic_store_n(&g->used, 0, __ATOMIC_RELEASE);
			return NULL;
		}
		g->port = g->addr.ss_family == AF_INET6 ?
			ntohs(((struct sockaddr_in6 *)&g->addr)->sin6_port) :
			ntohs(((struct sockaddr_in *)&g->addr)->sin_port);
		for (c = 0; c < fs.ncpu; c++) {
			struct fs_entry *e = &g->ent[c];

			memset(e, 0, sizeof(*e));
			e->local_fd = -1;
			e->spare_fd = -1;
			e->epfd = -1;
		}
		__atomic_store_n(&g->used, 2, __ATOMIC_RELEASE);
		fs_set_kind(fd, FD_LISTEN);
		return g;
	}
	fs_log(2, "more than %d listeners; fd %d uses the plain listener",
	       FS_MAX_GROUPS, fd);
	return NULL;
}

/* Close the connections parked by a hand-back (nobody will take them now). */
static void stash_drop(struct fs_entry *e)
{
	while (e->nstash > 0) {
		int fd = e->stash[--e->nstash];

		fs_set_kind(fd, FD_NONE);
		fs_real.close(fd);
	}
}

/*
 * Let go of this process's local listener of CPU c.  A shared (pre-made)
 * local listener is put back to bound-not-listening by its owner, so no
 * connection waits for a worker that is gone.  all: the group goes away,
 * the spare and the parked connections too.
 */
void fs_entry_drop(struct fs_group *g, int c, int all)
{
	struct fs_entry *e = &g->ent[c];
	int lfd = e->local_fd;

	if (lfd >= 0) {
		if (e->module && !e->parked)
			fs_module_leave(lfd);
		/*
		 * Stop listening first: a forked child may still hold a copy
		 * for a moment (it closes it in its atfork handler), and no SYN
		 * may land on a listener nobody will accept from.
		 */
		if (fs_ident_same(lfd, &e->id) && !(e->module && e->shared))
			fs_real.shutdown(lfd, SHUT_RD);	/* module + shared: LEAVE did it */
		if (!e->shared)
			fs_close_own(lfd, &e->id);
		e->local_fd = -1;
		if (!e->parked)
			__atomic_fetch_sub(&g->nlocal, 1, __ATOMIC_RELAXED);
		fs_pc_cpu(g, c, 0);
	}
	e->parked = 0;
	e->epfd = -1;
	e->in_epoll = 0;
	e->shared = 0;
	e->module = 0;
	e->reserved_by = 0;
	if (e->locked) {
		fs_bp_cpu(g, c, 0);
		fs_slot_release(g, c);
		__atomic_store_n(&e->locked, 0, __ATOMIC_RELEASE);
	}
	if (all) {
		stash_drop(e);
		fs_close_own(e->spare_fd, &e->spare_id);
		e->spare_fd = -1;
	}
}

/* Forget a group (its fd is being closed, or was closed behind our back). */
void fs_group_release(struct fs_group *g, int app_fd_ours)
{
	int c;

	fs_pc_listener_gone(g);
	for (c = 0; c < fs.ncpu; c++)
		fs_entry_drop(g, c, 1);
	fs_close_own(g->kick_fd, &g->kick_id);
	g->kick_fd = -1;
	fs_bp_release(g);
	fs_ep_group_reset(g);
	if (app_fd_ours)
		fs_set_kind(g->fd, FD_NONE);
	g->fd = -1;
	__atomic_store_n(&g->used, 0, __ATOMIC_RELEASE);
}

/*
 * One of our fds is gone or replaced (the application closed it, dup2()ed
 * over it, or close_range() took it): forget it without closing the number.
 */
void fs_forget_internal(int fd)
{
	int i, c;

	fs_set_kind(fd, FD_NONE);
	if (fd == fs.devfd) {
		fs.devfd = -1;
		return;
	}
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) != 2)
			continue;
		for (c = 0; c < fs.ncpu; c++) {
			struct fs_entry *e = &g->ent[c];

			if (e->local_fd == fd) {
				if (!e->parked)
					__atomic_fetch_sub(&g->nlocal, 1, __ATOMIC_RELAXED);
				e->local_fd = -1;
				e->parked = 0;
				fs_entry_drop(g, c, 0);
			}
			if (e->spare_fd == fd)
				e->spare_fd = -1;
		}
	}
}

/*
 * fd is about to be closed, or was replaced/closed already (closed = 1):
 * drop what we know about it.  Our own fds are closed only while they
 * still are ours.
 */
void fs_fd_gone(int fd, int closed)
{
	int k = fs_kind(fd);

	fs_epoll_forget(fd);
	if (k == FD_LISTEN) {
		struct fs_group *g = fs_group_of(fd);
		int alias;

		if (g && g->fd == fd) {
			if (!closed && !fs_ident_same(fd, &g->id))
				closed = 1;	/* stale already */
			/* A dup of it still listens: the group lives on there. */
			alias = find_alias(g, fd);
			if (alias >= 0)
				g->fd = alias;
			else
				fs_group_release(g, 1);
		}
	} else if (k == FD_INTERNAL) {
		fs_forget_internal(fd);
	}
	fs_set_kind(fd, FD_NONE);
}

/* A new fd got a number we still remembered: the old file is gone. */
void fs_fd_reborn(int fd)
{
	if (fs_kind(fd) != FD_NONE)
		fs_fd_gone(fd, 1);
}

/*
 * In a forked child: the local listeners and CPU slots belong to the parent
 * (POSIX record locks are not inherited).  Close our copies; closing never
 * affects the parent's socket.  The child runs with the mask its parent had
 * before the library pinned it.
 */
void fs_after_fork_child(void)
{
	int i;

	fs.pid = getpid();
	fs_tl_cpu = -1;
	if (fs_tl_pinned) {
		sched_setaffinity(0, sizeof(fs_tl_mask), &fs_tl_mask);
		fs_tl_pinned = 0;
	}
	if (!fs.ready || !fs.groups)
		return;
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];
		int c;

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) != 2)
			continue;
		g->wait_epfd = -1;	/* the parent's watcher, not ours */
		for (c = 0; c < fs.ncpu; c++) {
			struct fs_entry *e = &g->ent[c];

			stash_drop(e);
			e->locked = 0;	/* the lock stays the parent's */
			e->reserved_by = 0;
			if (e->local_fd >= 0 && !e->shared)
				fs_close_own(e->local_fd, &e->id);
			if (fs_entry_live(e))
				__atomic_fetch_sub(&g->nlocal, 1, __ATOMIC_RELAXED);
			e->local_fd = -1;
			e->parked = 0;
			e->epfd = -1;
			e->in_epoll = 0;
			e->shared = 0;
			e->module = 0;
		}
	}
}

/*
 * At start: every listening TCP socket the process was born with becomes a
 * group (fs_adopt_listener).  /proc/self/fd is read with getdents64 into a
 * stack buffer (no allocation); nothing to adopt without /proc.
 */
void fs_adopt_inherited(void)
{
	char buf[4096];
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n, off;

	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			char *end;
			long fd = strtol(d->d_name, &end, 10);

			off += d->d_reclen;
			if (end != d->d_name && !*end && fd != dir && fd >= 0 && fd < fs.nfd)
				fs_adopt_listener((int)fd);
		}
	}
	fs_real.close(dir);
}
