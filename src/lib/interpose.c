// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfsocket interposed symbols: thin wrappers only.  Each one is a plain
 * call unless the fd is one the library acts on (one byte load per call).
 * Before the constructor has run (another library's constructor calling
 * socket(), say) every wrapper passes through.
 */
#include "fsock.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FS_API __attribute__((visibility("default")))

#define ACTIVE() (__builtin_expect(fs.backend != FS_BACKEND_OFF, 1))

/* FASTSOCKET_STATS_FILE measurement (rfd.c): one load + branch otherwise. */
#define OUT_STATS() (__builtin_expect(__atomic_load_n(&fs_out_stats, __ATOMIC_RELAXED), 0))

#define NEED(name) do {							\
	if (__builtin_expect(!fs_real.name, 0))				\
		fs_resolve();						\
} while (0)

FS_API int socket(int domain, int type, int protocol)
{
	int fd;

	NEED(socket);
	if (!fs_real.socket)
		return syscall(SYS_socket, domain, type, protocol);
	fd = fs_real.socket(domain, type, protocol);
	if (fd >= 0 && OUT_STATS())
		fs_out_forget(fd);	/* closed behind our back (close_range...) */
	if (fd >= 0 && ACTIVE())
		fs_set_kind(fd, fs_is_tcp(domain, type, protocol) ? FD_TCP : FD_NONE);
	return fd;
}

FS_API int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	NEED(bind);
	if (!fs_real.bind)
		return syscall(SYS_bind, fd, addr, len);
	if (ACTIVE() && fs_kind(fd) == FD_TCP && addr &&
	    (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
		int one = 1, saved = errno;

		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
			errno = saved;
	}
	return fs_real.bind(fd, addr, len);
}

FS_API int listen(int fd, int backlog)
{
	NEED(listen);
	if (!fs_real.listen)
		return syscall(SYS_listen, fd, backlog);
	if (!ACTIVE())
		return fs_real.listen(fd, backlog);
	return fs_listen(fd, backlog);
}

FS_API int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int nfd;

	NEED(accept4);
	if (!fs_real.accept4)
		return syscall(SYS_accept4, fd, addr, len, flags);
	if (!ACTIVE() || fs_kind(fd) != FD_LISTEN)
		nfd = fs_real.accept4(fd, addr, len, flags);
	else
		nfd = fs_accept(fd, addr, len, flags);
	if (nfd >= 0 && OUT_STATS())
		fs_out_forget(nfd);
	if (nfd >= 0 && ACTIVE())
		fs_set_kind(nfd, FD_NONE);
	return nfd;
}

FS_API int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int nfd;

	NEED(accept);
	if (!fs_real.accept)
		return syscall(SYS_accept, fd, addr, len);
	if (!ACTIVE() || fs_kind(fd) != FD_LISTEN)
		nfd = fs_real.accept(fd, addr, len);
	else
		nfd = fs_accept(fd, addr, len, 0);
	if (nfd >= 0 && OUT_STATS())
		fs_out_forget(nfd);
	if (nfd >= 0 && ACTIVE())
		fs_set_kind(nfd, FD_NONE);
	return nfd;
}

FS_API int close(int fd)
{
	int k;

	NEED(close);
	if (OUT_STATS())
		fs_out_closing(fd);
	if (!fs_real.close)
		return syscall(SYS_close, fd);
	if (!ACTIVE())
		return fs_real.close(fd);
	fs_epoll_forget(fd);
	k = fs_kind(fd);
	if (__builtin_expect(k == FD_NONE, 1))
		return fs_real.close(fd);
	if (k == FD_LISTEN)
		return fs_close_listener(fd);
	if (k == FD_INTERNAL)
		fs_forget_internal(fd);
	fs_set_kind(fd, FD_NONE);
	return fs_real.close(fd);
}

FS_API int shutdown(int fd, int how)
{
	NEED(shutdown);
	if (!fs_real.shutdown)
		return syscall(SYS_shutdown, fd, how);
	if (ACTIVE() && fs_kind(fd) == FD_LISTEN)
		return fs_shutdown_listener(fd, how);
	return fs_real.shutdown(fd, how);
}

FS_API pid_t fork(void)
{
	pid_t pid;

	NEED(fork);
	if (!fs_real.fork)
		return syscall(SYS_fork);
	pid = fs_real.fork();
	/* pthread_atfork() already cleaned up; this is idempotent. */
	if (pid == 0 && ACTIVE())
		fs_after_fork_child();
	return pid;
}

FS_API int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	NEED(epoll_ctl);
	if (!fs_real.epoll_ctl)
		return syscall(SYS_epoll_ctl, epfd, op, fd, ev);
	if (!ACTIVE())
		return fs_real.epoll_ctl(epfd, op, fd, ev);
	if (fs_kind(fd) != FD_LISTEN)
		return fs_epoll_fast(epfd, op, fd, ev);
	return fs_epoll_ctl(epfd, op, fd, ev);
}

/* newfd is implicitly closed by dup2/dup3: forget what we knew about it. */
static void dup_target(int oldfd, int newfd)
{
	int k = fs_kind(newfd);

	if (oldfd == newfd)
		return;
	fs_epoll_forget(newfd);
	if (k == FD_LISTEN) {
		struct fs_group *g = fs_group_of(newfd);

		if (g)
			fs_group_release(g);
	} else if (k == FD_INTERNAL) {
		fs_forget_internal(newfd);
	}
	fs_set_kind(newfd, FD_NONE);
}

FS_API int dup2(int oldfd, int newfd)
{
	int rc;

	NEED(dup2);
	if (OUT_STATS() && oldfd != newfd)
		fs_out_closing(newfd);	/* newfd is closed first */
	if (!fs_real.dup2)
		return syscall(SYS_dup2, oldfd, newfd);
	if (!ACTIVE())
		return fs_real.dup2(oldfd, newfd);
	dup_target(oldfd, newfd);
	rc = fs_real.dup2(oldfd, newfd);
	if (rc >= 0 && oldfd != newfd && fs_kind(oldfd) == FD_TCP)
		fs_set_kind(newfd, FD_TCP);
	return rc;
}

FS_API int dup3(int oldfd, int newfd, int flags)
{
	int rc;

	NEED(dup3);
	if (OUT_STATS() && oldfd != newfd)
		fs_out_closing(newfd);	/* newfd is closed first */
	if (!fs_real.dup3)
		return syscall(SYS_dup3, oldfd, newfd, flags);
	if (!ACTIVE())
		return fs_real.dup3(oldfd, newfd, flags);
	dup_target(oldfd, newfd);
	rc = fs_real.dup3(oldfd, newfd, flags);
	if (rc >= 0 && fs_kind(oldfd) == FD_TCP)
		fs_set_kind(newfd, FD_TCP);
	return rc;
}
