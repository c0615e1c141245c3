// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfsocket module client: the ioctl calls of src/kernel/uapi/fastsocket.h.
 * Every function reports failure to its caller, which falls back to the
 * plain system call (-EBUSY / -EEXIST from SPAWN_LISTEN: keep using the
 * global listener).
 */
#include "fsock.h"
#include "fastsocket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FS_NEEDED_FEATURES (FSOCKET_FEAT_LISTEN | FSOCKET_FEAT_SPAWN_LISTEN | \
			    FSOCKET_FEAT_ACCEPT | FSOCKET_FEAT_CLOSE)

/* Wait until the local or the global listener has a connection. */
static int wait_both(int local_fd, int fd)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = local_fd, .events = POLLIN },
	};

	return poll(p, local_fd >= 0 ? 2 : 1, -1) < 0 ? -1 : 0;
}

static const char *dev_path(void)
{
	return FSOCKET_DEVICE_PATH;
}

/* 0: usable, why = a description; -1: not usable, why = the reason. */
int fs_module_probe(char *why, size_t len)
{
	struct fsocket_version v;
	int fd, err;

	fd = open(dev_path(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		snprintf(why, len, "%s (%s: %s)",
			 err == ENOENT ? "module not loaded" : "module not usable",
			 dev_path(), strerror(err));
		return -1;
	}
	memset(&v, 0, sizeof(v));
	if (ioctl(fd, FSOCKET_IOC_VERSION, &v) < 0) {
		snprintf(why, len, "module not usable (%s: VERSION: %s)",
			 dev_path(), strerror(errno));
		fs_real.close(fd);
		return -1;
	}
	v.module_version[FSOCKET_MODULE_VERSION_LEN - 1] = 0;
	if (v.abi_version != FSOCKET_ABI_VERSION) {
		snprintf(why, len,
			 "module ABI %u, library ABI %u (%s %s)", v.abi_version,
			 FSOCKET_ABI_VERSION, dev_path(), v.module_version);
		fs_real.close(fd);
		return -1;
	}
	if (v.listen_spawn == 0) {
		snprintf(why, len,
			 "module %s loaded with enable_listen_spawn=0", v.module_version);
		fs_real.close(fd);
		return -1;
	}
	if ((v.features & FS_NEEDED_FEATURES) != FS_NEEDED_FEATURES) {
		snprintf(why, len,
			 "module %s lacks listen spawn on this kernel (features 0x%llx)",
			 v.module_version, (unsigned long long)v.features);
		fs_real.close(fd);
		return -1;
	}
	snprintf(why, len, "abi %u, module %s, enable_listen_spawn=%d",
		 v.abi_version, v.module_version, v.listen_spawn);
	fs.devfd = fd;
	fs_set_kind(fd, FD_INTERNAL);
	return 0;
}

static int devfd(void)
{
	int fd = fs.devfd;

	if (fd >= 0)
		return fd;
	/* The application closed our fd (e.g. a close-all loop): reopen. */
	fd = open(dev_path(), O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		fs.devfd = fd;
		fs_set_kind(fd, FD_INTERNAL);
	}
	return fd;
}

int fs_module_listen(int fd, int backlog)
{
	struct fsocket_listen_arg a = { .fd = fd, .backlog = backlog };
	int d = devfd();

	if (d < 0)
		return -1;
	return ioctl(d, FSOCKET_IOC_LISTEN, &a) < 0 ? -1 : 0;
}

struct fs_entry *fs_module_spawn(struct fs_group *g)
{
	struct fsocket_spawn_arg a = { .fd = g->fd, .cpu = -1,
				       .flags = O_CLOEXEC | O_NONBLOCK };
	struct fs_entry *e;
	int d = devfd();

	if (d < 0)
		return NULL;
	if (fs.spawn_mode == 1) {
		a.cpu = fs_single_cpu();
		if (a.cpu < 0) {
			fs_log(2, "fd %d: mode 1 and the worker is not pinned to one CPU; global listener",
			       g->fd);
			return NULL;
		}
	} else {
		/* Keep the module's choice inside FASTSOCKET_CPUS. */
		cpu_set_t cur;

		if (sched_getaffinity(0, sizeof(cur), &cur) == 0) {
			cpu_set_t out;

			CPU_OR(&out, &cur, &fs.cpus);
			if (!CPU_EQUAL(&out, &fs.cpus))
				sched_setaffinity(0, sizeof(fs.cpus), &fs.cpus);
		}
	}
	if (ioctl(d, FSOCKET_IOC_SPAWN_LISTEN, &a) < 0) {
		fs_log(errno == EBUSY || errno == EEXIST ? 1 : 2,
		       "fd %d: SPAWN_LISTEN: %s; global listener", g->fd,
		       strerror(errno));
		return NULL;
	}
	if (a.cpu < 0 || a.cpu >= fs.ncpu || a.local_fd < 0) {
		if (a.local_fd >= 0) {
			struct fsocket_fd_arg c = { .fd = g->fd };

			ioctl(d, FSOCKET_IOC_CLOSE, &c);
			fs_real.close(a.local_fd);
		}
		fs_log(2, "fd %d: SPAWN_LISTEN gave CPU %d outside 0..%d; global listener",
		       g->fd, a.cpu, fs.ncpu - 1);
		return NULL;
	}
	e = &g->ent[a.cpu];
	e->local_fd = a.local_fd;
	e->shared = 0;
	e->module = 1;
	e->epfd = -1;
	e->in_epoll = 0;
	fs_set_kind(a.local_fd, FD_INTERNAL);
	fs_ident_of(a.local_fd, &e->id);
	__atomic_fetch_add(&g->nlocal, 1, __ATOMIC_RELAXED);
	fs_tl_cpu = a.cpu;
	fs_log(1, "fd %d: module local listener fd %d on CPU %d", g->fd,
	       a.local_fd, a.cpu);
	return e;
}

/* -2: not handled here, use the plain accept4(). */
int fs_module_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct fsocket_accept_arg a;
	int d = devfd(), r, local;

	if (d < 0)
		return -2;
	for (;;) {
		memset(&a, 0, sizeof(a));
		a.fd = fd;
		a.flags = flags & (SOCK_NONBLOCK | SOCK_CLOEXEC);
		a.addr = (unsigned long)addr;
		a.addrlen = (unsigned long)len;
		a.new_fd = -1;
		r = ioctl(d, FSOCKET_IOC_ACCEPT, &a);
		if (r >= 0) {
			int nfd = a.new_fd >= 0 ? a.new_fd : r;

			fs_set_kind(nfd, FD_NONE);
			return nfd;
		}
		if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EBADF ||
		    errno == ENOTSOCK || errno == EINVAL)
			return -2;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (fs_fd_nonblocking(fd))
			return -1;
		local = -1;
		if (fs_tl_cpu >= 0 && fs_tl_cpu < fs.ncpu) {
			struct fs_group *g = fs_group_of(fd);

			if (g)
				local = g->ent[fs_tl_cpu].local_fd;
		}
		if (wait_both(local, fd) < 0)
			return -1;
	}
}

/* This process lets go of its local listener of g (ABI v1: CLOSE). */
void fs_module_leave(struct fs_group *g, int local_fd)
{
	struct fsocket_fd_arg a = { .fd = g->fd };
	int d = devfd();

	(void)local_fd;
	if (d >= 0 && ioctl(d, FSOCKET_IOC_CLOSE, &a) < 0)
		fs_log(2, "fd %d: FSOCKET_IOC_CLOSE: %s", g->fd, strerror(errno));
}

void fs_module_shutdown(int fd)
{
	struct fsocket_fd_arg a = { .fd = fd };
	int d = devfd();

	if (d >= 0 && ioctl(d, FSOCKET_IOC_SHUTDOWN_LISTEN, &a) < 0)
		fs_log(2, "fd %d: FSOCKET_IOC_SHUTDOWN_LISTEN: %s", fd, strerror(errno));
}
