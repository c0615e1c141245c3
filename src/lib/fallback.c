// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfsocket user-space listen spawn (no module).
 *
 * Every TCP listener gets SO_REUSEPORT before bind().  When a worker adds a
 * listener to its epoll set, the worker takes a free CPU slot (mode 2) or
 * uses the one CPU it is pinned to (mode 1), and gets its own listener in
 * the same reuseport group with SO_INCOMING_CPU = that CPU.  Since Linux 6.1
 * (b261eda84ec1) reuseport selection then picks, for a SYN processed on CPU
 * n, the listener whose SO_INCOMING_CPU is n.
 *
 * CPU slots are shared between processes with flock() on one lock file per
 * (port, CPU) in fs.rundir: the kernel drops the lock when the holder dies.
 */
#include "fsock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

static void make_spares(struct fs_group *g);

static void lock_path(char *buf, size_t len, int port, int cpu)
{
	snprintf(buf, len, "%s/tcp-%d-cpu%d.lock", fs.rundir, port, cpu);
}

/*
 * At listen() time (usually in a privileged master before workers drop
 * privileges): create the lock files, readable and writable by the workers.
 */
void fs_user_prepare(struct fs_group *g)
{
	char path[256];
	int c, fd;

	if (mkdir(fs.rundir, 0755) < 0 && errno != EEXIST) {
		fs_log(2, "%s: %s", fs.rundir, strerror(errno));
		return;
	}
	for (c = 0; c < fs.ncpu; c++) {
		if (!CPU_ISSET(c, &fs.cpus))
			continue;
		lock_path(path, sizeof(path), g->port, c);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
		if (fd < 0)
			continue;
		fchmod(fd, 0666);
		fs_real.close(fd);
	}
	make_spares(g);
}

/* Try to take slot (port, cpu); returns the lock fd or -1. */
static int take_slot(int port, int cpu)
{
	char path[256];
	int fd;

	lock_path(path, sizeof(path), port, cpu);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0) {
		fs_log(2, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fs_real.close(fd);
		return -1;
	}
	fs_set_kind(fd, FD_INTERNAL);
	return fd;
}

static void copy_int_opt(int from, int to, int level, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(from, level, name, &v, &l) == 0 && v)
		setsockopt(to, level, name, &v, sizeof(v));
}

static void copy_opts(int from, int to, int family)
{
	copy_int_opt(from, to, SOL_SOCKET, SO_REUSEADDR);
	copy_int_opt(from, to, SOL_SOCKET, SO_KEEPALIVE);
	copy_int_opt(from, to, IPPROTO_TCP, TCP_NODELAY);
	copy_int_opt(from, to, IPPROTO_TCP, TCP_DEFER_ACCEPT);
	copy_int_opt(from, to, IPPROTO_TCP, TCP_FASTOPEN);
	if (family == AF_INET6) {
		copy_int_opt(from, to, IPPROTO_IPV6, IPV6_V6ONLY);
		copy_int_opt(from, to, IPPROTO_IPV6, IPV6_FREEBIND);
		copy_int_opt(from, to, IPPROTO_IPV6, IPV6_TRANSPARENT);
	} else {
		copy_int_opt(from, to, IPPROTO_IP, IP_FREEBIND);
		copy_int_opt(from, to, IPPROTO_IP, IP_TRANSPARENT);
	}
}

/* A socket in g's reuseport group for @cpu, bound but not listening. */
static int make_bound(struct fs_group *g, int cpu)
{
	int fd, one = 1;

	fd = fs_real.socket(g->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	copy_opts(g->fd, fd, g->addr.ss_family);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, sizeof(cpu)) < 0 ||
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
 * uid) makes one bound socket per CPU now: SO_REUSEPORT only groups sockets
 * of the same owner, so an unprivileged worker could not join the group
 * with a socket of its own.  The worker that takes CPU n listens on spare n.
 */
static void make_spares(struct fs_group *g)
{
	int c, fd;

	if (geteuid() != 0)
		return;
	for (c = 0; c < fs.ncpu; c++) {
		if (!CPU_ISSET(c, &fs.cpus) || g->ent[c].spare_fd >= 0)
			continue;
		fd = make_bound(g, c);
		if (fd < 0) {
			fs_log(2, "fd %d: spare listener for CPU %d: %s", g->fd, c,
			       strerror(errno));
			continue;
		}
		fs_set_kind(fd, FD_INTERNAL);
		g->ent[c].spare_fd = fd;
	}
}

struct fs_entry *fs_user_spawn(struct fs_group *g)
{
	struct fs_entry *e;
	int cpu = -1, lock = -1, local, c, pinned = 0, shared;

	if (fs.spawn_mode == 1) {
		cpu = fs_single_cpu();
		if (cpu < 0 || cpu >= fs.ncpu) {
			fs_log(2, "fd %d: mode 1 and the worker is not pinned to one CPU; global listener",
			       g->fd);
			return NULL;
		}
		lock = take_slot(g->port, cpu);
	} else if (fs_tl_cpu >= 0 && fs_tl_cpu < fs.ncpu) {
		/* A worker keeps its CPU for every listener. */
		cpu = fs_tl_cpu;
		lock = take_slot(g->port, cpu);
		pinned = 1;
	} else {
		/* A worker the application already pinned keeps its CPU if free. */
		c = fs_single_cpu();
		if (c >= 0 && c < fs.ncpu && CPU_ISSET(c, &fs.cpus)) {
			lock = take_slot(g->port, c);
			cpu = c;
		}
		for (c = 0; c < fs.ncpu && lock < 0; c++) {
			if (!CPU_ISSET(c, &fs.cpus))
				continue;
			lock = take_slot(g->port, c);
			cpu = c;
		}
	}
	if (lock < 0) {
		fs_log(1, "fd %d (port %d): no free CPU slot; global listener",
		       g->fd, g->port);
		return NULL;
	}
	if (fs.spawn_mode == 2 && !pinned) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0) {
			fs_log(2, "cannot pin to CPU %d: %s; global listener", cpu,
			       strerror(errno));
			fs_set_kind(lock, FD_NONE);
			fs_real.close(lock);
			return NULL;
		}
	}
	shared = 0;
	local = make_bound(g, cpu);
	if (local >= 0 && fs_real.listen(local, g->backlog) < 0) {
		fs_real.close(local);
		local = -1;
	}
	if (local < 0 && g->ent[cpu].spare_fd >= 0) {
		/* Not the listener's owner (privileges dropped): use the spare. */
		copy_opts(g->fd, g->ent[cpu].spare_fd, g->addr.ss_family);
		if (fs_real.listen(g->ent[cpu].spare_fd, g->backlog) == 0) {
			local = g->ent[cpu].spare_fd;
			shared = 1;
		}
	}
	if (local < 0) {
		fs_log(2, "fd %d: local listener for CPU %d failed: %s; global listener",
		       g->fd, cpu, strerror(errno));
		fs_set_kind(lock, FD_NONE);
		fs_real.close(lock);
		return NULL;
	}
	fs_set_kind(local, FD_INTERNAL);
	fs_tl_cpu = cpu;
	e = &g->ent[cpu];
	e->local_fd = local;
	e->lock_fd = lock;
	e->epfd = -1;
	e->in_epoll = 0;
	e->shared = shared;
	fs_log(1, "fd %d (port %d): local listener fd %d on CPU %d%s", g->fd,
	       g->port, local, cpu, shared ? " (pre-made by the privileged parent)" : "");
	return e;
}
