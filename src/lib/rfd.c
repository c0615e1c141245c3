// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Receive flow deliver (RFD), the library half: connect() of a TCP socket
 * the application did not bind gets a source port that encodes the calling
 * worker's CPU, port % R == cpu with R = the number of configured CPUs
 * rounded up to a power of two (the original's rule), chosen inside
 * /proc/sys/net/ipv4/ip_local_port_range.  The replies are steered to that
 * CPU by RFS (configured by `fastsocket apply`, proxy.yaml): the worker is
 * pinned and is the only one reading the socket, so the flow table points at
 * its CPU.  See docs/module.md "Parameters on a stock kernel".
 *
 * On:  FASTSOCKET_RFD=1, or unset and the module's parameter
 *      enable_receive_flow_deliver is 1.  Off: FASTSOCKET_RFD=0.
 * An application's own bind() is honoured (the socket is left alone).
 * Every candidate port busy: connect() fails with EADDRNOTAVAIL, the errno
 * the kernel's own port choice gives when the range is exhausted.
 *
 * Measurement (FASTSOCKET_STATS_FILE set, any FASTSOCKET_MODE, RFD on or
 * off): every TCP socket the application connect()s is marked in a static
 * bitmap; at its close() SO_INCOMING_CPU (the CPU that processed the last
 * packet received on it) is compared with the closing thread's CPU and
 * counted in out_local / out_remote (out_norx: nothing received, -1).
 * Without the variable the cost is one load and branch in connect/close.
 */
#include "fsock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FS_API __attribute__((visibility("default")))

#define RFD_PARAM "/sys/module/fastsocket/parameters/enable_receive_flow_deliver"
#define RFD_RANGE "/proc/sys/net/ipv4/ip_local_port_range"

static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int rfd_connect(int fd, const struct sockaddr *addr, socklen_t len);
static int rfd_state;		/* 0 not yet decided, 1 off, 2 on (atomic) */
static unsigned int rfd_r;	/* R: a power of two */
static int range_lo = 32768, range_hi = 60999;
static long range_read_at = -1;	/* CLOCK_MONOTONIC_COARSE second of the last read */
static __thread unsigned int rfd_next;

unsigned long fs_rfd_bound, fs_rfd_explicit, fs_rfd_exhausted;

int fs_out_stats;
unsigned long fs_out_local, fs_out_remote, fs_out_norx;
#define OUT_BITS (8 * sizeof(unsigned long))
/* One bit per fd number: connected by the application, not yet closed.
 * Static (bss, pages touched only when used): no allocation, fork-safe. */
static unsigned long out_marks[FS_MAX_FDS / OUT_BITS];

static void out_mark(int fd)
{
	__atomic_fetch_or(&out_marks[fd / OUT_BITS], 1UL << (fd % OUT_BITS),
			  __ATOMIC_RELAXED);
}

/* Clear the mark of fd; returns whether it was set. */
static int out_unmark(int fd)
{
	unsigned long bit = 1UL << (fd % OUT_BITS);

	if (fd < 0 || fd >= FS_MAX_FDS ||
	    !(__atomic_load_n(&out_marks[fd / OUT_BITS], __ATOMIC_RELAXED) & bit))
		return 0;
	return (__atomic_fetch_and(&out_marks[fd / OUT_BITS], ~bit,
				   __ATOMIC_RELAXED) & bit) != 0;
}

void fs_out_forget(int fd)
{
	out_unmark(fd);
}

void fs_out_closing(int fd)
{
	int icpu = -1, cpu, saved = errno;
	socklen_t l = sizeof(icpu);

	if (!out_unmark(fd))
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &icpu, &l) < 0 || icpu < 0) {
		__atomic_fetch_add(&fs_out_norx, 1, __ATOMIC_RELAXED);
	} else {
		cpu = sched_getcpu();
		if (cpu < 0) {
			unsigned int c = 0;

			cpu = syscall(SYS_getcpu, &c, NULL, NULL) == 0 ? (int)c : -1;
		}
		if (cpu == icpu)
			__atomic_fetch_add(&fs_out_local, 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&fs_out_remote, 1, __ATOMIC_RELAXED);
	}
	errno = saved;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static int rfd_enabled(void)
{
	int st = __atomic_load_n(&rfd_state, __ATOMIC_ACQUIRE);
	const char *env;
	char buf[16];
	long n;

	if (__builtin_expect(st != 0, 1))
		return st == 2;
	env = getenv("FASTSOCKET_RFD");
	if (env && *env)
		st = strcmp(env, "0") ? 2 : 1;
	else
		st = read_small(RFD_PARAM, buf, sizeof(buf)) == 0 && atoi(buf) == 1 ? 2 : 1;
	n = sysconf(_SC_NPROCESSORS_CONF);
	if (n < 1)
		n = 1;
	rfd_r = 1;
	while (rfd_r < (unsigned int)n)
		rfd_r <<= 1;
	rfd_next = (unsigned int)getpid() * 2654435761u;
	__atomic_store_n(&rfd_state, st, __ATOMIC_RELEASE);
	if (st == 2)
		fs_log(1, "receive flow deliver on: source port %% %u == worker CPU", rfd_r);
	return st == 2;
}

/* The configured range, re-read at most once a second. */
static void port_range(int *lo, int *hi)
{
	struct timespec ts;
	char buf[64];
	int a, b;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (ts.tv_sec != __atomic_load_n(&range_read_at, __ATOMIC_RELAXED) &&
	    read_small(RFD_RANGE, buf, sizeof(buf)) == 0 &&
	    sscanf(buf, "%d %d", &a, &b) == 2 && a > 0 && a <= b && b < 65536) {
		__atomic_store_n(&range_lo, a, __ATOMIC_RELAXED);
		__atomic_store_n(&range_hi, b, __ATOMIC_RELAXED);
		__atomic_store_n(&range_read_at, ts.tv_sec, __ATOMIC_RELAXED);
	}
	*lo = __atomic_load_n(&range_lo, __ATOMIC_RELAXED);
	*hi = __atomic_load_n(&range_hi, __ATOMIC_RELAXED);
}

/*
 * Bind fd to a free port p with p % R == cpu.  0: bound (or left alone:
 * bound by the application, or not something we can bind); -1 with errno
 * EADDRNOTAVAIL: every candidate in the range is busy.
 */
int fs_rfd_pick(int fd, int cpu)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned int first, count, k, idx;
	int lo, hi, saved = errno;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		goto pass;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		if (a->sin_port) {
			__atomic_fetch_add(&fs_rfd_explicit, 1, __ATOMIC_RELAXED);
			goto pass;
		}
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		if (a->sin6_port) {
			__atomic_fetch_add(&fs_rfd_explicit, 1, __ATOMIC_RELAXED);
			goto pass;
		}
	} else {
		goto pass;
	}
	port_range(&lo, &hi);
	cpu &= (int)(rfd_r - 1);
	first = (unsigned int)lo + (((unsigned int)cpu - (unsigned int)lo) & (rfd_r - 1));
	if (first > (unsigned int)hi)
		goto exhausted;
	count = ((unsigned int)hi - first) / rfd_r + 1;
	for (k = 0; k < count; k++) {
		unsigned int port;

		idx = (rfd_next + k) % count;
		port = first + idx * rfd_r;
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		if (fs_real.bind(fd, (struct sockaddr *)&ss, sl) == 0) {
			rfd_next = idx + 1;
			__atomic_fetch_add(&fs_rfd_bound, 1, __ATOMIC_RELAXED);
			errno = saved;
			return 0;
		}
		if (errno != EADDRINUSE)
			goto pass;	/* e.g. EINVAL: bound address, no port */
	}
exhausted:
	__atomic_fetch_add(&fs_rfd_exhausted, 1, __ATOMIC_RELAXED);
	errno = EADDRNOTAVAIL;
	return -1;
pass:
	errno = saved;
	return 0;
}

/* Measurement: connect() of a TCP socket to an IPv4/IPv6 address. */
static int out_wanted(int fd, const struct sockaddr *addr)
{
	if (!addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
	    fd < 0 || fd >= FS_MAX_FDS)
		return 0;
	return fs_kind(fd) == FD_TCP || fs_classify_fd(fd) == FD_TCP;
}

FS_API int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int rc;

	if (__builtin_expect(!real_connect, 0))
		real_connect = (__typeof__(real_connect))dlsym(RTLD_NEXT, "connect");
	if (!real_connect)
		return syscall(SYS_connect, fd, addr, len);
	if (__builtin_expect(__atomic_load_n(&fs_out_stats, __ATOMIC_RELAXED), 0) &&
	    out_wanted(fd, addr)) {
		int saved;

		rc = rfd_connect(fd, addr, len);
		saved = errno;
		if (rc == 0 || errno == EINPROGRESS || errno == EALREADY || errno == EISCONN)
			out_mark(fd);
		errno = saved;
		return rc;
	}
	return rfd_connect(fd, addr, len);
}

static int rfd_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (fs.backend != FS_BACKEND_OFF && fs_kind(fd) == FD_TCP && addr &&
	    (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) &&
	    fs_real.bind && rfd_enabled()) {
		int cpu = fs_tl_cpu >= 0 ? fs_tl_cpu : sched_getcpu();

		if (cpu >= 0 && fs_rfd_pick(fd, cpu) < 0)
			return -1;
	}
	return real_connect(fd, addr, len);
}
