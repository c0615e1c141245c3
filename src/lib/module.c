// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfsocket module client, ABI v2 (src/kernel/uapi/fastsocket.h): the
 * library makes every socket itself (fallback.c, the same code as without
 * the module, with the one option copier) and only hands them over:
 * LISTEN registers the application's listener, JOIN gives a CPU's new
 * connections to this process's local listener, LEAVE takes them back.
 * Accepting is plain accept() on our own fds.  A module speaking another
 * ABI is not used (the user-space path is, and syslog says so once).
 */
#include "fsock.h"
#include "fastsocket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FS_NEEDED_FEATURES (FSOCKET_FEAT_LISTEN | FSOCKET_FEAT_JOIN | FSOCKET_FEAT_LEAVE)

static const char *dev_path(void)
{
	return FSOCKET_DEVICE_PATH;
}

/*
 * 0: usable, why = a description, *spawn = the module's enable_listen_spawn;
 * -1: not usable, why = the reason.
 */
int fs_module_probe(char *why, size_t len, int *spawn)
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
	*spawn = v.listen_spawn;
	fs.devfd = fs_hide_fd(fd, NULL);
	return 0;
}

static int devfd(void)
{
	int fd = fs.devfd;

	if (fd >= 0)
		return fd;
	/* The application closed our fd (e.g. a close-all loop): reopen. */
	fd = open(dev_path(), O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		fs.devfd = fd = fs_hide_fd(fd, NULL);
	return fd;
}

/* Register a listening SO_REUSEPORT socket: 0, or -1 (plain listener). */
int fs_module_listen(int fd)
{
	static int said;
	struct fsocket_listen_arg a = { .fd = fd, .backlog = 0 };
	int d = devfd();

	if (d < 0)
		return -1;
	if (ioctl(d, FSOCKET_IOC_LISTEN, &a) == 0)
		return 0;
	/* EBUSY: the application's own reuseport program or group (nginx
	 * "listen ... reuseport"); ENOSPC: the per-user bound.  Said once. */
	fs_log(__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED) ? 2 : 0,
	       "fd %d: module LISTEN: %s; this listener is not accelerated", fd,
	       strerror(errno));
	return -1;
}

/* local_fd serves CPU cpu's new connections: the CPU, or -1 (errno). */
int fs_module_join(struct fs_group *g, int local_fd, int cpu)
{
	struct fsocket_join_arg a = { .fd = g->fd, .local_fd = local_fd, .cpu = cpu };
	int d = devfd();

	if (d < 0)
		return -1;
	if (ioctl(d, FSOCKET_IOC_JOIN, &a) < 0) {
		fs_log(errno == EEXIST || errno == EBUSY ? 2 : 1,
		       "fd %d: module JOIN of CPU %d: %s", g->fd, cpu, strerror(errno));
		return -1;
	}
	return a.cpu;
}

/* local_fd's CPU goes back to the registered listener. */
void fs_module_leave(int local_fd)
{
	struct fsocket_fd_arg a = { .fd = local_fd };
	int d = devfd();

	if (d >= 0 && ioctl(d, FSOCKET_IOC_LEAVE, &a) < 0 && errno != ENOENT)
		fs_log(2, "fd %d: module LEAVE: %s", local_fd, strerror(errno));
}

void fs_module_shutdown(int fd)
{
	struct fsocket_fd_arg a = { .fd = fd };
	int d = devfd();

	if (d >= 0 && ioctl(d, FSOCKET_IOC_SHUTDOWN_LISTEN, &a) < 0 && errno != EINVAL)
		fs_log(2, "fd %d: module SHUTDOWN_LISTEN: %s", fd, strerror(errno));
}
