// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfsocket interposed symbols: thin wrappers only.  Each one is a plain
 * call unless the fd is one the library acts on (one byte load per call).
 * Before the constructor has run (another library's constructor calling
 * socket(), say) every wrapper passes through.
 *
 * Every way an fd can end is covered: close, dup2/dup3 over it,
 * close_range, closefrom, fclose of an fdopen()ed socket, and syscall()
 * with SYS_close/SYS_close_range/SYS_dup3 (libuv closes that way).  Fds
 * closed some other way are caught by the identity checks (fdstate.c).
 */
#include "fsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif
#define FS_API __attribute__((visibility("default")))

#define ACTIVE() (__builtin_expect(fs.backend != FS_BACKEND_OFF, 1))

/* FASTSOCKET_STATS_FILE measurement (rfd.c): one load + branch otherwise. */
#define OUT_STATS() (__builtin_expect(__atomic_load_n(&fs_out_stats, __ATOMIC_RELAXED), 0))

#define NEED(name) do {							\
	if (__builtin_expect(!fs_real.name, 0))				\
		fs_resolve();						\
} while (0)

/* A new fd: forget whatever a closed file of that number left behind. */
static inline void fresh_fd(int fd, int kind)
{
	if (__builtin_expect(fs_kind_flags(fd) != FD_NONE, 0))
		fs_fd_reborn(fd);
	fs_set_kind(fd, kind);
}

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
		fresh_fd(fd, fs_is_tcp(domain, type, protocol) ? FD_TCP : FD_NONE);
	return fd;
}

FS_API int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	NEED(bind);
	if (!fs_real.bind)
		return syscall(SYS_bind, fd, addr, len);
	if (ACTIVE() && fs_kind(fd) == FD_TCP && addr && len >= (socklen_t)sizeof(struct sockaddr) &&
	    fs_bind_conflicts(fd, addr)) {
		errno = EADDRINUSE;
		return -1;
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
		fresh_fd(nfd, FD_NONE);
	return nfd;
}

FS_API int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int nfd;

	NEED(accept);
	if (!fs_real.accept)
		return syscall(SYS_accept4, fd, addr, len, 0);
	if (!ACTIVE() || fs_kind(fd) != FD_LISTEN)
		nfd = fs_real.accept(fd, addr, len);
	else
		nfd = fs_accept(fd, addr, len, 0);
	if (nfd >= 0 && OUT_STATS())
		fs_out_forget(nfd);
	if (nfd >= 0 && ACTIVE())
		fresh_fd(nfd, FD_NONE);
	return nfd;
}

/* fd is about to be closed by the application (any path). */
static inline void closing(int fd)
{
	int k = fs_kind_flags(fd);

	if (__builtin_expect(k == FD_NONE, 1)) {
		fs_epoll_forget(fd);
		return;
	}
	if ((k & FD_KIND_MASK) == FD_TCP) {	/* a client socket: nothing to undo */
		fs_epoll_forget(fd);
		fs_set_kind(fd, FD_NONE);
		return;
	}
	/* A vfork()/posix_spawn() child shares our memory: change nothing. */
	if (fs_in_other_process())
		return;
	fs_fd_gone(fd, 0);
}

FS_API int close(int fd)
{
	struct fs_group *g = NULL;
	int rc;

	NEED(close);
	if (OUT_STATS())
		fs_out_closing(fd);
	if (!fs_real.close)
		return syscall(SYS_close, fd);
	if (!ACTIVE())
		return fs_real.close(fd);
	if (__builtin_expect(fs_kind(fd) == FD_LISTEN, 0))
		g = fs_group_of(fd);
	closing(fd);
	rc = fs_real.close(fd);
	/* A dup of the listener lives on: closing this fd dropped our slot locks. */
	if (g && __atomic_load_n(&g->used, __ATOMIC_ACQUIRE) == 2 && !fs_in_other_process())
		fs_slots_relock(g);
	return rc;
}

static void closing_range(unsigned int first, unsigned int last)
{
	unsigned int fd;

	if (!ACTIVE() || first >= (unsigned int)fs.nfd)
		return;
	if (last >= (unsigned int)fs.nfd)
		last = fs.nfd - 1;
	for (fd = first; fd <= last; fd++)
		if (fs.fdk[fd] != FD_NONE || OUT_STATS())
			closing((int)fd);
}

FS_API int close_range(unsigned int first, unsigned int last, int flags)
{
	NEED(close_range);
	if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last)
		closing_range(first, last);
	if (!fs_real.close_range)
		return syscall(SYS_close_range, first, last, flags);
	return fs_real.close_range(first, last, flags);
}

FS_API void closefrom(int low)
{
	NEED(closefrom);
	if (low >= 0)
		closing_range((unsigned int)low, ~0U);
	if (fs_real.closefrom)
		fs_real.closefrom(low);
	else
		syscall(SYS_close_range, (unsigned int)low, ~0U, 0);
}

/*
 * glibc declares f nonnull, but an application may still pass NULL: it then
 * crashes in glibc as it would without us, not in fileno() here.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnonnull-compare"
#endif
FS_API int fclose(FILE *f)
{
	int fd;

	NEED(fclose);
	if (f && ACTIVE() && (fd = fileno(f)) >= 0)
		closing(fd);
	return fs_real.fclose(f);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

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
		return syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
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
	if (fs_kind(fd) != FD_LISTEN) {
		if (op != EPOLL_CTL_DEL)
			fs_ep_other_registered(ev);
		return fs_epoll_fast(epfd, op, fd, ev);
	}
	return fs_epoll_ctl(epfd, op, fd, ev);
}

/*
 * The waits: the kernel's answer, with an accelerated listener reported
 * once (epoll_wait.c).  epoll_pwait2 is glibc 2.35+: the system call
 * otherwise, through syscall() below, which folds too.
 */
FS_API int epoll_wait(int epfd, struct epoll_event *ev, int maxevents, int timeout)
{
	NEED(epoll_wait);
	if (!fs_real.epoll_wait)
		return (int)syscall(SYS_epoll_pwait, epfd, ev, maxevents, timeout, NULL, 0);
	fs_bp_wait_hook(epfd);
	return fs_ep_after_wait(ev, fs_real.epoll_wait(epfd, ev, maxevents, timeout));
}

FS_API int epoll_pwait(int epfd, struct epoll_event *ev, int maxevents, int timeout,
		       const sigset_t *sigmask)
{
	NEED(epoll_pwait);
	if (!fs_real.epoll_pwait)
		return (int)syscall(SYS_epoll_pwait, epfd, ev, maxevents, timeout, sigmask, _NSIG / 8);
	fs_bp_wait_hook(epfd);
	return fs_ep_after_wait(ev, fs_real.epoll_pwait(epfd, ev, maxevents, timeout, sigmask));
}

FS_API int epoll_pwait2(int epfd, struct epoll_event *ev, int maxevents,
			const struct timespec *timeout, const sigset_t *sigmask)
{
	NEED(epoll_pwait2);
	if (!fs_real.epoll_pwait2)
		return (int)syscall(SYS_epoll_pwait2, epfd, ev, maxevents, timeout, sigmask, _NSIG / 8);
	fs_bp_wait_hook(epfd);
	return fs_ep_after_wait(ev, fs_real.epoll_pwait2(epfd, ev, maxevents, timeout, sigmask));
}

/*
 * newfd is implicitly closed by a successful dup2/dup3 (only then: a failed
 * dup2(999, listener) leaves the listener alone): forget what we knew.
 */
static int dup_done(int rc, int oldfd, int newfd)
{
	int k;

	if (rc < 0 || oldfd == newfd || !ACTIVE() || fs_in_other_process())
		return rc;
	if (fs_kind_flags(newfd) != FD_NONE)
		fs_fd_gone(newfd, 1);
	else
		fs_epoll_forget(newfd);
	k = fs_kind(oldfd);
	fs_set_kind(newfd, k == FD_TCP || k == FD_LISTEN ? k : FD_NONE);
	return rc;
}

/* dup() and F_DUPFD: the copy of a listener is the same listener (an alias). */
static int dup_new(int nfd, int oldfd)
{
	int k;

	if (nfd < 0 || !ACTIVE())
		return nfd;
	k = fs_kind(oldfd);
	fresh_fd(nfd, k == FD_TCP || k == FD_LISTEN ? k : FD_NONE);
	return nfd;
}

FS_API int dup(int oldfd)
{
	NEED(dup);
	if (!fs_real.dup)
		return syscall(SYS_fcntl, oldfd, F_DUPFD, 0);
	return dup_new(fs_real.dup(oldfd), oldfd);
}

static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, va_list ap)
{
	void *arg = va_arg(ap, void *);
	int rc;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	rc = real(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return dup_new(rc, fd);
	return rc;
}

FS_API int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	int rc;

	NEED(fcntl);
	va_start(ap, cmd);
	rc = fcntl_common(fs_real.fcntl, fd, cmd, ap);
	va_end(ap);
	return rc;
}

FS_API int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	int rc;

	NEED(fcntl64);
	va_start(ap, cmd);
	rc = fcntl_common(fs_real.fcntl64 ? fs_real.fcntl64 : fs_real.fcntl, fd, cmd, ap);
	va_end(ap);
	return rc;
}

FS_API int dup2(int oldfd, int newfd)
{
	int rc;

	NEED(dup2);
	if (OUT_STATS() && oldfd != newfd)
		fs_out_closing(newfd);	/* newfd is closed first */
	if (!fs_real.dup2)
		return syscall(SYS_dup3, oldfd, newfd, 0);
	rc = fs_real.dup2(oldfd, newfd);
	return dup_done(rc, oldfd, newfd);
}

FS_API int dup3(int oldfd, int newfd, int flags)
{
	int rc;

	NEED(dup3);
	if (OUT_STATS() && oldfd != newfd)
		fs_out_closing(newfd);	/* newfd is closed first */
	if (!fs_real.dup3)
		return syscall(SYS_dup3, oldfd, newfd, flags);
	rc = fs_real.dup3(oldfd, newfd, flags);
	return dup_done(rc, oldfd, newfd);
}

/*
 * syscall(): the fd-ending system calls are routed through the wrappers
 * above; everything else goes straight to the real syscall().
 */
FS_API long syscall(long n, ...)
{
	long a[6];
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	NEED(syscall);
	switch (n) {
	case SYS_close:
		if (fs_real.close)
			return close((int)a[0]);
		break;
	case SYS_close_range:
		if (!((int)a[2] & CLOSE_RANGE_CLOEXEC) && (unsigned int)a[0] <= (unsigned int)a[1])
			closing_range((unsigned int)a[0], (unsigned int)a[1]);
		break;
	case SYS_dup3:
		if (fs_real.syscall)
			return dup_done(fs_real.syscall(n, a[0], a[1], a[2]), (int)a[0], (int)a[1]);
		break;
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
#endif
	case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
		fs_bp_wait_hook((int)a[0]);
		if (fs_real.syscall)
			return fs_ep_after_wait((struct epoll_event *)a[1],
						(int)fs_real.syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]));
		break;
#ifdef SYS_dup2
	case SYS_dup2:
		if (fs_real.syscall)
			return dup_done(fs_real.syscall(n, a[0], a[1]), (int)a[0], (int)a[1]);
		break;
#endif
	}
	if (!fs_real.syscall) {
		errno = ENOSYS;
		return -1;
	}
	return fs_real.syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

FS_API int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int rc, k;

	NEED(setsockopt);
	if (!fs_real.setsockopt)
		return syscall(SYS_setsockopt, fd, level, name, val, len);
	if (__builtin_expect(level == SOL_SOCKET && name == SO_DETACH_REUSEPORT_BPF, 0) &&
	    ACTIVE() && fs_kind(fd) == FD_LISTEN && fs_listener_hides_detach(fd))
		return -1;
	rc = fs_real.setsockopt(fd, level, name, val, len);
	if (rc < 0 || !ACTIVE() || (k = fs_kind(fd)) == FD_NONE)
		return rc;
	if (fs_sockopt_marks_uncopyable(level, name))
		fs_set_flag(fd, FD_F_UNCOPYABLE);
	if (k == FD_LISTEN)
		fs_listener_setsockopt(fd, level, name, val, len);
	return rc;
}

FS_API int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int rc;

	NEED(getsockopt);
	if (!fs_real.getsockopt)
		return syscall(SYS_getsockopt, fd, level, name, val, len);
	rc = fs_real.getsockopt(fd, level, name, val, len);
	if (rc == 0 && ACTIVE() && fs_kind(fd) == FD_LISTEN)
		fs_listener_getsockopt(fd, level, name, val, len);
	return rc;
}

/*
 * A thread the library pinned creates threads with the mask it had before
 * (as without the library).
 */
FS_API int pthread_create(pthread_t *t, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	cpu_set_t one;
	int rc;

	NEED(pthread_create);
	if (!fs_real.pthread_create)
		return EAGAIN;
	if (!fs_tl_pinned)
		return fs_real.pthread_create(t, attr, fn, arg);
	sched_getaffinity(0, sizeof(one), &one);
	sched_setaffinity(0, sizeof(fs_tl_mask), &fs_tl_mask);
	rc = fs_real.pthread_create(t, attr, fn, arg);
	sched_setaffinity(0, sizeof(one), &one);
	return rc;
}
