/*
 * Random ioctls against /dev/fastsocket (run by tests/vm/suites/fuzz.sh).
 *
 *   fastsocket_fuzz_ioctl [-s SEED] [-n IOCTLS] [-t THREADS] [-w STALL_S] [-v]
 *
 * THREADS threads (default 4) issue IOCTLS ioctls in total (default
 * 100000): command numbers in and around the module's range (magic 0xf5,
 * nr 0..0x20, random direction and size bits, a few other magics, and the
 * exact commands of the uapi header), argument pointers that are NULL,
 * unmapped, misaligned, in kernel space, read-only, straddling a guard page
 * or valid, and argument buffers filled word by word with random and
 * boundary values and with fds of every kind.  The header is used only
 * generically (command numbers and sizes), so the fuzzer builds against any
 * ABI version; the one structured sequence is guarded by #ifdef.
 *
 * Each thread's sequence is a function of SEED and the thread's index only
 * (-t 1 -v with the same SEED replays thread 0 and prints every ioctl); the
 * interleaving of threads is not reproducible.  The exit status is 0 when
 * every ioctl returned (the verdict on the kernel is the suite's dmesg
 * check), 2 on a usage or setup error, 3 when a thread made no progress for
 * STALL_S seconds (default 60: a hung ioctl; the one in flight is printed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fastsocket.h"

#define MAX_THREADS	16
#define MAX_POOL	64
#define PAGE		4096
#define FD_SLOTS	4096	/* fds above the pool are swept (module-made) */

/* ---- deterministic per-thread random numbers (splitmix64) -------------- */
struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static int chance(struct rng *r, unsigned int percent)
{
	return below(r, 100) < percent;
}

/* ---- the module's commands, taken from whatever header we build with --- */
struct known_cmd {
	const char *name;
	unsigned long cmd;
};

#define KNOWN(x) { #x, FSOCKET_IOC_##x }
static const struct known_cmd known[] = {
#ifdef FSOCKET_IOC_VERSION
	KNOWN(VERSION),
#endif
#ifdef FSOCKET_IOC_SOCKET
	KNOWN(SOCKET),
#endif
#ifdef FSOCKET_IOC_LISTEN
	KNOWN(LISTEN),
#endif
#ifdef FSOCKET_IOC_SPAWN_LISTEN
	KNOWN(SPAWN_LISTEN),
#endif
#ifdef FSOCKET_IOC_ACCEPT
	KNOWN(ACCEPT),
#endif
#ifdef FSOCKET_IOC_CLOSE
	KNOWN(CLOSE),
#endif
#ifdef FSOCKET_IOC_SHUTDOWN_LISTEN
	KNOWN(SHUTDOWN_LISTEN),
#endif
#ifdef FSOCKET_IOC_SPAWN_ALL_LISTEN
	KNOWN(SPAWN_ALL_LISTEN),
#endif
#ifdef FSOCKET_IOC_JOIN
	KNOWN(JOIN),
#endif
#ifdef FSOCKET_IOC_LEAVE
	KNOWN(LEAVE),
#endif
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

/* ---- shared state ------------------------------------------------------- */
static int dev_fds[2];
static int pool[MAX_POOL];		/* fds (and non-fds) used as arguments */
static const char *pool_name[MAX_POOL];
static int npool;
static int listeners[8];		/* listening TCP sockets: favoured */
static int nlisteners;
static unsigned short listen_port4, listen_port6;
static unsigned char keep_fd[FD_SLOTS];	/* never closed by the sweep */
static void *unmapped;			/* a reserved PROT_NONE page */
static long ncpu;
static long total, per_thread_extra;
static int nthreads = 4, verbose, stall_limit = 60;
static uint64_t seed;
static atomic_long done, ok_known[NKNOWN + 1], ok_other, sweeps, structured_ioctls;
/*
 * Iterations hold it shared, the sweep exclusively (writer first, or the
 * sweep would starve): no fd a thread is using is closed under it.
 */
static pthread_rwlock_t sweep_lock;

struct thread {
	pthread_t tid;
	int index;
	struct rng r;
	unsigned char *buf;	/* 2 RW pages, then a PROT_NONE guard page */
	unsigned char *ro;	/* read-only alias of the first RW page */
	/* For the watchdog: progress, and the ioctl in flight. */
	atomic_long progress;
	atomic_int finished;
	atomic_ulong cur_cmd;
	atomic_ullong cur_arg;
	_Atomic(const char *) cur_what;
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz: setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void add_pool(int fd, const char *name)
{
	if (npool >= MAX_POOL)
		return;
	pool[npool] = fd;
	pool_name[npool++] = name;
	if (fd >= 0 && fd < FD_SLOTS)
		keep_fd[fd] = 1;
}

/* ---- the fds of every kind ---------------------------------------------- */
static int tcp(int family, int reuseport)
{
	int fd = socket(family, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket");
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	return fd;
}

static int try_bind_loopback(int fd, int family, unsigned short port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return family == AF_INET6 ? bind(fd, (struct sockaddr *)&s6, sizeof(s6)) :
				    bind(fd, (struct sockaddr *)&s4, sizeof(s4));
}

static void bind_loopback(int fd, int family, unsigned short port)
{
	if (try_bind_loopback(fd, family, port))
		die("bind");
}

static unsigned short port_of(int fd)
{
	struct sockaddr_in6 ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("getsockname");
	return ntohs(ss.sin6_port);	/* same offset in sockaddr_in */
}

static int listener(int family, unsigned short port, int reuseport)
{
	int fd = tcp(family, reuseport);

	bind_loopback(fd, family, port);
	if (listen(fd, 64))
		die("listen");
	if (nlisteners < 8)
		listeners[nlisteners++] = fd;
	return fd;
}

static int connect_to(int family, unsigned short port, int nonblock)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(family, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET6)
		connect(fd, (struct sockaddr *)&s6, sizeof(s6));
	else
		connect(fd, (struct sockaddr *)&s4, sizeof(s4));
	return fd;
}

static void connected_pair(int family, const char *cname, const char *sname)
{
	int l = tcp(family, 0), c, s;

	bind_loopback(l, family, 0);
	if (listen(l, 4))
		die("listen");
	c = connect_to(family, port_of(l), 0);
	s = accept(l, NULL, NULL);
	if (c < 0 || s < 0)
		die("connect/accept");
	close(l);
	add_pool(c, cname);
	add_pool(s, sname);
}

/* Listening sockets in a new network namespace (if we may create one). */
static void other_netns(void)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd, one = 1;
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (self < 0 || unshare(CLONE_NEWNET)) {
		fprintf(stderr, "fuzz: no second netns (%s): skipped\n", strerror(errno));
		if (self >= 0)
			close(self);
		return;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (!bind(fd, (struct sockaddr *)&s4, sizeof(s4)) && !listen(fd, 8))
			add_pool(fd, "tcp4 listener in another netns");
	}
	if (setns(self, CLONE_NEWNET))
		die("setns back");
	close(self);
}

static void make_pool(void)
{
	int fds[2], fd, i;

	add_pool(dev_fds[0], "/dev/fastsocket");
	add_pool(tcp(AF_INET, 0), "tcp4 unbound");
	add_pool(tcp(AF_INET6, 1), "tcp6 unbound reuseport");
	fd = tcp(AF_INET, 1);
	bind_loopback(fd, AF_INET, 0);
	add_pool(fd, "tcp4 bound reuseport");
	fd = listener(AF_INET, 0, 1);
	listen_port4 = port_of(fd);
	add_pool(fd, "tcp4 listener reuseport");
	/* Same address and reuseport group: a candidate local listener. */
	add_pool(listener(AF_INET, listen_port4, 1), "tcp4 listener, same group");
	fd = listener(AF_INET6, 0, 1);
	listen_port6 = port_of(fd);
	add_pool(fd, "tcp6 listener reuseport");
	add_pool(listener(AF_INET6, listen_port6, 1), "tcp6 listener, same group");
	add_pool(listener(AF_INET, 0, 0), "tcp4 listener without reuseport");
	connected_pair(AF_INET, "tcp4 connected client", "tcp4 accepted");
	connected_pair(AF_INET6, "tcp6 connected client", "tcp6 accepted");
	add_pool(socket(AF_INET, SOCK_DGRAM, 0), "udp4");
	add_pool(socket(AF_INET6, SOCK_DGRAM, 0), "udp6");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
		add_pool(fds[0], "unix stream");
		add_pool(fds[1], "unix stream peer");
	}
	add_pool(socket(AF_UNIX, SOCK_DGRAM, 0), "unix dgram");
	add_pool(socket(AF_NETLINK, SOCK_RAW, 0), "netlink");
	if (pipe(fds) == 0) {
		add_pool(fds[0], "pipe read end");
		add_pool(fds[1], "pipe write end");
	}
	add_pool(epoll_create1(0), "epoll");
	add_pool(eventfd(0, 0), "eventfd");
	fd = open("/tmp/fastsocket-fuzz.file", O_RDWR | O_CREAT | O_TRUNC, 0600);
	add_pool(fd, "regular file");
	add_pool(open("/dev/null", O_RDWR), "/dev/null");
	add_pool(open("/", O_RDONLY | O_DIRECTORY), "directory");
	add_pool(dev_fds[1], "/dev/fastsocket (second open)");
	other_netns();
	for (i = 0; i < 3; i++) {	/* closed fds (their numbers may return) */
		fd = dup(0);
		close(fd);
		add_pool(fd, "closed fd");
	}
	add_pool(-1, "-1");
	add_pool(-100, "-100");
	add_pool(INT_MIN, "INT_MIN");
	add_pool(INT_MAX, "INT_MAX");
	add_pool(1 << 20, "1<<20");
	add_pool(FD_SLOTS - 1, "fd 4095");
	add_pool(0, "stdin");
}

/* ---- argument values ----------------------------------------------------- */
static uint32_t boundary32(struct rng *r)
{
	static const uint32_t v[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff,
				      0x8000, 0xffff, 0x7fffffff, 0x80000000,
				      0xfffffffe, 0xffffffff, 16, 64, 128,
				      4096, 65535, 1 << 20 };

	return v[below(r, sizeof(v) / sizeof(v[0]))];
}

static int pick_fd(struct rng *r)
{
	if (nlisteners && chance(r, 30))
		return listeners[below(r, nlisteners)];
	return pool[below(r, npool)];
}

static uint32_t word(struct rng *r)
{
	switch (below(r, 8)) {
	case 0: case 1: case 2:
		return (uint32_t)pick_fd(r);
	case 3:
		return (uint32_t)((int)below(r, ncpu + 3) - 1);	/* -1..ncpu+1 */
	case 4:
		return boundary32(r);
	case 5:	/* flags */
		return chance(r, 50) ? 0 : (uint32_t)(O_NONBLOCK | O_CLOEXEC) & (uint32_t)rnd(r);
	default:
		return (uint32_t)rnd(r);
	}
}

static uint64_t pointer(struct thread *t)
{
	struct rng *r = &t->r;

	switch (below(r, 8)) {
	case 0: return 0;
	case 1: return chance(r, 50) ? (uintptr_t)unmapped : 0x1000; /* < mmap_min_addr */
	case 2: return 0xffff888000000000ULL;
	case 3: return (uintptr_t)(t->buf + PAGE + below(r, PAGE));
	case 4: return (uintptr_t)(t->buf + 2 * PAGE - 1 - below(r, 8));
	case 5: return (uintptr_t)t->ro;
	case 6: return rnd(r);
	default: return (uintptr_t)(t->buf + PAGE + 1);
	}
}

/* Fill n bytes word by word: fds, CPUs, boundaries, flags, pointers. */
static void fill(struct thread *t, unsigned char *p, size_t n)
{
	size_t i = 0;

	if (chance(&t->r, 10)) {	/* pure random bytes */
		for (; i < n; i++)
			p[i] = (unsigned char)rnd(&t->r);
		return;
	}
	while (i + 4 <= n) {
		if ((i & 7) == 0 && i + 8 <= n && chance(&t->r, 15)) {
			uint64_t v = pointer(t);

			memcpy(p + i, &v, 8);
			i += 8;
			continue;
		}
		uint32_t v = word(&t->r);

		memcpy(p + i, &v, 4);
		i += 4;
	}
	for (; i < n; i++)
		p[i] = (unsigned char)rnd(&t->r);
}

/* ---- one ioctl ----------------------------------------------------------- */
static unsigned long random_cmd(struct rng *r)
{
	static const unsigned int magics[] = { 0x00, 0xf4, 0xf6, 'T', 0x89, 0xff };
	unsigned int type = chance(r, 85) ? FSOCKET_IOC_MAGIC :
			    chance(r, 80) ? magics[below(r, 6)] : below(r, 256);
	unsigned int nr = chance(r, 90) ? below(r, 0x21) : below(r, 256);
	unsigned int dir = below(r, 4);
	unsigned int size = chance(r, 70) ? below(r, 129) : below(r, 1 << 14);

	if (chance(r, 30) && NKNOWN) {	/* a known command with one field changed */
		unsigned long k = known[below(r, NKNOWN)].cmd;

		switch (below(r, 3)) {
		case 0: return _IOC(dir, _IOC_TYPE(k), _IOC_NR(k), _IOC_SIZE(k));
		case 1: return _IOC(_IOC_DIR(k), _IOC_TYPE(k), _IOC_NR(k), size);
		default: return _IOC(_IOC_DIR(k), type, _IOC_NR(k), _IOC_SIZE(k));
		}
	}
	return _IOC(dir, type, nr, size);
}

static void sweep(void);

/* The module may have installed fds (SOCKET, SPAWN_LISTEN, ACCEPT). */
static void after_success(unsigned long cmd)
{
	size_t i;

	for (i = 0; i < NKNOWN; i++) {
		if (known[i].cmd == cmd) {
			atomic_fetch_add(&ok_known[i], 1);
			return;
		}
	}
	atomic_fetch_add(&ok_other, 1);
}

static void one_ioctl(struct thread *t)
{
	struct rng *r = &t->r;
	int use_known = NKNOWN && chance(r, 50);
	unsigned long cmd = use_known ? known[below(r, NKNOWN)].cmd : random_cmd(r);
	size_t n = _IOC_SIZE(cmd), room;
	uint64_t arg;
	long rc;
	int dev = dev_fds[below(r, 2)];

	/* Fill the argument so that it ends at the guard page or starts anywhere. */
	room = n > 2 * PAGE ? 2 * PAGE : n;
	if (chance(r, 70)) {
		unsigned char *p = chance(r, 50) ? t->buf + 2 * PAGE - room :
						    t->buf + below(r, 2 * PAGE - room + 1);

		fill(t, p, room);
		arg = (uintptr_t)p;
		if (chance(r, 10) && p > t->buf)	/* misaligned */
			arg -= 1 + below(r, 3);
	} else if (chance(r, 30)) {	/* read-only: copy_to_user fails */
		size_t m = n > PAGE ? PAGE : n;

		fill(t, t->buf, m);	/* t->ro aliases t->buf's first page */
		arg = (uintptr_t)t->ro;
	} else {
		arg = pointer(t);
	}
	if (verbose)
		fprintf(stderr, "fuzz[%d]: ioctl(%d, 0x%08lx, 0x%" PRIx64 ")", t->index,
			dev, cmd, arg);
	atomic_store(&t->cur_what, "in a random");
	atomic_store(&t->cur_cmd, cmd);
	atomic_store(&t->cur_arg, arg);
	rc = syscall(SYS_ioctl, dev, cmd, (unsigned long)arg);
	atomic_store(&t->cur_what, "between ioctls");
	if (verbose)
		fprintf(stderr, " = %ld (%s)\n", rc, rc < 0 ? strerror(errno) : "ok");
	if (rc >= 0)
		after_success(cmd);
}

/* ioctl() that says what it did under -v. */
static int xioctl(struct thread *t, int dev, const char *name, unsigned long cmd, void *arg)
{
	int rc;

	atomic_store(&t->cur_what, name);	/* a structured command */
	atomic_store(&t->cur_cmd, cmd);
	atomic_store(&t->cur_arg, (uintptr_t)arg);
	rc = ioctl(dev, cmd, arg);
	atomic_store(&t->cur_what, "between ioctls");

	atomic_fetch_add(&structured_ioctls, 1);
	if (verbose)
		fprintf(stderr, "fuzz[%d]: %s = %d (%s)\n", t->index, name, rc,
			rc < 0 ? strerror(errno) : "ok");
	if (rc >= 0)
		after_success(cmd);
	return rc;
}

/* A nonblocking reuseport TCP socket bound to port (0: any) on 127.0.0.1; -1 on error. */
static int fresh_socket(struct thread *t, unsigned short port, int do_listen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)	/* EMFILE before a sweep: no die() */
		return -1;
	if (chance(&t->r, 95))
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	try_bind_loopback(fd, AF_INET, port);
	if (do_listen)
		listen(fd, (int)below(&t->r, 64));
	return fd;
}

static unsigned short port_or(int fd, unsigned short fallback)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len))
		return fallback;
	return ntohs(sin.sin_port);
}

/* Accept what is queued on fd, without blocking. */
static void drain(int fd)
{
	int c;

	while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
		close(c);
}

/*
 * Mode 1 wants a task pinned to one CPU; mode 2 pins (v1) or expects the
 * caller to pin itself (v2): sometimes pin to one CPU, sometimes unpin.
 */
static void maybe_pin(struct thread *t)
{
	cpu_set_t set;
	long c;

	if (!chance(&t->r, 40))
		return;
	CPU_ZERO(&set);
	if (chance(&t->r, 75)) {
		CPU_SET(below(&t->r, ncpu), &set);
	} else {
		for (c = 0; c < ncpu && c < CPU_SETSIZE; c++)
			CPU_SET(c, &set);
	}
	sched_setaffinity(0, sizeof(set), &set);
}

static int maybe_close(struct thread *t, int fd)
{
	if (fd >= 0 && chance(&t->r, 50)) {
		close(fd);
		return -1;
	}
	return fd;
}

#if defined(FSOCKET_IOC_SPAWN_LISTEN) && defined(FSOCKET_IOC_ACCEPT) && \
	defined(FSOCKET_IOC_CLOSE) && defined(FSOCKET_IOC_SOCKET)
/*
 * ABI v1: a listener's whole life with connections in flight: SOCKET,
 * LISTEN on a fresh socket (often of a pool listener's reuseport group),
 * spawn, connect, accept, close or shut down, fds closed in random order.
 */
static void structured(struct thread *t)
{
	struct rng *r = &t->r;
	int fd = fresh_socket(t, chance(r, 50) ? listen_port4 : 0, 0), dev = dev_fds[0], c, i;
	struct fsocket_socket_arg so = {
		.family = chance(r, 50) ? AF_INET : AF_INET6,
		.type = SOCK_STREAM | (chance(r, 50) ? SOCK_NONBLOCK | SOCK_CLOEXEC : 0),
		.protocol = chance(r, 80) ? 0 : (int)word(r),
	};
	struct fsocket_listen_arg la = { .fd = fd, .backlog = (int)below(r, 200) - 1 };
	struct fsocket_spawn_arg sa = { .fd = fd, .cpu = (int)below(r, ncpu + 1) - 1 };
	struct fsocket_accept_arg aa = { .fd = fd, .flags = SOCK_NONBLOCK };
	struct fsocket_fd_arg ca = { .fd = fd };

	maybe_pin(t);
	if (xioctl(t, dev, "SOCKET", FSOCKET_IOC_SOCKET, &so) == 0)
		close(so.fd);
	if (fd < 0)
		return;
	xioctl(t, dev, "LISTEN", FSOCKET_IOC_LISTEN, &la);
	if (xioctl(t, dev, "SPAWN_LISTEN", FSOCKET_IOC_SPAWN_LISTEN, &sa) == 0)
		maybe_close(t, sa.local_fd);	/* closed behind the module */
	c = connect_to(AF_INET, port_or(fd, listen_port4), 1);
	for (i = 0; i < 2; i++)
		if (xioctl(t, dev, "ACCEPT", FSOCKET_IOC_ACCEPT, &aa) == 0)
			close(aa.new_fd);
	if (chance(r, 30))
		drain(fd);
	if (chance(r, 50))
		xioctl(t, dev, "CLOSE", FSOCKET_IOC_CLOSE, &ca);
	if (chance(r, 50))
		xioctl(t, dev, "SHUTDOWN_LISTEN", FSOCKET_IOC_SHUTDOWN_LISTEN, &ca);
	fd = maybe_close(t, fd);
	if (c >= 0)
		close(c);
	if (fd >= 0)
		close(fd);
}
#elif defined(FSOCKET_IOC_JOIN) && defined(FSOCKET_IOC_LEAVE)
/*
 * ABI v2: the caller's own listeners handed to the module: LISTEN on a
 * listening socket, JOIN local listeners of its reuseport group, connect,
 * accept, LEAVE or SHUTDOWN_LISTEN, fds closed in random order (sometimes
 * before LEAVE: the module must notice by itself).
 */
static void structured(struct thread *t)
{
	struct rng *r = &t->r;
	int fd = fresh_socket(t, chance(r, 50) ? listen_port4 : 0, chance(r, 95));
	unsigned short port = fd >= 0 ? port_or(fd, listen_port4) : listen_port4;
	int local[2] = { -1, -1 }, dev = dev_fds[0], c, i;
	struct fsocket_listen_arg la = { .fd = fd, .backlog = chance(r, 90) ? 0 : (int)word(r) };
	struct fsocket_fd_arg fa = { .fd = fd };

	if (fd < 0)
		return;
	xioctl(t, dev, "LISTEN", FSOCKET_IOC_LISTEN, &la);
	maybe_pin(t);
	for (i = 0; i < 2; i++) {
		struct fsocket_join_arg ja = {
			.fd = chance(r, 90) ? fd : pick_fd(r),
			.cpu = chance(r, 70) ? -1 : (int)below(r, ncpu + 2) - 1,
			.flags = chance(r, 90) ? 0 : word(r),
		};

		local[i] = fresh_socket(t, chance(r, 90) ? port : 0, chance(r, 95));
		ja.local_fd = local[i];
		xioctl(t, dev, "JOIN", FSOCKET_IOC_JOIN, &ja);
	}
	c = connect_to(AF_INET, port, 1);
	for (i = 0; i < 2; i++)
		if (local[i] >= 0 && chance(r, 50))
			drain(local[i]);
	local[0] = maybe_close(t, local[0]);	/* before LEAVE */
	if (chance(r, 60)) {
		fa.fd = chance(r, 50) ? fd : local[1];
		xioctl(t, dev, "LEAVE", FSOCKET_IOC_LEAVE, &fa);
	}
	if (chance(r, 40)) {
		fa.fd = fd;
		xioctl(t, dev, "SHUTDOWN_LISTEN", FSOCKET_IOC_SHUTDOWN_LISTEN, &fa);
	}
	if (chance(r, 50))
		drain(fd);
	fd = maybe_close(t, fd);
	if (c >= 0)
		close(c);
	for (i = 0; i < 2; i++)
		if (local[i] >= 0)
			close(local[i]);
	if (fd >= 0)
		close(fd);
}
#else
/* Other ABIs: connections in flight to the pool's listeners. */
static void structured(struct thread *t)
{
	int c = connect_to(chance(&t->r, 50) ? AF_INET : AF_INET6,
			   chance(&t->r, 50) ? listen_port4 : listen_port6, 1);

	if (c >= 0)
		close(c);
}
#endif

/* Read (and sometimes write junk to) the module's /proc files. */
static void poke_proc(struct thread *t)
{
	DIR *d = opendir("/proc/fastsocket");
	struct dirent *e;
	char path[300], buf[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/fastsocket/%s", e->d_name);
		if (chance(&t->r, 10)) {
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				fill(t, (unsigned char *)buf, 64);
				if (write(fd, buf, below(&t->r, 65)) < 0)
					errno = 0;
				close(fd);
			}
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		}
	}
	closedir(d);
}

/* Close every fd the module made for us (anything not in the pool). */
static void sweep(void)
{
	DIR *d;
	struct dirent *e;

	pthread_rwlock_wrlock(&sweep_lock);
	d = opendir("/proc/self/fd");
	if (d) {
		while ((e = readdir(d))) {
			int fd = atoi(e->d_name);

			if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
				continue;
			if (fd < FD_SLOTS && keep_fd[fd])
				continue;
			close(fd);
		}
		closedir(d);
	}
	atomic_fetch_add(&sweeps, 1);
	pthread_rwlock_unlock(&sweep_lock);
}

static void *run(void *arg)
{
	struct thread *t = arg;
	long i, n = total / nthreads + (t->index < per_thread_extra);

	for (i = 0; i < n; i++) {
		atomic_store(&t->cur_what, "waiting for the fd sweep");
		pthread_rwlock_rdlock(&sweep_lock);
		one_ioctl(t);
		if (below(&t->r, 16) == 0)
			structured(t);
		if (below(&t->r, 512) == 0)
			poke_proc(t);
		pthread_rwlock_unlock(&sweep_lock);
		if ((i & 511) == 511) {
			atomic_store(&t->cur_what, "sweeping fds (waits for the other threads)");
			sweep();
		}
		atomic_fetch_add(&done, 1);
		atomic_fetch_add(&t->progress, 1);
	}
	atomic_store(&t->finished, 1);
	return NULL;
}

/* Progress, with the kernel's TCP line (inuse, orphan, tw, alloc, mem). */
static void progress(int seconds)
{
	char line[256] = "";
	FILE *f = fopen("/proc/net/sockstat", "re");

	while (f && fgets(line, sizeof(line), f) && strncmp(line, "TCP:", 4))
		;
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = 0;
	printf("fuzz: %ld of %ld random ioctls after %d s; %s\n", atomic_load(&done), total,
	       seconds, line);
	fflush(stdout);
}

/*
 * A thread that makes no progress for stall_limit seconds is stuck in the
 * kernel (one iteration takes milliseconds even under TCG on a loaded host):
 * say where and exit 3, rather than let a total time limit guess.
 */
static void watchdog(struct thread *th)
{
	long last[MAX_THREADS];
	int still[MAX_THREADS] = { 0 }, i, running, ticks = 0;

	for (i = 0; i < nthreads; i++)
		last[i] = -1;
	do {
		sleep(1);
		if (++ticks % 30 == 0)
			progress(ticks);
		running = 0;
		for (i = 0; i < nthreads; i++) {
			long p = atomic_load(&th[i].progress);

			if (atomic_load(&th[i].finished))
				continue;
			running++;
			still[i] = p == last[i] ? still[i] + 1 : 0;
			last[i] = p;
			if (still[i] < stall_limit)
				continue;
			printf("fuzz: HUNG: thread %d made no progress for %d s; every thread:\n",
			       i, stall_limit);
			for (i = 0; i < nthreads; i++)
				printf("fuzz:   thread %d: %s%s, last ioctl(0x%08lx, 0x%llx), idle %d s\n",
				       i, atomic_load(&th[i].cur_what),
				       atomic_load(&th[i].finished) ? " (finished)" : "",
				       atomic_load(&th[i].cur_cmd), atomic_load(&th[i].cur_arg), still[i]);
			fflush(stdout);
			_exit(3);
		}
	} while (running);
}

static void map_thread(struct thread *t)
{
	int mfd = memfd_create("fuzz", MFD_CLOEXEC);

	if (mfd < 0 || ftruncate(mfd, 3 * PAGE))
		die("memfd");
	t->buf = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	t->ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, mfd, 0);
	close(mfd);
	if (t->buf == MAP_FAILED || t->ro == MAP_FAILED)
		die("mmap");
	if (mprotect(t->buf + 2 * PAGE, PAGE, PROT_NONE))
		die("mprotect");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: fastsocket_fuzz_ioctl [-s SEED] [-n IOCTLS] [-t THREADS 1..%d] [-w STALL_S] [-v]\n",
		MAX_THREADS);
	exit(2);
}

int main(int argc, char **argv)
{
	struct thread th[MAX_THREADS];
	struct rlimit rl = { FD_SLOTS, FD_SLOTS };
	pthread_rwlockattr_t rwa;
	double t0;
	int opt, i, have_seed = 0;
	char *end;
	size_t k;

	total = 100000;
	while ((opt = getopt(argc, argv, "s:n:t:w:v")) != -1) {
		errno = 0;
		switch (opt) {
		case 's':
			seed = strtoull(optarg, &end, 0);
			have_seed = 1;
			break;
		case 'n':
			total = strtol(optarg, &end, 0);
			break;
		case 't':
			nthreads = (int)strtol(optarg, &end, 0);
			break;
		case 'w':
			stall_limit = (int)strtol(optarg, &end, 0);
			break;
		case 'v':
			verbose = 1;
			continue;
		default:
			usage();
		}
		if (errno || *end || total < 0 || nthreads < 1 || nthreads > MAX_THREADS ||
		    stall_limit < 1)
			usage();
	}
	if (optind != argc)
		usage();
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	setrlimit(RLIMIT_NOFILE, &rl);	/* keeps every fd below FD_SLOTS */
	ncpu = sysconf(_SC_NPROCESSORS_CONF);
	dev_fds[0] = open(FSOCKET_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	dev_fds[1] = open(FSOCKET_DEVICE_PATH, O_RDONLY);
	if (dev_fds[0] < 0 || dev_fds[1] < 0)
		die(FSOCKET_DEVICE_PATH);
	unmapped = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (unmapped == MAP_FAILED)
		die("mmap");
	make_pool();
	printf("fuzz: seed=%" PRIu64 " ioctls=%ld threads=%d pool=%d fds known_commands=%zu\n",
	       seed, total, nthreads, npool, NKNOWN);
	fflush(stdout);

	pthread_rwlockattr_init(&rwa);
	pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&sweep_lock, &rwa);
	per_thread_extra = total % nthreads;
	t0 = now();
	for (i = 0; i < nthreads; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].index = i;
		th[i].r.s = seed * 1000003ULL + (uint64_t)i;
		map_thread(&th[i]);
		if (pthread_create(&th[i].tid, NULL, run, &th[i]))
			die("pthread_create");
	}
	watchdog(th);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i].tid, NULL);
	sweep();

	printf("fuzz: done: %ld random and %ld structured ioctls in %.1f s, %ld fd sweeps\n",
	       atomic_load(&done), atomic_load(&structured_ioctls), now() - t0,
	       atomic_load(&sweeps));
	for (k = 0; k < NKNOWN; k++)
		printf("fuzz: %s succeeded %ld times\n", known[k].name, atomic_load(&ok_known[k]));
	printf("fuzz: other commands succeeded %ld times\n", atomic_load(&ok_other));
	return 0;
}
