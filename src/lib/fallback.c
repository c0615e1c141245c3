// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfsocket per-CPU local listeners, made with plain calls for both back
 * ends: without the module the kernel's SO_INCOMING_CPU selection steers;
 * with it, the listener is handed to the module (ABI v2 JOIN) which steers.
 *
 * Every TCP listener gets SO_REUSEPORT at listen() (ops.c).  When a worker
 * adds a listener to its epoll set, the worker takes a free CPU slot among
 * the CPUs it may run on (mode 2) or uses the one CPU it is pinned to
 * (mode 1), and gets its own listener in the same reuseport group with
 * SO_INCOMING_CPU = that CPU.  Since Linux 6.1 (b261eda84ec1) reuseport
 * selection then picks, for a SYN processed on CPU n, the listener whose
 * SO_INCOMING_CPU is n.  Only then, and only in mode 2, is the thread pinned
 * (undone if that fails).
 *
 * CPU slots are POSIX record locks on the application's listening socket
 * (fdstate.c): every process holding it sees them, however it got it.
 */
#include "fsock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

int fs_user_kernel_ok(char *why, size_t len)
{
	const char *over = getenv("FASTSOCKET_KERNEL_RELEASE"); /* tests only */
	struct utsname u;
	const char *rel;
	int maj = 0, min = 0;

	if (over && *over) {
		rel = over;
	} else {
		if (uname(&u) < 0) {
			snprintf(why, len, "uname: %s", strerror(errno));
			return -1;
		}
		rel = u.release;
	}
	if (sscanf(rel, "%d.%d", &maj, &min) != 2) {
		snprintf(why, len, "cannot parse kernel release %.60s", rel);
		return -1;
	}
	if (maj < 6 || (maj == 6 && min < 1)) {
		snprintf(why, len,
			 "kernel %.60s < 6.1 cannot select reuseport listeners by CPU exactly",
			 rel);
		return -1;
	}
	return 0;
}

/* A socket in g's reuseport group for @cpu, bound but not listening. */
static int make_bound(struct fs_group *g, int cpu)
{
	int fd, one = 1;

	fd = fs_real.socket(g->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (fs_sockopt_copy(g->fd, fd, g->addr.ss_family) < 0 ||
	    fs_real.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    fs_real.setsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, sizeof(cpu)) < 0 ||
	    fs_real.bind(fd, (struct sockaddr *)&g->addr, g->addrlen) < 0) {
		int saved = errno;

		fs_real.close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * A privileged process (a master that will start workers under another
 * uid) makes bound sockets now: SO_REUSEPORT only groups sockets of the same
 * owner, so an unprivileged worker could not join the group with a socket
 * of its own.  The worker that takes CPU n listens on spare n.  Bounded so
 * that many CPUs and listeners cannot exhaust the fd table, and kept out of
 * the application's fd numbers (fs_hide_fd).
 */
static void make_spares(struct fs_group *g)
{
	struct rlimit rl;
	int c, fd, budget = 64;

	if (geteuid() != 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 16 < (rlim_t)budget)
		budget = (int)(rl.rlim_cur / 16);
	for (c = 0; c < fs.ncpu && budget > 0; c++) {
		if (!CPU_ISSET(c, &fs.cpus) || g->ent[c].spare_fd >= 0)
			continue;
		fd = make_bound(g, c);
		if (fd < 0) {
			fs_log(2, "fd %d: spare listener for CPU %d: %s", g->fd, c,
			       strerror(errno));
			continue;
		}
		g->ent[c].spare_fd = fs_hide_fd(fd, &g->ent[c].spare_id);
		budget--;
	}
}

void fs_user_prepare(struct fs_group *g)
{
	make_spares(g);
}

/* This thread, for reservations (not pthread_self: a new thread may reuse that). */
static unsigned long thread_token(void)
{
	static __thread unsigned long token __attribute__((tls_model("initial-exec")));
	static unsigned long last;

	if (!token)
		token = __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
	return token;
}

/* Claim CPU c of g for this process (in-process first, then across processes). */
static int claim(struct fs_group *g, int c)
{
	struct fs_entry *e = &g->ent[c];
	int expect = 0;

	if (e->reserved_by && e->reserved_by == thread_token() && e->local_fd < 0) {
		e->reserved_by = 0;	/* ours already (claim_everywhere) */
		return 0;
	}
	if (e->local_fd >= 0 ||
	    !__atomic_compare_exchange_n(&e->locked, &expect, 1, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return -1;
	/*
	 * Across processes: one per CPU, with or without the module.  With it,
	 * JOIN decides for listeners we make; the lock also tells whether a
	 * master's shared spare that still listens has a live worker.
	 */
	if (fs_slot_take(g, c) < 0) {
		__atomic_store_n(&e->locked, 0, __ATOMIC_RELEASE);
		return -1;
	}
	return 0;
}

static void unclaim(struct fs_group *g, int c)
{
	fs_slot_release(g, c);
	__atomic_store_n(&g->ent[c].locked, 0, __ATOMIC_RELEASE);
}

/* The lowest CPU of a set (-1: none). */
static int first_cpu(const cpu_set_t *set)
{
	int c;

	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			return c;
	return -1;
}

/* Give up this thread's reservations of CPU c (its take failed after all). */
static void release_reserved(int c)
{
	unsigned long self = thread_token();
	int i;

	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *h = &fs.groups[i];
		struct fs_entry *e = &h->ent[c];

		if (__atomic_load_n(&h->used, __ATOMIC_ACQUIRE) == 2 && e->reserved_by == self &&
		    e->local_fd < 0) {
			e->reserved_by = 0;
			unclaim(h, c);
		}
	}
}

/*
 * Claim CPU c of g and, for this thread, of every other listen group of the
 * process (a reservation: the thread's own claim() takes it over when it
 * adds that listener), or nothing.  Try-locks rolled back on failure: of
 * two processes racing for one CPU, at most one gets it for all its
 * listeners, and no worker is pinned to a CPU it holds for only some.
 */
static int claim_everywhere(struct fs_group *g, int c)
{
	unsigned long self = thread_token();
	int i;

	if (claim(g, c) < 0)
		return -1;
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *h = &fs.groups[i];

		if (h == g || __atomic_load_n(&h->used, __ATOMIC_ACQUIRE) != 2 ||
		    !fs_ident_same(h->fd, &h->id))
			continue;
		if (claim(h, c) < 0) {
			release_reserved(c);
			unclaim(g, c);
			return -1;
		}
		h->ent[c].reserved_by = self;
	}
	return 0;
}

/*
 * The CPU (>= from) for this thread's local listener, claimed; -1 if none.
 * want: a CPU to take first if it is free (-1: none).
 */
static int pick_cpu(struct fs_group *g, const cpu_set_t *cur, int from, int want)
{
	int c, n = CPU_COUNT(cur);

	if (fs.spawn_mode == 1 || n == 1) {
		/* Pinned (by the application or by us for another listener). */
		c = fs_tl_cpu >= 0 ? fs_tl_cpu : n == 1 ? first_cpu(cur) : -1;
		if (c < 0 || c >= fs.ncpu || !CPU_ISSET(c, &fs.cpus) || !CPU_ISSET(c, cur)) {
			if (fs.spawn_mode == 1)
				fs_log(2, "fd %d: mode 1 and the worker is not pinned to one CPU; global listener",
				       g->fd);
			return -1;
		}
		return c >= from && claim(g, c) == 0 ? c : -1;
	}
	/* The CPU whose connections reach the shared listener (retry_cpus). */
	c = want;
	if (c >= from && c < fs.ncpu && CPU_ISSET(c, &fs.cpus) && CPU_ISSET(c, cur) &&
	    claim_everywhere(g, c) == 0)
		return c;
	/*
	 * The worker is pinned to what it takes first and its other listeners
	 * need the same CPU, so a CPU is taken for all of them or not at all.
	 * Taking one listener's slot where another process held another's let
	 * two new nginx workers, retaking CPUs listener by listener after a
	 * binary upgrade, each hold half of one CPU, both pinned there, while
	 * a CPU nobody could take had no local listener (78-92% locality).
	 */
	for (c = from; c < fs.ncpu; c++)
		if (CPU_ISSET(c, &fs.cpus) && CPU_ISSET(c, cur) && claim_everywhere(g, c) == 0)
			return c;
	return -1;
}

/* A take that failed after pick_cpu(): CPU c and its reservations go back. */
static void give_up(struct fs_group *g, int c)
{
	unclaim(g, c);
	release_reserved(c);
}

struct fs_entry *fs_user_spawn(struct fs_group *g, int want)
{
	struct fs_entry *e;
	cpu_set_t cur;
	int cpu, local, shared = 0, from = 0;

	if (!fs_sockopt_copyable(g->fd))
		return NULL;
	if (sched_getaffinity(0, sizeof(cur), &cur) < 0)
		return NULL;
again:
	shared = 0;
	cpu = pick_cpu(g, &cur, from, want);
	if (cpu < 0) {
		fs_log(1, "fd %d (port %d): no free CPU slot; global listener",
		       g->fd, g->port);
		return NULL;
	}
	e = &g->ent[cpu];
	local = make_bound(g, cpu);
	if (local >= 0 && fs_real.listen(local, g->backlog) < 0) {
		fs_real.close(local);
		local = -1;
	}
	if (local < 0 && e->spare_fd >= 0 && fs_ident_same(e->spare_fd, &e->spare_id)) {
		/* Not the listener's owner (privileges dropped): use the spare. */
		int acc = 0;
		socklen_t al = sizeof(acc);

		if (g->module &&
		    fs_real.getsockopt(e->spare_fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 &&
		    acc) {
			/*
			 * Module: the spare already listens although we hold
			 * CPU cpu's slot lock, so the worker that served it died
			 * and the master keeps the socket (and its queue): serve
			 * it as it is, never stop it (shared = 2).  Below, JOIN
			 * says EEXIST: the module still steers CPU cpu to it.
			 */
			local = e->spare_fd;
			shared = 2;
		} else if (fs_sockopt_copy(g->fd, e->spare_fd, g->addr.ss_family) == 0 &&
		    fs_real.setsockopt(e->spare_fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu,
				       sizeof(cpu)) == 0 &&
		    fs_real.listen(e->spare_fd, g->backlog) == 0) {
			local = e->spare_fd;
			shared = 1;
		}
	}
	if (local < 0) {
		fs_log(2, "fd %d: local listener for CPU %d failed: %s; global listener",
		       g->fd, cpu, strerror(errno));
		give_up(g, cpu);
		return NULL;
	}
	/* Module: the local listener serves this CPU once JOIN says so. */
	if (g->module && fs_module_join(g, local, cpu) != cpu &&
	    !(shared == 2 && errno == EEXIST)) {
		int err = errno;

		if (shared == 1)
			fs_real.shutdown(local, SHUT_RD);
		else if (!shared)
			fs_real.close(local);
		give_up(g, cpu);
		if (err == EEXIST && CPU_COUNT(&cur) > 1 && fs.spawn_mode == 2) {
			from = cpu + 1;	/* taken by another process: the next one */
			goto again;
		}
		return NULL;
	}
	/* Mode 2: pin only now, within the mask the thread had; undo on failure. */
	if (fs.spawn_mode == 2 && CPU_COUNT(&cur) > 1) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0) {
			fs_log(2, "cannot pin to CPU %d: %s; global listener", cpu,
			       strerror(errno));
			if (g->module)
				fs_module_leave(local);
			if (shared == 1 && !g->module)
				fs_real.shutdown(local, SHUT_RD);
			else if (!shared)
				fs_real.close(local);
			give_up(g, cpu);
			return NULL;
		}
		if (!fs_tl_pinned) {
			fs_tl_mask = cur;
			fs_tl_pinned = 1;
		}
	}
	if (shared) {
		e->id = e->spare_id;
	} else {
		local = fs_hide_fd(local, &e->id);
	}
	fs_tl_cpu = cpu;
	e->local_fd = local;
	e->epfd = -1;
	e->in_epoll = 0;
	e->shared = shared;
	e->module = g->module;
	__atomic_fetch_add(&g->nlocal, 1, __ATOMIC_RELAXED);
	fs_pc_cpu(g, cpu, 1);
	fs_bp_cpu(g, cpu, 1);
	fs_log(1, "fd %d (port %d): local listener fd %d on CPU %d%s", g->fd,
	       g->port, local, cpu, shared ? " (pre-made by the privileged parent)" : "");
	return e;
}
