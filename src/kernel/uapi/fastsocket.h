/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Fastsocket ioctl ABI: the one definition shared by fastsocket.ko and
 * libfsocket.so.
 *
 * Every argument struct uses fixed-width fields only, so the layout is
 * identical for 32-bit and 64-bit callers and compat_ioctl needs no
 * translation.  Every command is _IOWR-encoded, so the size of the argument
 * is part of the command number.
 *
 * Versioning: FSOCKET_ABI_VERSION is bumped on any incompatible change.  A
 * caller first issues FSOCKET_IOC_VERSION and refuses to use the module if
 * abi_version differs from the one it was built with.  Feature bits tell
 * which commands actually work on the running kernel (and mode).
 *
 * ABI v2: the caller makes every socket itself.
 *
 * The per-CPU ("local") listeners are created by the CALLER with plain
 * socket(), setsockopt(SO_REUSEPORT), bind() and listen(), so that
 * net.core.somaxconn, the LSM hooks, the caller's credentials and network
 * namespace, RLIMIT_NOFILE and the memory cgroup apply to them exactly as
 * to any socket.  The module only records which listener serves which CPU
 * and steers each new connection (a classic BPF reuseport program indexed
 * by the CPU that processes the SYN) to the listener of that CPU.  The
 * module never creates, binds, listens on or accepts from a socket, never
 * uses another task's credentials, never changes a task's CPU affinity and
 * never takes a connection off a queue: accepting is plain accept() on the
 * caller's own fds, so no connection can be lost by the module.
 *
 * LISTEN {fd, backlog = 0}: fd is a TCP socket of the caller that already
 * listens (plain listen()) with SO_REUSEPORT.  Creates the fastsocket group
 * of fd's SO_REUSEPORT group and attaches the module's CPU program: until a
 * CPU has a joined listener, its connections go to fd (the "registered"
 * listener).  LISTEN on an fd that is already registered succeeds (no-op).
 *
 * JOIN {fd, local_fd, cpu, flags = 0}: fd is the registered listener;
 * local_fd is a listening TCP socket of the caller, in the same SO_REUSEPORT
 * group (same address, port, network namespace and owner, which the kernel
 * already enforces at bind()).  cpu in: -1 lets the module choose a free CPU
 * among the calling thread's allowed CPUs (the CPU it runs on first), or a
 * CPU id.  With enable_listen_spawn=1 the thread must already be pinned to
 * exactly one CPU, which is the one used.  cpu out: the CPU whose new
 * connections now go to local_fd.  The module does NOT pin the thread: the
 * caller pins itself (sched_setaffinity, a subset of the mask it had) and
 * issues LEAVE if that fails.  The caller's affinity is never changed by
 * the module, whatever JOIN returns.
 *
 * LEAVE {fd, reserved = 0}: fd is local_fd, or the registered listener (then
 * the slot the calling thread joined).  Its CPU goes back to the registered
 * listener at once.  The connections already queued on local_fd stay there:
 * accept them, then close local_fd (on close the kernel migrates them when
 * net.ipv4.tcp_migrate_req=1, 5.14+, as for any SO_REUSEPORT listener).
 *
 * SHUTDOWN_LISTEN {fd, reserved = 0}: fd is the registered listener: the
 * group is removed, the program detached (plain SO_REUSEPORT hashing among
 * the same sockets again), every slot freed.
 *
 * A slot is freed as soon as its local listener stops listening (close(),
 * exit, or execve() when local_fd is close-on-exec): the module keeps no
 * file reference.  When the registered listener stops listening the group
 * is removed.  Writing 0 to /sys/module/fastsocket/parameters/
 * enable_listen_spawn removes every group at once (plain SO_REUSEPORT
 * hashing, no connection dropped); 1 or 2 allows LISTEN again.
 *
 * Bounds: at most FSOCKET_MAX_GROUPS_PER_USER groups per user (uid) and
 * network namespace, FSOCKET_MAX_GROUPS_PER_NET per network namespace, one
 * slot per CPU per group.  All memory is charged to the caller's memory
 * cgroup.
 *
 * Errors.  Every fd is looked up in the caller's own table: -EBADF, -ENOTSOCK,
 * -EPROTONOSUPPORT (not TCP over IPv4/IPv6).  Nonzero reserved/flags:
 * -EINVAL.  With enable_listen_spawn=0 LISTEN and JOIN give -EOPNOTSUPP.
 * LISTEN: -EINVAL if fd does not listen or has no SO_REUSEPORT; -EBUSY if
 * its SO_REUSEPORT group already has a program the module did not attach
 * (SO_ATTACH_REUSEPORT_CBPF/EBPF of the application) or belongs to another
 * fastsocket group; -ENOSPC when a bound above is reached.  JOIN: -EINVAL if
 * fd is not registered, local_fd does not listen, is fd itself or is not in
 * fd's SO_REUSEPORT group (another port, address or network namespace), for
 * a cpu that is not online or not allowed to the thread, and with
 * enable_listen_spawn=1 for a thread not pinned to one CPU or another cpu;
 * -EEXIST if that CPU's slot is taken or local_fd already holds a slot;
 * -EBUSY if no allowed CPU has a free slot (use the registered listener);
 * -EBUSY also if the group's program was replaced by the application
 * (the group no longer steers).  LEAVE: -ENOENT if there is no such slot;
 * -EINVAL if fd is neither registered nor joined.  SHUTDOWN_LISTEN: -EINVAL
 * if fd is not registered.
 *
 * Commands 0x01 (SOCKET), 0x03 (SPAWN_LISTEN), 0x04 (ACCEPT), 0x05 (CLOSE),
 * 0x07 (SPAWN_ALL_LISTEN) and 0x08 (EPOLL_CTL) of earlier versions are
 * removed; their numbers stay reserved and return -ENOTTY.
 */
#ifndef _UAPI_LINUX_FASTSOCKET_H
#define _UAPI_LINUX_FASTSOCKET_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FSOCKET_DEVICE_NAME	"fastsocket"
#define FSOCKET_DEVICE_PATH	"/dev/fastsocket"
#define FSOCKET_LISTENERS_PATH	"/proc/fastsocket/listeners"

#define FSOCKET_ABI_VERSION	2
#define FSOCKET_IOC_MAGIC	0xf5

/* Per user (uid) and network namespace, and per network namespace. */
#define FSOCKET_MAX_GROUPS_PER_USER	256
#define FSOCKET_MAX_GROUPS_PER_NET	4096

/*
 * Bits of fsocket_version.features: set only for what works on this kernel
 * in the current mode.  Bits 0, 2, 3, 4 and 6 belonged to removed commands
 * and stay unused.
 */
#define FSOCKET_FEAT_LISTEN		(1ULL << 1)
#define FSOCKET_FEAT_SHUTDOWN_LISTEN	(1ULL << 5)
#define FSOCKET_FEAT_STATS		(1ULL << 7)
#define FSOCKET_FEAT_RFD		(1ULL << 8)
#define FSOCKET_FEAT_FAST_EPOLL		(1ULL << 9)
#define FSOCKET_FEAT_JOIN		(1ULL << 10)
#define FSOCKET_FEAT_LEAVE		(1ULL << 11)
#define FSOCKET_FEAT_LISTENERS		(1ULL << 12) /* /proc view */

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

/* FSOCKET_IOC_LISTEN: register a listening SO_REUSEPORT socket. */
struct fsocket_listen_arg {
	__s32 fd;		/* in: a listening TCP socket of the caller */
	__s32 backlog;		/* reserved, must be zero (use listen()) */
};

/* FSOCKET_IOC_JOIN: local_fd serves the new connections of one CPU. */
struct fsocket_join_arg {
	__s32 fd;		/* in: the registered listener */
	__s32 local_fd;		/* in: the caller's listener for the CPU */
	__s32 cpu;		/* in: -1 = module's choice, or a CPU; out: CPU */
	__u32 flags;		/* reserved, must be zero */
};

/* FSOCKET_IOC_LEAVE and FSOCKET_IOC_SHUTDOWN_LISTEN. */
struct fsocket_fd_arg {
	__s32 fd;		/* in */
	__u32 reserved;		/* must be zero */
};

#define FSOCKET_IOC_VERSION \
	_IOWR(FSOCKET_IOC_MAGIC, 0x00, struct fsocket_version)
#define FSOCKET_IOC_LISTEN \
	_IOWR(FSOCKET_IOC_MAGIC, 0x02, struct fsocket_listen_arg)
#define FSOCKET_IOC_SHUTDOWN_LISTEN \
	_IOWR(FSOCKET_IOC_MAGIC, 0x06, struct fsocket_fd_arg)
#define FSOCKET_IOC_JOIN \
	_IOWR(FSOCKET_IOC_MAGIC, 0x09, struct fsocket_join_arg)
#define FSOCKET_IOC_LEAVE \
	_IOWR(FSOCKET_IOC_MAGIC, 0x0a, struct fsocket_fd_arg)

/*
 * /proc/fastsocket/listeners (mode 0400, every network namespace): first
 * line "# fastsocket listeners v1", then one line per group of space
 * separated key=value pairs: netns=<inode> addr=<ip:port|[ip6]:port>
 * pids=<comma list of the registering and joined processes, or -> backlog=<max
 * backlog of the registered listener> queued=<connections queued on all
 * listeners of the group> cpus=<comma list of joined CPUs, or -> then
 * cpu<N>=<connections queued to the group on CPU N> for every CPU with a
 * nonzero count, local=<queued to the listener of the CPU that completed
 * the handshake> remote=<queued elsewhere> steering=<on|foreign>.  Readers
 * ignore unknown keys.
 */

#endif /* _UAPI_LINUX_FASTSOCKET_H */
