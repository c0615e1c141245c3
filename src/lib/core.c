// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfsocket configuration from the environment, the start-up line and
 * diagnostics, the per-fd kind table.  Nothing is written to the
 * application's fds unless asked: FASTSOCKET_VERBOSE=N writes diagnostics
 * to stderr (or to FASTSOCKET_LOG_FILE); otherwise only problems (a
 * pass-through the user did not ask for, a module ABI mismatch) go to
 * syslog, once.
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
#include <sys/un.h>
#include <unistd.h>

struct fs_state fs = { .devfd = -1 };
struct fs_real fs_real;
__thread int fs_tl_cpu __attribute__((tls_model("initial-exec"))) = -1;
__thread int fs_tl_pinned __attribute__((tls_model("initial-exec")));
__thread cpu_set_t fs_tl_mask __attribute__((tls_model("initial-exec")));

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
	RESOLVE(close_range);
	RESOLVE(closefrom);
	RESOLVE(fclose);
	RESOLVE(syscall);
	RESOLVE(setsockopt);
	RESOLVE(getsockopt);
	RESOLVE(pthread_create);
	RESOLVE(epoll_wait);
	RESOLVE(epoll_pwait);
	RESOLVE(epoll_pwait2);
	RESOLVE(dup);
	RESOLVE(fcntl);
	RESOLVE(fcntl64);
}

/* One datagram to the local syslog (no fd kept open, none of the app's used). */
static void fs_syslog(const char *msg, int len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	char buf[600];
	int n, s = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	n = snprintf(buf, sizeof(buf), "<28>%.*s", len, msg);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (sendto(s, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&a,
		   sizeof(a)) < 0)
		n = 0;
	syscall(SYS_close, s);
}

/* level <= FASTSOCKET_VERBOSE: to the log fd; level 0 without one: syslog. */
void fs_log(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n, saved = errno;

	if (level > fs.verbose && !(level == 0 && fs.log_fd < 0))
		return;
	n = snprintf(buf, sizeof(buf), "fastsocket[%d]: ", (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (fs.log_fd >= 0) {
		if (write(fs.log_fd, buf, n) < 0)
			n = 0;
	} else {
		fs_syslog(buf, n - 1);
	}
	errno = saved;
}

int fs_kind(int fd)
{
	if (fd < 0 || fd >= fs.nfd)
		return FD_NONE;
	return fs.fdk[fd] & FD_KIND_MASK;
}

int fs_kind_flags(int fd)
{
	if (fd < 0 || fd >= fs.nfd)
		return 0;
	return fs.fdk[fd];
}

void fs_set_kind(int fd, int kind)
{
	if (fd >= 0 && fd < fs.nfd)
		fs.fdk[fd] = (uint8_t)kind;
}

void fs_set_flag(int fd, int flag)
{
	if (fd >= 0 && fd < fs.nfd)
		fs.fdk[fd] |= (uint8_t)flag;
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

/* ---- initialisation ---------------------------------------------------- */

/* "0-3,8,10-11" -> set: 0, or -1 (malformed, out of range or empty). */
int fs_parse_cpulist(const char *s, cpu_set_t *set)
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

/* Where diagnostics go: a file, stderr when verbose was asked, else syslog. */
static void choose_log(const char *verbose)
{
	const char *file = getenv("FASTSOCKET_LOG_FILE");

	fs.log_fd = -1;
	if (file && *file) {
		int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		fs.log_fd = fs_hide_fd(fd, NULL);
		if (!verbose || !*verbose)
			fs.verbose = 1;
	} else if (verbose && *verbose) {
		fs.log_fd = 2;
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

	/* The library's own fds live up here, out of the application's way. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		fs.fd_base = rl.rlim_cur > 2048 ? (int)(rl.rlim_cur - 1024) :
						 (int)(rl.rlim_cur / 2);
	else
		fs.fd_base = 1 << 16;

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
	const char *bp = getenv("FASTSOCKET_BACKPRESSURE");
	char note[160] = "", why[200] = "", kwhy[160] = "", cl[128], line[640];
	cpu_set_t allowed, want;
	int want_mode = 0, n; /* 0 auto, 1 module, 2 userspace, 3 off */
	int module_spawn = 1;

	fs_resolve();
	fs.pid = getpid();
	if (bp && !strcmp(bp, "0"))
		fs_bp_enabled = 0;
	if (getenv("FASTSOCKET_STATS_FILE") && *getenv("FASTSOCKET_STATS_FILE"))
		__atomic_store_n(&fs_out_stats, 1, __ATOMIC_RELEASE);
	fs.spawn_mode = -1;	/* not given: chosen with the backend below */
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
		if (fs_parse_cpulist(cpus, &want) < 0) {
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
		int mod = want_mode == 2 ? -1 : fs_module_probe(why, sizeof(why), &module_spawn);

		/*
		 * Not given: the module's enable_listen_spawn (the profile
		 * chooses), else 1.  Mode 2 pins workers, and a pinned worker
		 * cannot leave a CPU it shares with a busy process (a local
		 * load generator, a log shipper): 0.78x of stock nginx in the
		 * first benchmark people run (docs/benchmarks.md).  Mode 1
		 * accelerates only the workers the application pinned itself.
		 */
		if (fs.spawn_mode < 0)
			fs.spawn_mode = mod == 0 ? module_spawn : 1;

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
	choose_log(verbose);
	if (fs.log_fd >= 0) {
		line[n++] = '\n';
		if (write(fs.log_fd, line, n) < 0)
			n = 0;
	} else if (*note || (fs.backend == FS_BACKEND_OFF && want_mode != 3 &&
			     fs.spawn_mode != 0) || strstr(line, " ABI ")) {
		/* A problem the user did not ask for: said once, to syslog. */
		fs_syslog(line, n);
	}
	pthread_atfork(NULL, NULL, child_handler);
	__atomic_store_n(&fs.ready, 1, __ATOMIC_RELEASE);
	if (fs.backend != FS_BACKEND_OFF)
		fs_adopt_inherited();
}
