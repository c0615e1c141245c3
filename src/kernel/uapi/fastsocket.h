/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Fastsocket ioctl ABI: the one definition shared by fastsocket.ko and
 * libfsocket.so.
 *
 * Every argument struct uses fixed-width fields and 64-bit user pointers
 * (__aligned_u64), so the layout is identical for 32-bit and 64-bit callers
 * and compat_ioctl needs no translation.  Every command is _IOWR-encoded, so
 * the size of the argument is part of the command number.
 *
 * Versioning: FSOCKET_ABI_VERSION is bumped on any incompatible change.  A
 * caller first issues FSOCKET_IOC_VERSION and refuses to use the module if
 * abi_version differs from the one it was built with.  Feature bits tell
 * which commands actually work on the running kernel.
 */
#ifndef _UAPI_LINUX_FASTSOCKET_H
#define _UAPI_LINUX_FASTSOCKET_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FSOCKET_DEVICE_NAME	"fastsocket"
#define FSOCKET_DEVICE_PATH	"/dev/fastsocket"

#define FSOCKET_ABI_VERSION	1
#define FSOCKET_IOC_MAGIC	0xf5

/* Bits of fsocket_version.features: set only for what works on this kernel. */
#define FSOCKET_FEAT_SOCKET		(1ULL << 0)
#define FSOCKET_FEAT_LISTEN		(1ULL << 1)
#define FSOCKET_FEAT_SPAWN_LISTEN	(1ULL << 2)
#define FSOCKET_FEAT_ACCEPT		(1ULL << 3)
#define FSOCKET_FEAT_CLOSE		(1ULL << 4)
#define FSOCKET_FEAT_SHUTDOWN_LISTEN	(1ULL << 5)
#define FSOCKET_FEAT_SPAWN_ALL_LISTEN	(1ULL << 6)
#define FSOCKET_FEAT_STATS		(1ULL << 7)
#define FSOCKET_FEAT_RFD		(1ULL << 8)
#define FSOCKET_FEAT_FAST_EPOLL		(1ULL << 9)

#define FSOCKET_MODULE_VERSION_LEN	32

/* FSOCKET_IOC_VERSION: what the module speaks and supports. */
struct fsocket_version {
	__u32 abi_version;	/* out: FSOCKET_ABI_VERSION of the module */
	__u32 nr_cpu_ids;	/* out: highest possible CPU id + 1 */
	__aligned_u64 features;	/* out: FSOCKET_FEAT_* */
	__s32 listen_spawn;	/* out: enable_listen_spawn in effect */
	__u32 reserved;		/* must be zero */
	char module_version[FSOCKET_MODULE_VERSION_LEN]; /* out, NUL-terminated */
};

/* FSOCKET_IOC_SOCKET: create a TCP socket; the new fd is returned in fd. */
struct fsocket_socket_arg {
	__s32 family;		/* in: AF_INET or AF_INET6 */
	__s32 type;		/* in: SOCK_STREAM, may carry SOCK_NONBLOCK|SOCK_CLOEXEC */
	__s32 protocol;		/* in: 0 or IPPROTO_TCP */
	__s32 fd;		/* out */
};

/* FSOCKET_IOC_LISTEN: listen() and mark the socket as a fastsocket listener. */
struct fsocket_listen_arg {
	__s32 fd;		/* in: a bound TCP socket of the caller */
	__s32 backlog;		/* in */
};

/*
 * The listen-spawn contract (enable_listen_spawn != 0):
 *
 * LISTEN(fd): fd is a bound TCP socket (the library sets SO_REUSEPORT before
 * bind); the module calls listen() and records fd's socket as the global
 * listener of a new group.  Any process that inherits fd may then spawn.
 *
 * SPAWN_LISTEN(fd): the calling task gets a listener local to its CPU, bound
 * to the same address in the same SO_REUSEPORT group, installed as a new fd
 * of the caller (local_fd).  Mode 2: the module picks a free CPU from the
 * task's allowed CPUs and pins the task to it (a task that already holds a
 * slot keeps its CPU for every group).  Mode 1: the task must already be
 * pinned to one CPU, otherwise -EINVAL.  Mode 0: -EOPNOTSUPP.  A second spawn
 * by the same task for the same group: -EEXIST.  New connections whose SYN
 * is processed on a CPU with a local listener go to it; others go to the
 * global listener.  The library adds local_fd to the application's epoll set
 * with the application's event data, and the global fd with EPOLLEXCLUSIVE.
 *
 * SPAWN_ALL_LISTEN: SPAWN_LISTEN for every fastsocket listener the caller
 * holds (fd is ignored; local_fd reports how many were spawned).
 *
 * ACCEPT(fd = the global listener): never blocks.  Takes a connection from
 * the caller's local listener of that group first, then from the global
 * listener; -EAGAIN when both are empty (the library polls both fds for a
 * blocking socket).
 *
 * CLOSE(fd = the global listener): drops the caller's local listener of that
 * group and frees its CPU slot (the library closes local_fd itself).
 * SHUTDOWN_LISTEN(fd): tears down every local listener of the group.
 * A worker that dies without CLOSE has its slot freed by the module; the
 * connections still queued on its local listener are migrated or counted.
 *
 * Errors (as implemented by fastsocket.ko): every fd is looked up in the
 * caller's own table: -EBADF, -ENOTSOCK, -EPROTONOSUPPORT (not TCP).
 * LISTEN: -EINVAL without SO_REUSEPORT.  SPAWN_LISTEN: -EINVAL if fd is not
 * a fastsocket listener (or no longer listens), for a cpu that is not
 * allowed/online or differs from the CPU the task already holds, and in
 * mode 1 for an unpinned task; -EBUSY when no CPU slot is free (the task is
 * left unpinned: use the global listener); -EEXIST for a second spawn.
 * CLOSE: -ENOENT if the caller has no local listener in the group.  Queued
 * connections survive a close only with net.ipv4.tcp_migrate_req=1 (5.14+),
 * so drain with ACCEPT before CLOSE.
 */
struct fsocket_spawn_arg {
	__s32 fd;		/* in: a fastsocket listener of the caller */
	__s32 cpu;		/* in: -1 = module's choice; out: the CPU used */
	__s32 local_fd;		/* out: the local listener's fd */
	__u32 flags;		/* in: O_CLOEXEC / O_NONBLOCK for local_fd */
};

/* FSOCKET_IOC_ACCEPT: accept from the local listener first, then the global one. */
struct fsocket_accept_arg {
	__s32 fd;		/* in: a fastsocket listener of the caller */
	__u32 flags;		/* in: SOCK_NONBLOCK | SOCK_CLOEXEC */
	__aligned_u64 addr;	/* in: user pointer to struct sockaddr, or 0 */
	__aligned_u64 addrlen;	/* in: user pointer to a 32-bit socklen_t, or 0 */
	__s32 new_fd;		/* out */
	__s32 cpu;		/* out: CPU whose queue it came from, -1 = global */
};

/* FSOCKET_IOC_CLOSE and FSOCKET_IOC_SHUTDOWN_LISTEN. */
struct fsocket_fd_arg {
	__s32 fd;		/* in */
	__u32 reserved;		/* must be zero */
};

#define FSOCKET_IOC_VERSION \
	_IOWR(FSOCKET_IOC_MAGIC, 0x00, struct fsocket_version)
#define FSOCKET_IOC_SOCKET \
	_IOWR(FSOCKET_IOC_MAGIC, 0x01, struct fsocket_socket_arg)
#define FSOCKET_IOC_LISTEN \
	_IOWR(FSOCKET_IOC_MAGIC, 0x02, struct fsocket_listen_arg)
#define FSOCKET_IOC_SPAWN_LISTEN \
	_IOWR(FSOCKET_IOC_MAGIC, 0x03, struct fsocket_spawn_arg)
#define FSOCKET_IOC_ACCEPT \
	_IOWR(FSOCKET_IOC_MAGIC, 0x04, struct fsocket_accept_arg)
#define FSOCKET_IOC_CLOSE \
	_IOWR(FSOCKET_IOC_MAGIC, 0x05, struct fsocket_fd_arg)
#define FSOCKET_IOC_SHUTDOWN_LISTEN \
	_IOWR(FSOCKET_IOC_MAGIC, 0x06, struct fsocket_fd_arg)
#define FSOCKET_IOC_SPAWN_ALL_LISTEN \
	_IOWR(FSOCKET_IOC_MAGIC, 0x07, struct fsocket_spawn_arg)
/* 0x08 was the original EPOLL_CTL command; it stays reserved and unsupported. */

#endif /* _UAPI_LINUX_FASTSOCKET_H */
