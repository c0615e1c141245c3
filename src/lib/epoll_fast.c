// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fast epoll, the part a stock kernel allows: the original kept a
 * file -> epitem pointer so epoll_ctl skipped the red-black-tree lookup;
 * that needs fields in struct file and the static ep_find().  What remains
 * is to skip the epoll_ctl calls that cannot change kernel state: an
 * EPOLL_CTL_MOD with the same epoll instance, events and data as the
 * registration the library last saw succeed.  Not skipped: EPOLLET and
 * EPOLLONESHOT registrations (a MOD re-arms / re-checks readiness there).
 *
 * Precondition (the original's): a socket is in at most one epoll instance,
 * and one thread changes its registration at a time.  Off with
 * FASTSOCKET_FAST_EPOLL=0; on by default, or as the module's
 * enable_fast_epoll says when the module is loaded.
 * Listeners get EPOLLEXCLUSIVE in core.c (single wake-up).
 */
#include "fsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct fe_ent {
	int epfd;		/* registered in this epoll instance, -1 none */
	uint32_t epgen;		/* generation of epfd at registration */
	uint32_t gen;		/* bumped whenever this fd number is closed */
	uint32_t events;
	uint64_t data;
	int in_set;		/* registered somewhere (epfd is -1 for exclusive ones) */
};

#define FE_PARAM "/sys/module/fastsocket/parameters/enable_fast_epoll"

static struct fe_ent *fe_tab;
static int fe_n;
static int fe_hi;		/* highest fd ever recorded + 1 (atomic) */
static int fe_state;		/* 0 undecided, 1 off, 2 on (atomic) */

unsigned long fs_epoll_mod, fs_epoll_skip;

static int fe_enabled(void)
{
	int st = __atomic_load_n(&fe_state, __ATOMIC_ACQUIRE);
	const char *env;

	if (__builtin_expect(st != 0, 1))
		return st == 2;
	env = getenv("FASTSOCKET_FAST_EPOLL");
	st = 2;
	if (env && *env) {
		st = strcmp(env, "0") ? 2 : 1;
	} else {
		char buf[8];
		int fd = open(FE_PARAM, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);

			if (n > 0 && buf[0] == '0')
				st = 1;
			syscall(SYS_close, fd);
		}
	}
	/* The table also serves epoll_wait.c (which data is in use), so it
	 * exists even when skipping is off. */
	if (fs.nfd > 0) {
		void *p = mmap(NULL, sizeof(struct fe_ent) * (size_t)fs.nfd,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		struct fe_ent *old = NULL;

		if (p == MAP_FAILED) {
			st = 1;	/* without the table: no skipping */
		} else if (!__atomic_compare_exchange_n(&fe_tab, &old, p, 0,
							 __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE)) {
			munmap(p, sizeof(struct fe_ent) * (size_t)fs.nfd);
		} else {
			fe_n = fs.nfd;
		}
	} else {
		st = 1;
	}
	__atomic_store_n(&fe_state, st, __ATOMIC_RELEASE);
	return st == 2;
}

/* fd is being closed (or replaced by dup2/dup3): forget its registration. */
void fs_epoll_forget(int fd)
{
	struct fe_ent *t = __atomic_load_n(&fe_tab, __ATOMIC_ACQUIRE);

	if (t && fd >= 0 && fd < fe_n) {
		t[fd].epfd = -1;
		t[fd].in_set = 0;
		t[fd].gen++;
	}
}

/*
 * Is data d registered for an fd other than except (in any set)?  -1: not
 * known (no table).  Scans the fds registered so far: called once when a
 * listener's data is first seen (epoll_wait.c).
 */
int fs_epoll_data_in_use(uint64_t d, int except)
{
	struct fe_ent *t;
	int i, hi;

	fe_enabled();
	t = __atomic_load_n(&fe_tab, __ATOMIC_ACQUIRE);
	if (!t)
		return -1;
	hi = __atomic_load_n(&fe_hi, __ATOMIC_ACQUIRE);
	for (i = 0; i < hi; i++)
		if (i != except && t[i].in_set && t[i].data == d)
			return 1;
	return 0;
}

/* epoll_ctl for an fd that is not a fastsocket listener. */
int fs_epoll_fast(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fe_ent *t, *e;
	int rc, skip, hi;

	if (__builtin_expect(fs_tl_hb_group != NULL, 0))
		fs_hand_back_pending();	/* not nginx's re-add: the CPU goes back (ops.c) */
	skip = fe_enabled();
	t = __atomic_load_n(&fe_tab, __ATOMIC_ACQUIRE);
	if (!t || fd < 0 || fd >= fe_n || epfd < 0 || epfd >= fe_n)
		return fs_real.epoll_ctl(epfd, op, fd, ev);
	e = &t[fd];
	/* epfd == 0 never matches: the table starts zeroed, so 0 means unset. */
	if (skip && op == EPOLL_CTL_MOD && ev && e->epfd == epfd && epfd > 0 &&
	    e->epgen == t[epfd].gen && e->events == ev->events &&
	    e->data == ev->data.u64 &&
	    !(ev->events & (EPOLLET | EPOLLONESHOT))) {
		__atomic_fetch_add(&fs_epoll_skip, 1, __ATOMIC_RELAXED);
		return 0;
	}
	rc = fs_real.epoll_ctl(epfd, op, fd, ev);
	if (op == EPOLL_CTL_MOD)
		__atomic_fetch_add(&fs_epoll_mod, 1, __ATOMIC_RELAXED);
	if (rc == 0 && ev && (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD)) {
		e->epfd = epfd;
		e->epgen = t[epfd].gen;
		e->events = ev->events & ~EPOLLEXCLUSIVE;
		e->data = ev->data.u64;
		e->in_set = 1;
		if (ev->events & EPOLLEXCLUSIVE)
			e->epfd = -1;	/* MOD of an exclusive entry is EINVAL: never skip */
		hi = __atomic_load_n(&fe_hi, __ATOMIC_RELAXED);
		while (hi <= fd && !__atomic_compare_exchange_n(&fe_hi, &hi, fd + 1, 0,
								__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			;
	} else if (op == EPOLL_CTL_DEL && rc == 0) {
		e->epfd = -1;
		e->in_set = 0;
	} else if (rc < 0) {
		e->epfd = -1;
	}
	return rc;
}

/* FASTSOCKET_STATS_FILE: one line appended per process at exit. */

__attribute__((destructor)) static void fs_stats_at_exit(void)
{
	const char *path = getenv("FASTSOCKET_STATS_FILE");
	char line[384];
	int fd, n;

	if (!path || !*path || !fs.ready)
		return;
	n = snprintf(line, sizeof(line),
		     "pid=%d epoll_mod=%lu epoll_skip=%lu rfd_bound=%lu rfd_explicit=%lu rfd_exhausted=%lu"
		     " out_local=%lu out_remote=%lu out_norx=%lu\n",
		     (int)getpid(), fs_epoll_mod, fs_epoll_skip, fs_rfd_bound,
		     fs_rfd_explicit, fs_rfd_exhausted,
		     __atomic_load_n(&fs_out_local, __ATOMIC_RELAXED),
		     __atomic_load_n(&fs_out_remote, __ATOMIC_RELAXED),
		     __atomic_load_n(&fs_out_norx, __ATOMIC_RELAXED));
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, n) < 0)
		n = 0;
	syscall(SYS_close, fd);
}
