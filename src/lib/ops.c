// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The operations on an accelerated listener, common to both back ends:
 * listen, epoll_ctl, accept, close, shutdown, setsockopt/getsockopt and the
 * bind check.  Observable results (return values, errno, option values,
 * events) must be what plain Linux gives; tests/lib/fs-conform.c checks.
 */
#include "fsock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- listen ---------------------------------------------------------- */

/*
 * SO_REUSEPORT on fd unless the application set it: 1 already on, 2 set
 * by us (reads as 0 to the application), -1 cannot.
 */
static int add_reuseport(int fd)
{
	int one = 1, on = 0;
	socklen_t l = sizeof(on);

	if (fs_real.getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &l) == 0 && on)
		return 1;
	if (fs_real.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return -1;
	return 2;
}

static void undo_reuseport(int fd, int on)
{
	int zero = 0, saved = errno;

	if (on == 2)
		fs_real.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &zero, sizeof(zero));
	errno = saved;
}

/* A listening fd becomes a listen group (module: registered first). */
static struct fs_group *make_group(int fd, int backlog, int on, int fresh)
{
	struct fs_group *g;

	if (fs.backend == FS_BACKEND_MODULE && fs_module_listen(fd) < 0)
		return NULL;	/* listening, not accelerated */
	g = fs_group_new(fd, backlog, fs.backend == FS_BACKEND_MODULE);
	if (g) {
		g->added_reuseport = on == 2;
		fs_bp_listen(g, fresh);
		fs_user_prepare(g);
		fs_pc_listener_add(g);
	}
	return g;
}

int fs_listen(int fd, int backlog)
{
	struct fs_group *g;
	int kind = fs_kind(fd), on, rc, c, was = 0;
	socklen_t l;

	if (fs_in_other_process())
		return fs_real.listen(fd, backlog);
	if (kind == FD_LISTEN && (g = fs_group_checked(fd))) {
		/* listen() again, e.g. after shutdown(SHUT_RD) to pause. */
		rc = fs_real.listen(fd, backlog);
		if (rc == 0 && g->module)
			fs_module_listen(fd);	/* registered again after a pause */
		if (rc == 0) {
			g->backlog = backlog;
			for (c = 0; c < fs.ncpu; c++)
				if (fs_entry_live(&g->ent[c]))
					fs_real.listen(g->ent[c].local_fd, backlog);
		}
		return rc;
	}
	kind = fs_kind(fd);
	if (kind == FD_NONE && fd >= 0 && fd < fs.nfd)
		kind = fs_classify_fd(fd);
	if (kind != FD_TCP || !fs_sockopt_copyable(fd))
		return fs_real.listen(fd, backlog);

	/*
	 * SO_REUSEPORT now, not at bind(): the application's bind() saw plain
	 * semantics (a second bind to the port fails as without the library).
	 */
	on = add_reuseport(fd);
	if (on < 0)
		return fs_real.listen(fd, backlog);
	/* Already listening (a Node cluster worker's listener from its primary)? */
	l = sizeof(was);
	if (fs_real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &was, &l) < 0)
		was = 1;
	rc = fs_real.listen(fd, backlog);
	if (rc < 0 || !make_group(fd, backlog, on, !was))
		undo_reuseport(fd, on);
	return rc;
}

/* A non-negative integer sysctl (/proc/sys/...), or dflt if unreadable. */
static int sysctl_int(const char *path, int dflt)
{
	char b[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = -1;

	if (fd >= 0) {
		if (read(fd, b, sizeof(b) - 1) > 0 && b[0] >= '0' && b[0] <= '9')
			n = atoi(b);
		fs_real.close(fd);
	}
	return n >= 0 ? n : dflt;
}

/*
 * A listener this process did not make: inherited across exec (nginx's
 * binary upgrade hands its listeners to the new binary), from systemd
 * (LISTEN_FDS), or any other way a server starts with listening sockets.
 * It becomes a group as if listen() had been called here; its backlog is
 * unknown, so local listeners get net.core.somaxconn (the kernel's cap).
 */
void fs_adopt_listener(int fd)
{
	int v = 0, on;
	socklen_t l = sizeof(v);

	if (fs_kind(fd) != FD_NONE || fs_classify_fd(fd) != FD_TCP ||
	    fs_real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || !v ||
	    !fs_sockopt_copyable(fd))
		return;
	on = add_reuseport(fd);
	if (on < 0)
		return;
	if (!make_group(fd, sysctl_int("/proc/sys/net/core/somaxconn", 0) ?: 4096, on, 0))
		undo_reuseport(fd, on);
	else
		fs_log(1, "fd %d: inherited listener adopted", fd);
}

/* ---- epoll ------------------------------------------------------------- */

#define FS_EXCL_OK (EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | \
		    EPOLLWRNORM | EPOLLWRBAND | EPOLLERR | EPOLLHUP | \
		    EPOLLWAKEUP | EPOLLET)

/*
 * The application's listener in its epoll set, with EPOLLEXCLUSIVE added
 * (one wake-up per connection) only where the events allow it: an
 * application asking for EPOLLONESHOT or EPOLLEXCLUSIVE itself gets
 * exactly what it asked for.
 */
static int add_global(struct fs_group *g, int epfd, int fd, struct epoll_event *ev)
{
	struct epoll_event gev = *ev;
	int rc;

	if (ev->events & EPOLLEXCLUSIVE) {
		g->app_excl = 1;
		return fs_real.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev);
	}
	if (ev->events & ~FS_EXCL_OK)
		return fs_real.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev);
	gev.events |= EPOLLEXCLUSIVE;
	rc = fs_real.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &gev);
	if (rc < 0 && errno == EINVAL)
		rc = fs_real.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev);
	return rc;
}

static struct fs_entry *thread_entry(struct fs_group *g)
{
	int cpu = fs_tl_cpu;

	if (cpu < 0 || cpu >= fs.ncpu || g->ent[cpu].local_fd < 0)
		return NULL;
	return &g->ent[cpu];
}

/*
 * Local listeners follow the application's registrations: what a set holds
 * is asked of the kernel (ADD answers EEXIST, DEL and MOD ENOENT), never
 * remembered, so a closed set whose number came back is no trap.
 */
static int local_add(struct fs_entry *e, int epfd, const struct epoll_event *ev)
{
	struct epoll_event lev = *ev;

	lev.events &= ~EPOLLEXCLUSIVE;
	if (fs_real.epoll_ctl(epfd, EPOLL_CTL_ADD, e->local_fd, &lev) < 0 &&
	    errno != EEXIST)
		return -1;
	e->epfd = epfd;
	e->in_epoll = 1;
	return 0;
}

/*
 * Stop taking this CPU's connections here (the worker stopped watching):
 * the local listener stops listening (it leaves the reuseport group) and
 * the CPU slot is freed for other workers.  The socket is kept, bound, so
 * that watching again (nginx re-adds its listener every 16 accept events)
 * costs a listen(), not a new socket.
 */
static void hand_back(struct fs_group *g, int c)
{
	struct fs_entry *e = &g->ent[c];
	int migrate;

	/*
	 * Connections already queued here: with net.ipv4.tcp_migrate_req the
	 * kernel moves them to another listener of the group when this one
	 * stops; otherwise they are kept for this worker's next accept().
	 */
	if (e->module)
		fs_module_leave(e->local_fd);	/* no new connection lands here now */
	migrate = sysctl_int("/proc/sys/net/ipv4/tcp_migrate_req", 0) == 1;
	if (!migrate)
		fs_stash_from(g, c, e->local_fd);
	fs_log(2, "fd %d: CPU %d handed back to the group (worker stopped watching)",
	       g->fd, c);
	if (e->shared || fs_real.shutdown(e->local_fd, SHUT_RD) < 0) {
		fs_entry_drop(g, c, 0);
		return;
	}
	e->parked = 1;
	e->in_epoll = 0;
	__atomic_fetch_sub(&g->nlocal, 1, __ATOMIC_RELAXED);
	fs_pc_cpu(g, c, 0);
	if (e->locked) {
		fs_bp_cpu(g, c, 0);
		fs_slot_release(g, c);
		__atomic_store_n(&e->locked, 0, __ATOMIC_RELEASE);
	}
}

/* Park what waits on listener lfd in CPU c's stash (at most FS_STASH). */
int fs_stash_from(struct fs_group *g, int c, int lfd)
{
	struct fs_entry *e = &g->ent[c];
	int nfd, n = 0;

	while (e->nstash < FS_STASH &&
	       (nfd = fs_real.accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		e->stash[e->nstash++] = fs_hide_fd(nfd, NULL);
		__atomic_fetch_add(&g->nstash, 1, __ATOMIC_RELAXED);
		n++;
	}
	return n;
}

/*
 * nginx with accept_mutex off registers its listener with EPOLLEXCLUSIVE and
 * deletes it and adds it back at once every 16 accept events
 * (ngx_reorder_accept_events).  A hand-back on each of those DELs drained
 * the queue, reset the connections being established (shutdown) and
 * rebuilt the listener every 16 connections: twice the server CPU per
 * connection, reset connections under `wrk -c64` (issue 14).  So when the
 * application asked for EPOLLEXCLUSIVE itself, its DEL only marks this
 * thread's CPU: re-adding the listener to the same set cancels the mark;
 * the thread's next other epoll_ctl() (epoll_fast.c for other fds) or
 * accept() hands the CPU back.
 */
__thread struct fs_group *fs_tl_hb_group __attribute__((tls_model("initial-exec")));
static __thread int tl_hb_cpu __attribute__((tls_model("initial-exec")));
static __thread int tl_hb_epfd __attribute__((tls_model("initial-exec")));
static __thread pid_t tl_hb_pid __attribute__((tls_model("initial-exec")));

void fs_hand_back_pending(void)
{
	struct fs_group *g = fs_tl_hb_group;
	struct fs_entry *e;

	fs_tl_hb_group = NULL;
	if (tl_hb_pid != fs.pid)
		return;	/* marked before a fork(): the parent's, not this child's */
	e = &g->ent[tl_hb_cpu];
	if (fs_entry_live(e) && !e->in_epoll)
		hand_back(g, tl_hb_cpu);
}

/* Watching again: a parked local listener listens again if its CPU is free. */
static struct fs_entry *unpark(struct fs_group *g, struct fs_entry *e)
{
	int c = (int)(e - g->ent), expect = 0;

	if (!__atomic_compare_exchange_n(&e->locked, &expect, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return NULL;
	if (!fs_ident_same(e->local_fd, &e->id) ||
	    fs_slot_take(g, c) < 0 ||
	    fs_real.listen(e->local_fd, g->backlog) < 0 ||
	    (e->module && fs_module_join(g, e->local_fd, c) != c)) {
		fs_entry_drop(g, c, 0);	/* taken meanwhile: a fresh spawn */
		return NULL;
	}
	e->parked = 0;
	__atomic_fetch_add(&g->nlocal, 1, __ATOMIC_RELAXED);
	fs_pc_cpu(g, c, 1);
	fs_bp_cpu(g, c, 1);
	return e;
}

/*
 * EPOLLONESHOT on a listener: two registrations (local and global) would
 * each fire once; the application gets its one-shot semantics by having no
 * local listener in that set.
 */
static int wants_local(const struct epoll_event *ev)
{
	return (ev->events & EPOLLIN) && !(ev->events & EPOLLONESHOT);
}

/*
 * Connections parked by a hand-back wait for this worker: when it watches
 * again, an always-readable eventfd in its epoll set (with the listener's
 * event data) makes it call accept(), which serves them (from_stash).
 */
void fs_kick(struct fs_group *g, int epfd, const struct epoll_event *ev)
{
	struct epoll_event kev = *ev;
	int fd;

	if (g->kick_fd >= 0 || __atomic_load_n(&g->nstash, __ATOMIC_RELAXED) <= 0)
		return;
	fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return;
	fd = fs_hide_fd(fd, &g->kick_id);
	kev.events = EPOLLIN;
	if (fs_real.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &kev) < 0) {
		fs_close_own(fd, &g->kick_id);
		return;
	}
	g->kick_epfd = epfd;
	g->kick_fd = fd;
}

static void unkick(struct fs_group *g)
{
	int fd = g->kick_fd;

	if (fd < 0 || __atomic_load_n(&g->nstash, __ATOMIC_RELAXED) > 0)
		return;
	g->kick_fd = -1;
	fs_real.epoll_ctl(g->kick_epfd, EPOLL_CTL_DEL, fd, NULL);
	fs_close_own(fd, &g->kick_id);
}

static long coarse_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* want: a CPU to take first (-1: none), see retry_cpus(). */
static void take_cpu(struct fs_group *g, int epfd, const struct epoll_event *ev, int want)
{
	struct fs_entry *e = thread_entry(g);

	if (e && e->parked)
		e = unpark(g, e);
	if (!e)
		e = fs_user_spawn(g, want);
	if (e && local_add(e, epfd, ev) < 0) {
		fs_log(2, "fd %d: adding the local listener to epoll failed (%s)",
		       g->fd, strerror(errno));
		fs_entry_drop(g, (int)(e - g->ent), 0);
		e = NULL;
	}
	if (e) {
		if (g->wait_epfd == epfd)
			g->wait_epfd = -1;
	} else if (fs_ident_of(epfd, &g->wait_epid) == 0) {
		/* No CPU now: retried while connections reach the shared listener. */
		g->wait_ev = *ev;
		g->wait_thread = (unsigned long)pthread_self();
		g->wait_epfd = epfd;
		if (g->bp)	/* backpressure.c: take what a stalled owner left */
			__atomic_store_n(&fs_bp_waiting, 1, __ATOMIC_RELAXED);
	}
	fs_kick(g, epfd, ev);
}

/*
 * A waiting watcher got a connection from a shared listener: a CPU may have
 * come free (its worker exited or stopped watching).  Every listener this
 * thread waits for is retried, in group order, at most every 50 ms, first
 * for the CPU that processed this connection (it has no local listener).
 * The first take claims that CPU for all the process's listeners or fails
 * (pick_cpu), so the later ones find it held for this thread.  The epoll
 * set must still be the one the listener was registered in.
 */
static void retry_cpus(int conn)
{
	static long next_ms;
	unsigned long self = (unsigned long)pthread_self();
	int saved = errno, i, cpu = -1;
	socklen_t l = sizeof(cpu);
	long now = coarse_ms();

	if (now < __atomic_load_n(&next_ms, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&next_ms, now + 50, __ATOMIC_RELAXED);
	/* The CPU that processed it has no local listener: take that one. */
	if (fs_real.getsockopt(conn, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &l) < 0)
		cpu = -1;
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];
		int epfd = g->wait_epfd;

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) != 2 || epfd < 0 ||
		    g->wait_thread != self)
			continue;
		if (!fs_ident_same(epfd, &g->wait_epid)) {
			g->wait_epfd = -1;
			continue;
		}
		take_cpu(g, epfd, &g->wait_ev, cpu);
	}
	errno = saved;
}

int fs_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fs_group *g;
	struct fs_entry *e;
	int rc, c;

	if (__builtin_expect(fs_tl_hb_group != NULL, 0)) {
		if (op == EPOLL_CTL_ADD && epfd == tl_hb_epfd && fs_group_of(fd) == fs_tl_hb_group)
			fs_tl_hb_group = NULL;	/* re-added at once: keep the CPU */
		else
			fs_hand_back_pending();
	}
	if (fs_in_other_process() || !(g = fs_group_checked(fd)) ||
	    (op != EPOLL_CTL_DEL && !ev))
		return fs_real.epoll_ctl(epfd, op, fd, ev);

	if (op == EPOLL_CTL_ADD) {
		rc = add_global(g, epfd, fd, ev);
		if (rc == 0)
			fs_ep_listener_registered(g, ev);
		if (rc == 0 && wants_local(ev))
			take_cpu(g, epfd, ev, -1);
		return rc;
	}
	if (op != EPOLL_CTL_DEL && op != EPOLL_CTL_MOD)
		return fs_real.epoll_ctl(epfd, op, fd, ev);

	rc = fs_real.epoll_ctl(epfd, op, fd, ev);
	if (rc == 0 && g->wait_epfd == epfd && (op == EPOLL_CTL_DEL || !wants_local(ev)))
		g->wait_epfd = -1;	/* not watching: not waiting for a CPU either */
	if (rc < 0 && op == EPOLL_CTL_MOD && errno == EINVAL && !g->app_excl &&
	    !(ev->events & EPOLLEXCLUSIVE)) {
		/* Our EPOLLEXCLUSIVE registration cannot be modified: re-add. */
		if (fs_real.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -1;
		rc = add_global(g, epfd, fd, ev);
	}
	if (rc < 0)
		return rc;
	if (op == EPOLL_CTL_MOD)
		fs_ep_listener_registered(g, ev);
	for (c = 0; c < fs.ncpu; c++) {
		struct epoll_event lev;

		e = &g->ent[c];
		if (!fs_entry_live(e))
			continue;
		if (op == EPOLL_CTL_DEL || !wants_local(ev)) {
			/* Not watched here any more: the CPU goes back to the group. */
			if (fs_real.epoll_ctl(epfd, EPOLL_CTL_DEL, e->local_fd, NULL) == 0) {
				e->in_epoll = 0;
				if (op == EPOLL_CTL_DEL && g->app_excl && c == fs_tl_cpu && !fs_tl_hb_group) {
					fs_tl_hb_group = g;	/* maybe nginx's reorder */
					tl_hb_cpu = c;
					tl_hb_epfd = epfd;
					tl_hb_pid = fs.pid;
				} else {
					hand_back(g, c);
				}
			}
			continue;
		}
		lev = *ev;
		lev.events &= ~EPOLLEXCLUSIVE;
		fs_real.epoll_ctl(epfd, EPOLL_CTL_MOD, e->local_fd, &lev);
	}
	if (op == EPOLL_CTL_MOD && wants_local(ev))
		take_cpu(g, epfd, ev, -1);	/* watching again: take a CPU again */
	return 0;
}

/* ---- accept ------------------------------------------------------------ */

/* A connection parked by a hand-back, given the flags this accept asked for. */
static int from_stash(struct fs_group *g, struct sockaddr *addr, socklen_t *len,
		      int flags)
{
	int c, fd, nfd;

	for (c = 0; c < fs.ncpu; c++) {
		struct fs_entry *e = &g->ent[c];

		if (e->nstash <= 0)
			continue;
		fd = e->stash[--e->nstash];
		__atomic_fetch_sub(&g->nstash, 1, __ATOMIC_RELAXED);
		nfd = fcntl(fd, (flags & SOCK_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
		fs_set_kind(fd, FD_NONE);
		fs_real.close(fd);
		if (nfd < 0)
			return -1;
		if (!(flags & SOCK_NONBLOCK))
			fcntl(nfd, F_SETFL, fcntl(nfd, F_GETFL) & ~O_NONBLOCK);
		if (addr && len && getpeername(nfd, addr, len) < 0)
			*len = 0;
		unkick(g);
		return fs_bp_accepted(g, fs_pc_accepted(g, nfd, 1));
	}
	return -2;
}

/* Accept on one local listener: fd, -1 with EAGAIN, or -1 with an error. */
static int accept_local(struct fs_group *g, int c, struct sockaddr *addr,
			socklen_t *len, int flags)
{
	struct fs_entry *e = &g->ent[c];
	int nfd = fs_real.accept4(e->local_fd, addr, len, flags);

	fs_bp_accepted(g, fs_pc_accepted(g, nfd, 1));
	if (nfd < 0 && (errno == EBADF || errno == ENOTSOCK || errno == EINVAL)) {
		/* Not our listener any more (closed behind our back). */
		fs_entry_drop(g, c, 0);
		errno = EAGAIN;
	}
	return nfd;
}

/* Would every installed handler restart an interrupted accept()? */
static int handlers_restart(void)
{
	struct sigaction sa;
	int s;

	for (s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP || sigaction(s, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN &&
		    !(sa.sa_flags & SA_RESTART))
			return 0;
	}
	return 1;
}

static long rcvtimeo_ms(int fd)
{
	struct timeval tv;
	socklen_t l = sizeof(tv);

	if (fs_real.getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) < 0 ||
	    (!tv.tv_sec && !tv.tv_usec))
		return -1;
	return tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}

static long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * A blocking accept on a listener with local listeners: wait for any of
 * them as accept() would (SA_RESTART restarts, SO_RCVTIMEO times out with
 * EAGAIN).
 */
static int wait_any(struct fs_group *g, int fd, long *deadline)
{
	struct pollfd p[9];
	int n = 0, c, rc;
	long left = -1;

	p[n].fd = fd;
	p[n++].events = POLLIN;
	for (c = 0; c < fs.ncpu && n < 9; c++)
		if (fs_entry_live(&g->ent[c])) {
			p[n].fd = g->ent[c].local_fd;
			p[n++].events = POLLIN;
		}
	if (*deadline >= 0) {
		left = *deadline - mono_ms();
		if (left <= 0) {
			errno = EAGAIN;
			return -1;
		}
	}
	rc = poll(p, n, (int)left);
	if (rc == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (rc < 0 && errno == EINTR && handlers_restart())
		return 0;
	return rc < 0 ? -1 : 0;
}

/*
 * Module: a thread with a CPU of its own accepted from the shared listener.
 * If the module judged its CPU stalled (stall.c), its connections now go
 * to the shared listener and nothing is left on its own to take: JOIN of
 * its listener again says "accepting" and gets the CPU back (EEXIST
 * otherwise).  At most every 100 ms per thread.
 */
static __thread long tl_alive_ms __attribute__((tls_model("initial-exec")));

static void module_alive(struct fs_group *g)
{
	int c = fs_tl_cpu, saved = errno;
	long now;

	if (c < 0 || c >= fs.ncpu || !g->ent[c].module || !fs_entry_live(&g->ent[c]))
		return;
	now = coarse_ms();
	if (now - tl_alive_ms < 100 && now >= tl_alive_ms)
		return;
	tl_alive_ms = now;
	fs_module_join(g, g->ent[c].local_fd, c);
	errno = saved;
}

/* Accept on the shared listener; a connection there may free a CPU for us. */
static int accept_global(struct fs_group *g, int fd, struct sockaddr *addr,
			 socklen_t *len, int flags)
{
	int nfd = fs_real.accept4(fd, addr, len, flags);

	fs_bp_accepted(g, fs_pc_accepted(g, nfd, 0));
	if (__builtin_expect(g->wait_epfd >= 0, 0) && nfd >= 0)
		retry_cpus(nfd);
	if (g->module && nfd >= 0)
		module_alive(g);
	return nfd;
}

/*
 * Routing is by fd: a thread with a local listener of its own takes from it
 * and the shared listener; other threads' local listeners are left to them
 * (each watches its own in its epoll set: taking from them would serve a
 * connection on the wrong CPU) unless this thread has none of its own or
 * blocks in accept(), where plain Linux would hand it any connection.
 */
int fs_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct fs_group *g = fs_group_of(fd);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long deadline = -2;
	int nfd, c, own, nonblock;

	if (__builtin_expect(fs_tl_hb_group != NULL, 0))
		fs_hand_back_pending();
	if (!g)
		return fs_real.accept4(fd, addr, len, flags);
	if (__builtin_expect(__atomic_load_n(&g->nstash, __ATOMIC_RELAXED) > 0, 0)) {
		nfd = from_stash(g, addr, len, flags);
		if (nfd != -2)
			return nfd;
	}
	for (;;) {
		own = fs_tl_cpu;
		if (own >= 0 && own < fs.ncpu && fs_entry_live(&g->ent[own])) {
			nfd = accept_local(g, own, addr, len, flags);
			if (nfd >= 0 || errno != EAGAIN)
				return nfd;
		} else {
			own = -1;
		}
		if (__atomic_load_n(&g->nlocal, __ATOMIC_RELAXED) <= 0)
			return accept_global(g, fd, addr, len, flags);
		/* poll() is far cheaper than an accept() that finds nothing. */
		if (poll(&p, 1, 0) != 0)
			return accept_global(g, fd, addr, len, flags);
		nonblock = fs_fd_nonblocking(fd);
		if ((own < 0 || !nonblock) &&
		    __atomic_load_n(&g->nlocal, __ATOMIC_RELAXED) > (own >= 0))
			for (c = 0; c < fs.ncpu; c++) {
				if (c == own || !fs_entry_live(&g->ent[c]))
					continue;
				nfd = accept_local(g, c, addr, len, flags);
				if (nfd >= 0 || errno != EAGAIN)
					return nfd;
			}
		if (nonblock) {
			errno = EAGAIN;
			return -1;
		}
		if (deadline == -2) {
			long t = rcvtimeo_ms(fd);

			deadline = t < 0 ? -1 : mono_ms() + t;
		}
		if (wait_any(g, fd, &deadline) < 0)
			return -1;
		if (poll(&p, 1, 0) == 1)
			return accept_global(g, fd, addr, len, flags);
	}
}

/* ---- close, shutdown ------------------------------------------------------ */

int fs_shutdown_listener(int fd, int how)
{
	struct fs_group *g = fs_group_checked(fd);
	int c, rc;

	rc = fs_real.shutdown(fd, how);
	if (rc < 0 || !g || fs_in_other_process() || (how != SHUT_RD && how != SHUT_RDWR))
		return rc;
	/* The listener stopped listening: so do its local listeners. */
	for (c = 0; c < fs.ncpu; c++)
		if (g->ent[c].local_fd >= 0)
			fs_entry_drop(g, c, 0);
	if (g->module)
		fs_module_shutdown(fd);
	return rc;
}

/* ---- options ---------------------------------------------------------------- */

/* The application set an option on its listener: its local listeners too. */
void fs_listener_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct fs_group *g = fs_group_checked(fd);
	int c;

	if (!g || fs_in_other_process())
		return;
	if (level == SOL_SOCKET && name == SO_REUSEPORT) {
		g->added_reuseport = 0;	/* the application's choice now */
		return;
	}
	if (level == SOL_SOCKET && name == SO_INCOMING_CPU)
		return;
	if (fs_sockopt_marks_uncopyable(level, name) ||
	    (level == SOL_SOCKET && name == SO_ATTACH_FILTER)) {
		fs_log(1, "fd %d: state the local listeners cannot carry; plain listener", fd);
		fs_group_release(g, 1);
		return;
	}
	for (c = 0; c < fs.ncpu; c++)
		if (g->ent[c].local_fd >= 0)
			fs_real.setsockopt(g->ent[c].local_fd, level, name, val, len);
}

/*
 * SO_DETACH_REUSEPORT_BPF on a listener the application attached no program
 * to: plain Linux says ENOENT, or EINVAL if the socket has no SO_REUSEPORT
 * (the library added it).  Neither the library's SO_REUSEPORT nor its
 * backpressure program (backpressure.c) is the application's: answered
 * here, and the program stays.  1: answered (errno set).
 */
int fs_listener_hides_detach(int fd)
{
	struct fs_group *g;

	if (fs_kind_flags(fd) & FD_F_UNCOPYABLE)
		return 0;	/* the application attached its own: its call */
	g = fs_group_of(fd);
	if (!g)
		return 0;
	errno = g->added_reuseport ? EINVAL : ENOENT;
	return 1;
}

/* SO_REUSEPORT reads as the application set it, not as the library did. */
void fs_listener_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct fs_group *g = fs_group_of(fd);

	if (g && level == SOL_SOCKET && name == SO_REUSEPORT && g->added_reuseport &&
	    val && len && *len >= sizeof(int))
		*(int *)val = 0;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family == AF_INET && b->sa_family == AF_INET) {
		in_addr_t x = ((const struct sockaddr_in *)a)->sin_addr.s_addr;
		in_addr_t y = ((const struct sockaddr_in *)b)->sin_addr.s_addr;

		return x == y || x == htonl(INADDR_ANY) || y == htonl(INADDR_ANY);
	}
	if (a->ss_family == AF_INET6 && b->sa_family == AF_INET6) {
		const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
		const struct in6_addr *y = &((const struct sockaddr_in6 *)b)->sin6_addr;

		return !memcmp(x, y, sizeof(*x)) || IN6_IS_ADDR_UNSPECIFIED(x) ||
		       IN6_IS_ADDR_UNSPECIFIED(y);
	}
	return 0;
}

/*
 * A socket with SO_REUSEPORT binding to the port of a listener that only
 * has SO_REUSEPORT because of the library: plain Linux says EADDRINUSE.
 */
int fs_bind_conflicts(int fd, const struct sockaddr *addr)
{
	int i, on = 0, port;
	socklen_t l = sizeof(on);

	if (!fs.groups || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return 0;
	port = ntohs(addr->sa_family == AF_INET6 ?
		     ((const struct sockaddr_in6 *)addr)->sin6_port :
		     ((const struct sockaddr_in *)addr)->sin_port);
	if (!port)
		return 0;
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) != 2 ||
		    !g->added_reuseport || g->port != port || !same_addr(&g->addr, addr))
			continue;
		if (fs_real.getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &l) == 0 && on)
			return 1;
	}
	return 0;
}
