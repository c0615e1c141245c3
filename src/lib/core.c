// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfsocket policy and state: configuration from the environment, the
 * start-up line, the per-fd kind table, listen groups, and the operations
 * both back ends share (listen, epoll_ctl, accept, close, shutdown).
 */
#include "fsock.h"

#include <dlfcn.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct fs_state fs = { .devfd = -1 };
struct fs_real fs_real;
__thread int fs_tl_cpu __attribute__((tls_model("initial-exec"))) = -1;

#define RESOLVE(name) do {						\
	if (!fs_real.name)						\
		fs_real.name = (__typeof__(fs_real.name))dlsym(RTLD_NEXT, #name); \
} while (0)

void fs_resolve(void)
{
	RESOLVE(socket);
	RESOLVE(bind);
	RESOLVE(listen);
	RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(close);
	RESOLVE(shutdown);
	RESOLVE(fork);
	RESOLVE(epoll_ctl);
	RESOLVE(dup2);
	RESOLVE(dup3);
}

void fs_log(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n, saved = errno;

	if (level > fs.verbose)
		return;
	n = snprintf(buf, sizeof(buf), "fastsocket[%d]: ", (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0)
		n = 0;
	errno = saved;
}

int fs_kind(int fd)
{
	if (fd < 0 || fd >= fs.nfd)
		return FD_NONE;
	return fs.fdk[fd];
}

void fs_set_kind(int fd, int kind)
{
	if (fd >= 0 && fd < fs.nfd)
		fs.fdk[fd] = (uint8_t)kind;
}

int fs_is_tcp(int domain, int type, int protocol)
{
	return (domain == AF_INET || domain == AF_INET6) &&
	       (type & 0xf) == SOCK_STREAM &&
	       (protocol == 0 || protocol == IPPROTO_TCP);
}

/* For fds we did not see being created (inherited, created before init). */
int fs_classify_fd(int fd)
{
	int dom = 0, type = 0, proto = 0;
	socklen_t l = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0)
		return FD_NONE;
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return FD_NONE;
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0)
		return FD_NONE;
	return fs_is_tcp(dom, type, proto) ? FD_TCP : FD_NONE;
}

int fs_fd_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

int fs_fmt_cpus(char *buf, size_t len, const cpu_set_t *set)
{
	size_t n = 0;
	int c, start = -1;

	buf[0] = 0;
	for (c = 0; c <= CPU_SETSIZE; c++) {
		int in = c < CPU_SETSIZE && CPU_ISSET(c, set);

		if (in && start < 0)
			start = c;
		if (!in && start >= 0) {
			int w;

			if (start == c - 1)
				w = snprintf(buf + n, len - n, "%s%d", n ? "," : "", start);
			else
				w = snprintf(buf + n, len - n, "%s%d-%d", n ? "," : "",
					     start, c - 1);
			if (w < 0 || (size_t)w >= len - n)
				return -1;
			n += w;
			start = -1;
		}
	}
	return 0;
}

/* The one CPU the calling thread may run on, or -1. */
int fs_single_cpu(void)
{
	cpu_set_t set;
	int c;

	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) != 1)
		return -1;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return -1;
}

/* ---- listen groups ---------------------------------------------------- */

struct fs_group *fs_group_of(int fd)
{
	int i;

	if (fs_kind(fd) != FD_LISTEN || !fs.groups)
		return NULL;
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) == 2 && g->fd == fd)
			return g;
	}
	return NULL;
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
		g->addrlen = sizeof(g->addr);
		if (getsockname(fd, (struct sockaddr *)&g->addr, &g->addrlen) < 0) {
			__atomic_store_n(&g->used, 0, __ATOMIC_RELEASE);
			return NULL;
		}
		g->port = g->addr.ss_family == AF_INET6 ?
			ntohs(((struct sockaddr_in6 *)&g->addr)->sin6_port) :
			ntohs(((struct sockaddr_in *)&g->addr)->sin_port);
		for (c = 0; c < fs.ncpu; c++) {
			g->ent[c].local_fd = -1;
			g->ent[c].spare_fd = -1;
			g->ent[c].lock_fd = -1;
			g->ent[c].epfd = -1;
			g->ent[c].in_epoll = 0;
			g->ent[c].shared = 0;
		}
		__atomic_store_n(&g->used, 2, __ATOMIC_RELEASE);
		fs_set_kind(fd, FD_LISTEN);
		return g;
	}
	fs_log(2, "more than %d listeners; fd %d uses the plain listener",
	       FS_MAX_GROUPS, fd);
	return NULL;
}

static void drop_fd(int fd)
{
	if (fd >= 0) {
		fs_set_kind(fd, FD_NONE);
		fs_real.close(fd);
	}
}

/*
 * Let go of this process's slot.  owner: we are the worker that listens on
 * it (not a forked child): a shared (pre-made) local listener is put back to
 * bound-not-listening, so no connection waits for a worker that is gone.
 * all: the group goes away, close the spare too.
 */
static void entry_drop(struct fs_entry *e, int owner, int all)
{
	int lfd = e->local_fd, kfd = e->lock_fd;

	if (lfd >= 0 && e->shared && owner)
		fs_real.shutdown(lfd, SHUT_RD);
	e->local_fd = -1;
	e->lock_fd = -1;
	e->epfd = -1;
	e->in_epoll = 0;
	if (!e->shared)
		drop_fd(lfd);
	e->shared = 0;
	drop_fd(kfd);
	if (all) {
		drop_fd(e->spare_fd);
		e->spare_fd = -1;
	}
}

/* Forget a group (its fd is being closed); closes the local listeners. */
void fs_group_release(struct fs_group *g)
{
	int c;

	for (c = 0; c < fs.ncpu; c++)
		entry_drop(&g->ent[c], 1, 1);
	fs_set_kind(g->fd, FD_NONE);
	g->fd = -1;
	__atomic_store_n(&g->used, 0, __ATOMIC_RELEASE);
}

/* The application closes (or dup2()s over) one of our fds: let go of it. */
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
			if (g->ent[c].local_fd == fd) {
				g->ent[c].local_fd = -1;
				g->ent[c].in_epoll = 0;
				g->ent[c].shared = 0;
			}
			if (g->ent[c].spare_fd == fd)
				g->ent[c].spare_fd = -1;
			if (g->ent[c].lock_fd == fd)
				g->ent[c].lock_fd = -1;
		}
	}
}

/*
 * In a forked child: the local listeners and CPU slots belong to the parent.
 * Close our copies (closing never affects the parent's socket; an flock is
 * only released by LOCK_UN or by its last fd, so the parent keeps its slot).
 */
void fs_after_fork_child(void)
{
	int i;

	fs_tl_cpu = -1;
	if (!fs.ready || !fs.groups)
		return;
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];
		int c;

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) != 2)
			continue;
		for (c = 0; c < fs.ncpu; c++)
			entry_drop(&g->ent[c], 0, 0);
	}
}

/* ---- operations -------------------------------------------------------- */

int fs_listen(int fd, int backlog)
{
	struct fs_group *g;
	int kind = fs_kind(fd), one = 1, on = 0, rc, c;
	socklen_t l = sizeof(on);

	if (kind == FD_LISTEN && (g = fs_group_of(fd))) {
		/* listen() again, e.g. after shutdown(SHUT_RD) to pause. */
		if (g->module)
			return fs_real.listen(fd, backlog);
		rc = fs_real.listen(fd, backlog);
		if (rc == 0) {
			g->backlog = backlog;
			for (c = 0; c < fs.ncpu; c++)
				if (g->ent[c].local_fd >= 0)
					fs_real.listen(g->ent[c].local_fd, backlog);
		}
		return rc;
	}
	if (kind == FD_NONE && fd >= 0 && fd < fs.nfd)
		kind = fs_classify_fd(fd);
	if (kind != FD_TCP)
		return fs_real.listen(fd, backlog);

	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &l) < 0 || !on)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));

	if (fs.backend == FS_BACKEND_MODULE) {
		if (fs_module_listen(fd, backlog) == 0) {
			g = fs_group_new(fd, backlog, 1);
			if (!g)
				fs_log(2, "fd %d: no group slot; plain listener", fd);
			return 0;
		}
		fs_log(2, "fd %d: FSOCKET_IOC_LISTEN failed (%s); plain listen()",
		       fd, strerror(errno));
		return fs_real.listen(fd, backlog);
	}

	rc = fs_real.listen(fd, backlog);
	if (rc < 0)
		return rc;
	on = 0;
	l = sizeof(on);
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &l) < 0 || !on) {
		fs_log(2, "fd %d: SO_REUSEPORT not set; plain listener", fd);
		return 0;
	}
	g = fs_group_new(fd, backlog, 0);
	if (g)
		fs_user_prepare(g);
	return 0;
}

static struct fs_entry *my_entry(struct fs_group *g)
{
	int cpu = fs_tl_cpu;

	if (cpu < 0 || cpu >= fs.ncpu || g->ent[cpu].local_fd < 0)
		return NULL;
	return &g->ent[cpu];
}

#define FS_EXCL_OK (EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | \
		    EPOLLWRNORM | EPOLLWRBAND | EPOLLERR | EPOLLHUP | \
		    EPOLLWAKEUP | EPOLLET)

static int add_global(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct epoll_event gev = *ev;
	int rc;

	gev.events = (ev->events & FS_EXCL_OK) | EPOLLEXCLUSIVE;
	rc = fs_real.epoll_ctl(epfd, op, fd, &gev);
	if (rc < 0 && errno == EINVAL) {
		fs_log(2, "fd %d: EPOLLEXCLUSIVE refused; plain epoll_ctl", fd);
		rc = fs_real.epoll_ctl(epfd, op, fd, ev);
	}
	return rc;
}

int fs_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fs_group *g = fs_group_of(fd);
	struct fs_entry *e;
	struct epoll_event lev;
	int rc, saved, added;

	if (!g || (op != EPOLL_CTL_DEL && !ev))
		return fs_real.epoll_ctl(epfd, op, fd, ev);

	e = my_entry(g);
	if (op == EPOLL_CTL_ADD) {
		if (!e)
			e = g->module ? fs_module_spawn(g) : fs_user_spawn(g);
		if (!e || (e->epfd >= 0 && e->epfd != epfd))
			return fs_real.epoll_ctl(epfd, op, fd, ev);
		lev = *ev;
		lev.events &= ~EPOLLEXCLUSIVE;
		added = 0;
		if (!e->in_epoll) {
			if (fs_real.epoll_ctl(epfd, EPOLL_CTL_ADD, e->local_fd, &lev) == 0) {
				added = 1;
			} else if (errno != EEXIST) {
				fs_log(2, "fd %d: adding local listener to epoll failed (%s)",
				       fd, strerror(errno));
				return fs_real.epoll_ctl(epfd, op, fd, ev);
			}
		}
		rc = add_global(epfd, EPOLL_CTL_ADD, fd, ev);
		if (rc < 0) {
			saved = errno;
			if (added)
				fs_real.epoll_ctl(epfd, EPOLL_CTL_DEL, e->local_fd, NULL);
			errno = saved;
			return rc;
		}
		e->epfd = epfd;
		e->in_epoll = 1;
		return 0;
	}

	if (!e || e->epfd != epfd || !e->in_epoll)
		return fs_real.epoll_ctl(epfd, op, fd, ev);

	if (op == EPOLL_CTL_DEL) {
		rc = fs_real.epoll_ctl(epfd, op, fd, ev);
		if (rc == 0) {
			fs_real.epoll_ctl(epfd, EPOLL_CTL_DEL, e->local_fd, NULL);
			e->in_epoll = 0;
		}
		return rc;
	}
	if (op != EPOLL_CTL_MOD)
		return fs_real.epoll_ctl(epfd, op, fd, ev);

	/* MOD: EPOLLEXCLUSIVE registrations cannot be modified; re-add. */
	rc = fs_real.epoll_ctl(epfd, EPOLL_CTL_MOD, fd, ev);
	if (rc < 0 && errno == EINVAL) {
		if (fs_real.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -1;
		rc = add_global(epfd, EPOLL_CTL_ADD, fd, ev);
	}
	if (rc < 0)
		return rc;
	lev = *ev;
	lev.events &= ~EPOLLEXCLUSIVE;
	if (fs_real.epoll_ctl(epfd, EPOLL_CTL_MOD, e->local_fd, &lev) < 0 &&
	    errno == ENOENT)
		fs_real.epoll_ctl(epfd, EPOLL_CTL_ADD, e->local_fd, &lev);
	return 0;
}

/* Wait until the local or the global listener has a connection (blocking app fd). */
static int wait_both(int local_fd, int fd)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = local_fd, .events = POLLIN },
	};

	return poll(p, local_fd >= 0 ? 2 : 1, -1) < 0 ? -1 : 0;
}

int fs_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct fs_group *g = fs_group_of(fd);
	struct fs_entry *e;
	int nfd, blocking = -1;

	if (!g)
		return fs_real.accept4(fd, addr, len, flags);
	if (g->module) {
		nfd = fs_module_accept(fd, addr, len, flags);
		if (nfd != -2)
			return nfd;
		return fs_real.accept4(fd, addr, len, flags);
	}
	for (;;) {
		e = my_entry(g);
		if (!e)
			return fs_real.accept4(fd, addr, len, flags);
		nfd = fs_real.accept4(e->local_fd, addr, len, flags);
		if (nfd >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return nfd;
		if (blocking < 0)
			blocking = !fs_fd_nonblocking(fd);
		if (!blocking)
			return fs_real.accept4(fd, addr, len, flags);
		if (wait_both(e->local_fd, fd) < 0)
			return -1;
		{
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 0) == 1)
				return fs_real.accept4(fd, addr, len, flags);
		}
	}
}

/* Exported for module.c's blocking path. */
FS_HIDDEN int fs_wait_both(int local_fd, int fd);
int fs_wait_both(int local_fd, int fd)
{
	return wait_both(local_fd, fd);
}

int fs_close_listener(int fd)
{
	struct fs_group *g = fs_group_of(fd);

	if (g) {
		if (g->module) {
			int c, mine = 0;

			for (c = 0; c < fs.ncpu; c++)
				mine |= g->ent[c].local_fd >= 0;
			if (mine)
				fs_module_close(fd);
		}
		fs_group_release(g);
	}
	fs_set_kind(fd, FD_NONE);
	return fs_real.close(fd);
}

int fs_shutdown_listener(int fd, int how)
{
	struct fs_group *g = fs_group_of(fd);
	int c;

	if (g && (how == SHUT_RD || how == SHUT_RDWR)) {
		if (g->module) {
			fs_module_shutdown(fd);
			for (c = 0; c < fs.ncpu; c++)
				entry_drop(&g->ent[c], 1, 0);
		} else {
			for (c = 0; c < fs.ncpu; c++)
				if (g->ent[c].local_fd >= 0)
					fs_real.shutdown(g->ent[c].local_fd, how);
		}
	}
	return fs_real.shutdown(fd, how);
}

/* ---- initialisation ---------------------------------------------------- */

static int parse_cpulist(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a >= CPU_SETSIZE)
			return -1;
		b = a;
		s = end;
		if (*s == '-') {
			s++;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b >= CPU_SETSIZE)
				return -1;
			s = end;
		}
		for (; a <= b; a++)
			CPU_SET(a, set);
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return CPU_COUNT(set) ? 0 : -1;
}

static void choose_rundir(void)
{
	const char *d = getenv("FASTSOCKET_RUNDIR");

	if (d && *d) {
		snprintf(fs.rundir, sizeof(fs.rundir), "%s", d);
	} else if (geteuid() == 0) {
		snprintf(fs.rundir, sizeof(fs.rundir), "/run/fastsocket");
	} else if ((d = getenv("XDG_RUNTIME_DIR")) && *d) {
		snprintf(fs.rundir, sizeof(fs.rundir), "%s/fastsocket", d);
	} else {
		snprintf(fs.rundir, sizeof(fs.rundir), "/tmp/fastsocket-%u",
			 (unsigned int)geteuid());
	}
}

static int alloc_tables(void)
{
	struct rlimit rl;
	size_t gsz, esz;
	void *p;
	int c;

	fs.nfd = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max > (rlim_t)fs.nfd)
		fs.nfd = rl.rlim_max > FS_MAX_FDS ? FS_MAX_FDS : (int)rl.rlim_max;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max == RLIM_INFINITY)
		fs.nfd = FS_MAX_FDS;

	fs.ncpu = 1;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &fs.cpus))
			fs.ncpu = c + 1;

	gsz = sizeof(struct fs_group) * FS_MAX_GROUPS;
	esz = sizeof(struct fs_entry) * FS_MAX_GROUPS * fs.ncpu;
	p = mmap(NULL, (size_t)fs.nfd + gsz + esz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	fs.groups = (struct fs_group *)p;
	for (c = 0; c < FS_MAX_GROUPS; c++)
		fs.groups[c].ent = (struct fs_entry *)((char *)p + gsz) + c * fs.ncpu;
	fs.fdk = (uint8_t *)p + gsz + esz;
	return 0;
}

static void child_handler(void)
{
	fs_after_fork_child();
}

__attribute__((constructor)) static void fs_init(void)
{
	const char *mode = getenv("FASTSOCKET_MODE");
	const char *spawn = getenv("FASTSOCKET_LISTEN_SPAWN");
	const char *cpus = getenv("FASTSOCKET_CPUS");
	const char *verbose = getenv("FASTSOCKET_VERBOSE");
	char note[160] = "", why[200] = "", kwhy[160] = "", cl[128], line[640];
	cpu_set_t allowed, want;
	int want_mode = 0, n; /* 0 auto, 1 module, 2 userspace, 3 off */

	fs_resolve();
	if (getenv("FASTSOCKET_STATS_FILE") && *getenv("FASTSOCKET_STATS_FILE"))
		__atomic_store_n(&fs_out_stats, 1, __ATOMIC_RELEASE);
	fs.spawn_mode = 2;
	if (verbose && *verbose)
		fs.verbose = atoi(verbose) < 0 ? 0 : atoi(verbose);
	if (mode && *mode) {
		if (!strcmp(mode, "auto"))
			want_mode = 0;
		else if (!strcmp(mode, "module"))
			want_mode = 1;
		else if (!strcmp(mode, "userspace"))
			want_mode = 2;
		else if (!strcmp(mode, "off"))
			want_mode = 3;
		else
			snprintf(note + strlen(note), sizeof(note) - strlen(note),
				 "; ignored FASTSOCKET_MODE=%.20s (auto|module|userspace|off)",
				 mode);
	}
	if (spawn && *spawn) {
		if (!strcmp(spawn, "0") || !strcmp(spawn, "1") || !strcmp(spawn, "2"))
			fs.spawn_mode = spawn[0] - '0';
		else
			snprintf(note + strlen(note), sizeof(note) - strlen(note),
				 "; ignored FASTSOCKET_LISTEN_SPAWN=%.10s (0|1|2)", spawn);
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		CPU_ZERO(&allowed);
		CPU_SET(0, &allowed);
	}
	fs.cpus = allowed;
	if (cpus && *cpus) {
		if (parse_cpulist(cpus, &want) < 0) {
			snprintf(note + strlen(note), sizeof(note) - strlen(note),
				 "; ignored FASTSOCKET_CPUS=%.20s (not a CPU list)", cpus);
		} else {
			CPU_AND(&want, &want, &allowed);
			if (CPU_COUNT(&want))
				fs.cpus = want;
			else
				snprintf(note + strlen(note), sizeof(note) - strlen(note),
					 "; ignored FASTSOCKET_CPUS=%.20s (none allowed)", cpus);
		}
	}
	choose_rundir();
	fs_fmt_cpus(cl, sizeof(cl), &fs.cpus);

	fs.backend = FS_BACKEND_OFF;
	if (want_mode == 3) {
		snprintf(line, sizeof(line), "fastsocket: FASTSOCKET_MODE=off; pass-through");
	} else if (fs.spawn_mode == 0) {
		snprintf(line, sizeof(line),
			 "fastsocket: FASTSOCKET_LISTEN_SPAWN=0; pass-through");
	} else if (alloc_tables() < 0) {
		snprintf(line, sizeof(line),
			 "fastsocket: cannot map state tables (%s); pass-through",
			 strerror(errno));
	} else {
		int mod = want_mode == 2 ? -1 : fs_module_probe(why, sizeof(why));

		if (want_mode == 2)
			snprintf(why, sizeof(why), "FASTSOCKET_MODE=userspace");
		if (mod == 0) {
			fs.backend = FS_BACKEND_MODULE;
			snprintf(line, sizeof(line),
				 "fastsocket: using module %s (%s); CPUs %s, mode %d",
				 "/dev/fastsocket", why, cl, fs.spawn_mode);
		} else if (want_mode == 1) {
			snprintf(line, sizeof(line),
				 "fastsocket: %s; FASTSOCKET_MODE=module, pass-through", why);
		} else if (fs_user_kernel_ok(kwhy, sizeof(kwhy)) < 0) {
			snprintf(line, sizeof(line), "fastsocket: %s; %s; pass-through",
				 why, kwhy);
		} else if ((mkdir(fs.rundir, 0755) < 0 && errno != EEXIST) ||
			   access(fs.rundir, W_OK | X_OK) < 0) {
			snprintf(line, sizeof(line),
				 "fastsocket: %s; CPU slot directory %s unusable (%s); pass-through",
				 why, fs.rundir, strerror(errno));
		} else {
			fs.backend = FS_BACKEND_USER;
			snprintf(line, sizeof(line),
				 "fastsocket: %s; using user-space listen spawn (SO_REUSEPORT + SO_INCOMING_CPU, CPUs %s, mode %d)",
				 why, cl, fs.spawn_mode);
		}
	}
	n = strlen(line);
	snprintf(line + n, sizeof(line) - n - 1, "%s", note);
	n = strlen(line);
	line[n++] = '\n';
	if (write(2, line, n) < 0)
		n = 0;
	pthread_atfork(NULL, NULL, child_handler);
	__atomic_store_n(&fs.ready, 1, __ATOMIC_RELEASE);
}
