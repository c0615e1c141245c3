// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs-conform: differential conformance suite of libfsocket.  Every scenario
 * is a small server doing what real servers do; it prints what the
 * application can observe (return values, errno, option values, event
 * counts, who accepted).  The driver runs each scenario twice, plainly and
 * under LD_PRELOAD=libfsocket.so, and the two outputs must be identical.
 *
 *   fs-conform list                       scenario names
 *   fs-conform run NAME                   one scenario, output on stdout
 *   fs-conform diff LIB [NAME...]         plain vs LIB; exit 1 on a difference
 *
 * diff runs the library with FASTSOCKET_MODE=$FS_CONFORM_MODE (default
 * userspace: the fallback path; "auto" in the VM uses the module) and
 * FASTSOCKET_LISTEN_SPAWN=2.  Every scenario pins itself to CPU 0 first
 * (unless it is about pinning), so its own connections are processed on the
 * CPU whose local listener the library gives it.  Lines starting with '#'
 * are informational and not compared.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- output ------------------------------------------------------------- */

static void R(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void R(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* "0" or "-1 ECONNREFUSED": a return value as the application sees it. */
static const char *rcs(long rc)
{
	static __thread char buf[8][64];
	static __thread int i;
	char *b = buf[i++ & 7];

	if (rc >= 0)
		snprintf(b, 64, "ok");
	else
		snprintf(b, 64, "-1 %s", strerrorname_np(errno) ?: "?");
	return b;
}

static int under_lib(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "fsocket");
}

/* ---- helpers ------------------------------------------------------------ */

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static int ncpu_allowed(void)
{
	cpu_set_t s;

	if (sched_getaffinity(0, sizeof(s), &s) < 0)
		return -1;
	return CPU_COUNT(&s);
}

static int second_cpu(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
}

static socklen_t loop_addr(int family, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
		return -1;
	return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int bound(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t l = loop_addr(family, port, &ss);
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, l) < 0) {
		perror("bind");
		exit(2);
	}
	return fd;
}

static int listener(int family)
{
	int fd = bound(family, 0);

	if (listen(fd, 64) < 0) {
		perror("listen");
		exit(2);
	}
	return fd;
}

static void set_nb(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Connect with a 400 ms limit: "connected", "-1 ECONNREFUSED", "timeout". */
static const char *conn_to(int family, int port, int *out)
{
	struct sockaddr_storage ss;
	socklen_t l = loop_addr(family, port, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t el = sizeof(err);

	if (out)
		*out = -1;
	if (connect(fd, (struct sockaddr *)&ss, l) == 0)
		goto ok;
	if (errno != EINPROGRESS) {
		const char *r = rcs(-1);

		close(fd);
		return r;
	}
	if (poll(&p, 1, 400) != 1) {
		close(fd);
		return "timeout";
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		close(fd);
		errno = err;
		return rcs(-1);
	}
ok:
	if (out)
		*out = fd;
	else
		close(fd); /* leaks nothing: the server side stays queued */
	return "connected";
}

static const char *conn(int port, int *out)
{
	return conn_to(AF_INET, port, out);
}

static int ep_new(void)
{
	return epoll_create1(EPOLL_CLOEXEC);
}

static int ep_add(int ep, int fd, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int ep_wait(int ep, int ms)
{
	struct epoll_event ev[16];

	return epoll_wait(ep, ev, 16, ms);
}

static void set_nb(int fd, int on);

/* Accept whatever is queued without blocking: "ok" or "-1 EAGAIN". */
static const char *acc_nb(int fd)
{
	int fl = fcntl(fd, F_GETFL), c;
	const char *r;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c = accept(fd, NULL, NULL);
	r = rcs(c);
	fcntl(fd, F_SETFL, fl);
	if (c >= 0)
		close(c);
	return r;
}

static int acc_all(int fd)
{
	int n = 0;

	while (!strcmp(acc_nb(fd), "ok"))
		n++;
	return n;
}

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void msleep(int ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/*
 * accept once a connection is there.  The server's side of a loopback
 * handshake can complete after the client's connect() returned (the last
 * ACK is processed from a backlog queue, maybe on another CPU), so plain
 * Linux too may say EAGAIN right after connect.  Retries for up to 500 ms:
 * a scenario that expects EAGAIN still gets it, only later.
 */
static const char *acc_ready(int fd)
{
	const char *r = acc_nb(fd);
	int i;

	for (i = 0; i < 100 && !strcmp(r, "-1 EAGAIN"); i++) {
		msleep(5);
		r = acc_nb(fd);
	}
	return r;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The usual start: CPU 0, an epoll set and a loopback listener in it. */
struct srv {
	int ep, l, port;
};

static struct srv srv_start(int family, unsigned int events)
{
	struct srv s;

	pin(0);
	s.ep = ep_new();
	s.l = listener(family);
	s.port = port_of(s.l);
	if (ep_add(s.ep, s.l, events) < 0)
		R("epoll_add %s", rcs(-1));
	return s;
}

static void *run_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	void *ret = NULL;

	pthread_create(&t, NULL, fn, arg);
	pthread_join(t, &ret);
	return ret;
}

/* Listening sockets of this process for a port (/proc/net/tcp*, state 0A). */
static int listeners_on_port(int port)
{
	const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512];
	int n = 0, i;

	for (i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char *c = strchr(line, ':');
			unsigned int p, st;

			if (!c)
				continue;
			c = strchr(c + 1, ':');
			if (c && sscanf(c + 1, "%x %*s %x", &p, &st) == 2 &&
			    (int)p == port && st == 0x0A)
				n++;
		}
		fclose(f);
	}
	return n;
}

/* ---- scenarios: fds closed behind the wrapper's back --------------------- */

static void sc_close_syscall(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);

	R("syscall_close %s", rcs(syscall(SYS_close, s.l)));
	R("connect %s", conn(s.port, NULL));
}

static void reuse_after_mass_close(int how)
{
	int ep = ep_new(), l, port, fds[6], i, valid = 0;

	pin(0);
	l = listener(AF_INET);
	port = port_of(l);
	ep_add(ep, l, EPOLLIN);
	if (how == 0)
		R("close_range %s", rcs(close_range(ep < l ? ep : l, ~0U, 0)));
	else
		closefrom(ep < l ? ep : l);
	R("connect %s", conn(port, NULL));
	for (i = 0; i < 6; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	R("new fds start at the first closed: %d", fds[0] == (ep < l ? ep : l));
	/* The application closes what is now its file at the listener's number. */
	R("close the listener's number %s", rcs(close(l)));
	for (i = 0; i < 6; i++)
		valid += fds[i] != l && fd_open(fds[i]);
	R("other new fds still open: %d/5", valid);
}

static void sc_close_range(void) { reuse_after_mass_close(0); }
static void sc_closefrom(void) { reuse_after_mass_close(1); }

static void sc_fclose_fdopen(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	FILE *f = fdopen(s.l, "r");

	R("fclose %d", fclose(f));
	R("connect %s", conn(s.port, NULL));
}

static void sc_dup_close_original(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int d = dup(s.l);

	R("close %s", rcs(close(s.l)));
	R("connect %s", conn(s.port, NULL));
	R("events %d", ep_wait(s.ep, 300));
	R("accept dup %s", acc_nb(d));
}

static void sc_fcntl_dupfd(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int d = fcntl(s.l, F_DUPFD_CLOEXEC, 50);

	R("dupfd >= 50: %d", d >= 50);
	R("connect %s", conn(s.port, NULL));
	R("close %s", rcs(close(s.l)));
	R("accept dup %s", acc_ready(d));
}

static void sc_dup2_ebadf(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);

	R("connect %s", conn(s.port, NULL));
	R("dup2(999) %s", rcs(dup2(999, s.l)));
	R("events %d", ep_wait(s.ep, 300));
	R("accept %s", acc_nb(s.l));
}

static void sc_dup2_over_listener(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int n = open("/dev/null", O_RDONLY);

	R("dup2 %s", rcs(dup2(n, s.l)));
	R("connect %s", conn(s.port, NULL));
	R("is /dev/null: %d", fcntl(s.l, F_GETFL) >= 0);
}

static void sc_dup3_over_listener(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int n = open("/dev/null", O_RDONLY);

	R("dup3 %s", rcs(dup3(n, s.l, O_CLOEXEC)));
	R("connect %s", conn(s.port, NULL));
	R("cloexec %d", !!(fcntl(s.l, F_GETFD) & FD_CLOEXEC));
}

static void sc_syscall_dup3_over_listener(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int n = open("/dev/null", O_RDONLY);

	R("SYS_dup3 %s", rcs(syscall(SYS_dup3, n, s.l, 0)));
	R("connect %s", conn(s.port, NULL));
}

static void sc_close_range_cloexec(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);

	R("close_range cloexec %s", rcs(close_range(s.l, s.l, CLOSE_RANGE_CLOEXEC)));
	R("cloexec %d", !!(fcntl(s.l, F_GETFD) & FD_CLOEXEC));
	R("connect %s", conn(s.port, NULL));
	R("events %d", ep_wait(s.ep, 300));
	R("accept %s", acc_nb(s.l));
}

static void sc_close_reuse_number(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int l2, port2;

	R("connect old %s", conn(s.port, NULL));
	R("close %s", rcs(close(s.l)));
	l2 = listener(AF_INET);
	port2 = port_of(l2);
	R("same number %d", l2 == s.l);
	R("epoll add new %s", rcs(ep_add(s.ep, l2, EPOLLIN)));
	R("connect old %s", conn(s.port, NULL));
	R("connect new %s", conn(port2, NULL));
	R("events %d", ep_wait(s.ep, 300));
	R("accept new %s", acc_nb(l2));
	R("accept new again %s", acc_nb(l2));
}

/* ---- vfork and fork ------------------------------------------------------ */

static void sc_vfork_child_closes(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	pid_t p;

	R("connect %s", conn(s.port, NULL));
	p = vfork();
	if (p == 0) {
		close(s.l);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	R("events %d", ep_wait(s.ep, 300));
	R("accept %s", acc_nb(s.l));
	R("connect %s", conn(s.port, NULL));
	R("accept %s", acc_ready(s.l));
}

static void sc_posix_spawn_close(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	posix_spawn_file_actions_t fa;
	char *argv[] = { "true", NULL };
	pid_t p;

	R("connect %s", conn(s.port, NULL));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, s.l);
	R("spawn %d", posix_spawnp(&p, "true", &fa, NULL, argv, environ));
	waitpid(p, NULL, 0);
	R("events %d", ep_wait(s.ep, 300));
	R("accept %s", acc_nb(s.l));
}

static void sc_fork_child_accepts(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int pp[2], st;
	pid_t p;

	if (pipe(pp) < 0)
		exit(2);
	p = fork();
	if (p == 0) {
		int c;

		close(pp[1]);
		c = accept(s.l, NULL, NULL); /* blocking, in the child */
		_exit(c >= 0 ? 7 : 8);
	}
	close(pp[0]);
	R("parent close %s", rcs(close(s.l)));
	R("connect %s", conn(s.port, NULL));
	waitpid(p, &st, 0);
	R("child accepted %d", WIFEXITED(st) && WEXITSTATUS(st) == 7);
}

/* ---- threads ------------------------------------------------------------- */

static struct srv thr_srv;

static void *t_accept(void *a)
{
	(void)a;
	return (void *)acc_nb(thr_srv.l);
}

static void sc_thread_accept(void)
{
	thr_srv = srv_start(AF_INET, EPOLLIN);
	R("connect %s", conn(thr_srv.port, NULL));
	R("events %d", ep_wait(thr_srv.ep, 300));
	R("accept in other thread %s", (char *)run_thread(t_accept, NULL));
}

static void *t_mod(void *a)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };

	(void)a;
	return (void *)rcs(epoll_ctl(thr_srv.ep, EPOLL_CTL_MOD, thr_srv.l, &ev));
}

/* An epoll_ctl by another thread than the one that added the listener. */
static void other_thread_op(const char *what, void *(*op)(void *))
{
	thr_srv = srv_start(AF_INET, EPOLLIN);
	R("%s in other thread %s", what, (char *)run_thread(op, NULL));
	R("connect %s", conn(thr_srv.port, NULL));
	R("events %d", ep_wait(thr_srv.ep, 300));
	R("accept %s", acc_nb(thr_srv.l));
}

static void sc_thread_mod(void) { other_thread_op("mod", t_mod); }

static void *t_del(void *a)
{
	(void)a;
	return (void *)rcs(epoll_ctl(thr_srv.ep, EPOLL_CTL_DEL, thr_srv.l, NULL));
}

static void sc_thread_del(void) { other_thread_op("del", t_del); }

static void *t_add_exit(void *a)
{
	(void)a;
	return (void *)rcs(ep_add(thr_srv.ep, thr_srv.l, EPOLLIN));
}

static void sc_thread_exit(void)
{
	pin(0);
	thr_srv.ep = ep_new();
	thr_srv.l = listener(AF_INET);
	thr_srv.port = port_of(thr_srv.l);
	R("add in a thread that exits %s", (char *)run_thread(t_add_exit, NULL));
	R("connect %s", conn(thr_srv.port, NULL));
	R("events %d", ep_wait(thr_srv.ep, 300));
	R("accept %s", acc_nb(thr_srv.l));
	R("close %s", rcs(close(thr_srv.l)));
	R("connect after close %s", conn(thr_srv.port, NULL));
}

/* ---- pinning ------------------------------------------------------------- */

static void *t_mask(void *a)
{
	(void)a;
	return (void *)(long)ncpu_allowed();
}

static void sc_pin_threads_inherit(void)
{
	int ep = ep_new(), l = listener(AF_INET), st;
	int before = ncpu_allowed();
	pid_t p;

	ep_add(ep, l, EPOLLIN);
	R("new thread mask == start mask: %d", (long)run_thread(t_mask, NULL) == before);
	p = fork();
	if (p == 0)
		_exit(ncpu_allowed() == before ? 0 : 1);
	waitpid(p, &st, 0);
	R("forked child mask == start mask: %d", WEXITSTATUS(st) == 0);
	R("connect %s", conn(port_of(l), NULL));
	R("events %d", ep_wait(ep, 300));
	R("accept %s", acc_nb(l));
}

static void sc_pin_after_privilege_drop(void)
{
	int ep = ep_new(), l, before;

	if (geteuid() != 0) {
		R("skipped: needs root");
		return;
	}
	l = bound(AF_INET, 0);
	before = ncpu_allowed();
	if (setresuid(65534, 65534, 65534) < 0)
		R("setresuid %s", rcs(-1));
	R("listen %s", rcs(listen(l, 16)));
	R("epoll add %s", rcs(ep_add(ep, l, EPOLLIN)));
	R("mask unchanged when no local listener can be made: %d", ncpu_allowed() == before);
	R("connect %s", conn(port_of(l), NULL));
	R("events %d", ep_wait(ep, 300));
	R("accept %s", acc_nb(l));
}

static void sc_pin_app_mask(void)
{
	int cpu = second_cpu(), ep = ep_new(), l;
	cpu_set_t s;

	pin(cpu);
	l = listener(AF_INET);
	ep_add(ep, l, EPOLLIN);
	sched_getaffinity(0, sizeof(s), &s);
	R("still only on the CPU the application chose: %d",
	  CPU_COUNT(&s) == 1 && CPU_ISSET(cpu, &s));
	R("connect %s", conn(port_of(l), NULL));
	R("accept %s", acc_ready(l));
}

/* ---- socket options ------------------------------------------------------ */

struct iopt {
	const char *name;
	int level, opt, val;
};

static const struct iopt v4_opts[] = {
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1 },
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 65536 },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 70000 },
	{ "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 3 },
	{ "SO_MARK", SOL_SOCKET, SO_MARK, 42 },
	{ "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, 3 },
	{ "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1 },
	{ "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 77 },
	{ "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, 11 },
	{ "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, 5 },
	{ "TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, 12345 },
	{ "TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 1200 },
	{ "TCP_NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT, 9999 },
	{ "TCP_LINGER2", IPPROTO_TCP, TCP_LINGER2, 7 },
	{ "TCP_SYNCNT", IPPROTO_TCP, TCP_SYNCNT, 3 },
	{ "TCP_WINDOW_CLAMP", IPPROTO_TCP, TCP_WINDOW_CLAMP, 40000 },
	{ "IP_TOS", IPPROTO_IP, IP_TOS, 0x10 },
	{ "IP_TTL", IPPROTO_IP, IP_TTL, 33 },
	{ "IP_MINTTL", IPPROTO_IP, IP_MINTTL, 2 },
	{ NULL, 0, 0, 0 }
};

static const struct iopt v6_opts[] = {
	{ "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, 1 },
	{ "IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, 0x20 },
	{ "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9 },
	{ "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 66 },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1 },
	{ NULL, 0, 0, 0 }
};

static void print_opts(int fd, const struct iopt *o)
{
	for (; o->name; o++) {
		int v = -1;
		socklen_t l = sizeof(v);

		if (getsockopt(fd, o->level, o->opt, &v, &l) < 0)
			R("%s %s", o->name, rcs(-1));
		else
			R("%s %d", o->name, v);
	}
}

static void print_str_opts(int fd)
{
	char cc[32] = "", dev[32] = "";
	struct linger lg = { -1, -1 };
	socklen_t l = sizeof(cc);

	getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &l);
	l = sizeof(dev);
	getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &l);
	R("TCP_CONGESTION %s", cc);
	R("SO_BINDTODEVICE '%.*s'", (int)l, dev);
	l = sizeof(lg);
	getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l);
	R("SO_LINGER %d %d", lg.l_onoff, lg.l_linger);
}

/* Options set on the listener, read on the accepted socket. */
static void opts_scenario(int family, const struct iopt *opts, int after_add,
			  const char *dev)
{
	int ep = ep_new(), l = socket(family, SOCK_STREAM, 0), c, cl;
	struct linger lg = { 1, 5 };
	struct sockaddr_storage ss;
	socklen_t sl = loop_addr(family, 0, &ss);
	const struct iopt *o;

	pin(0);
	for (o = opts; !after_add && o->name; o++)
		if (setsockopt(l, o->level, o->opt, &o->val, sizeof(o->val)) < 0)
			R("set %s %s", o->name, rcs(-1));
	if (!after_add) {
		setsockopt(l, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
		setsockopt(l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (dev && setsockopt(l, SOL_SOCKET, SO_BINDTODEVICE, dev, strlen(dev)) < 0)
		R("set SO_BINDTODEVICE %s", rcs(-1));
	bind(l, (struct sockaddr *)&ss, sl);
	listen(l, 16);
	ep_add(ep, l, EPOLLIN);
	for (o = opts; after_add && o->name; o++)
		if (setsockopt(l, o->level, o->opt, &o->val, sizeof(o->val)) < 0)
			R("set %s %s", o->name, rcs(-1));
	R("connect %s", conn_to(family, port_of(l), &cl));
	R("events %d", ep_wait(ep, 300));
	c = accept(l, NULL, NULL);
	R("accept %s", rcs(c));
	if (c < 0)
		return;
	print_opts(c, opts);
	print_str_opts(c);
}

static void sc_sockopt_ipv4(void) { opts_scenario(AF_INET, v4_opts, 0, NULL); }
static void sc_sockopt_ipv6(void) { opts_scenario(AF_INET6, v6_opts, 0, NULL); }
static void sc_sockopt_after_listen(void) { opts_scenario(AF_INET, v4_opts, 1, NULL); }
static void sc_sockopt_bindtodevice(void) { opts_scenario(AF_INET, v6_opts + 5, 0, "lo"); }

static void sc_sockopt_zero_values(void)
{
	/* Explicit zeros and defaults: a copier that skips 0 loses them. */
	static const struct iopt z[] = {
		{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 0 },
		{ "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 0 },
		{ "IP_TOS", IPPROTO_IP, IP_TOS, 0 },
		{ "SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 0 },
		{ NULL, 0, 0, 0 }
	};
	opts_scenario(AF_INET, z, 0, NULL);
}

static void sc_sockopt_v6only_zero(void)
{
	int ep = ep_new(), l = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, v = -1, c;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = in6addr_any };
	socklen_t sl = sizeof(v);

	pin(0);
	setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 16);
	ep_add(ep, l, EPOLLIN);
	R("IPv4 connect to [::] listener %s", conn(port_of(l), NULL));
	R("events %d", ep_wait(ep, 300));
	c = accept(l, NULL, NULL);
	R("accept %s", rcs(c));
	getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, &sl);
	R("V6ONLY %d", v);
}

static void sc_socket_filter(void)
{
	struct sock_filter code[] = { { BPF_RET | BPF_K, 0, 0, 0xffffffff } };
	struct sock_fprog prog = { 1, code };
	int ep = ep_new(), l = bound(AF_INET, 0), c;
	socklen_t len = 0;

	pin(0);
	R("attach filter %s", rcs(setsockopt(l, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog))));
	listen(l, 16);
	ep_add(ep, l, EPOLLIN);
	R("connect %s", conn(port_of(l), NULL));
	R("events %d", ep_wait(ep, 300));
	c = accept(l, NULL, NULL);
	R("accept %s", rcs(c));
	R("accepted socket filter length %d",
	  getsockopt(c, SOL_SOCKET, SO_GET_FILTER, NULL, &len) < 0 ? -1 : (int)len);
}

static void sc_tcp_md5sig(void)
{
	struct tcp_md5sig md5;
	struct sockaddr_in *a = (struct sockaddr_in *)&md5.tcpm_addr;
	int ep = ep_new(), l = bound(AF_INET, 0);

	pin(0);
	memset(&md5, 0, sizeof(md5));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	md5.tcpm_keylen = 6;
	memcpy(md5.tcpm_key, "secret", 6);
	R("md5 key %s", rcs(setsockopt(l, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5))));
	listen(l, 16);
	ep_add(ep, l, EPOLLIN);
	R("connect without the key %s", conn(port_of(l), NULL));
}

static void sc_app_reuseport_cbpf(void)
{
	/* The application's reuseport program sends every SYN to socket 1. */
	struct sock_filter code[] = { { BPF_RET | BPF_K, 0, 0, 1 } };
	struct sock_fprog prog = { 1, code };
	int one = 1, s[2], i, ep = ep_new(), port = 0, n0, n1;

	pin(0);
	for (i = 0; i < 2; i++) {
		struct sockaddr_storage ss;
		socklen_t l = loop_addr(AF_INET, port, &ss);

		s[i] = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		bind(s[i], (struct sockaddr *)&ss, l);
		port = port_of(s[i]);
	}
	R("attach %s", rcs(setsockopt(s[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF,
				      &prog, sizeof(prog))));
	for (i = 0; i < 2; i++) {
		listen(s[i], 16);
		ep_add(ep, s[i], EPOLLIN);
	}
	for (i = 0; i < 4; i++)
		conn(port, NULL);
	msleep(50);
	n0 = acc_all(s[0]);
	n1 = acc_all(s[1]);
	R("accepted on socket 0: %d, socket 1: %d", n0, n1);
}

/* ---- several listeners on one port -------------------------------------- */

static void sc_two_addresses_one_port(void)
{
	int ep = ep_new(), l4, l6, one = 1, port;
	struct sockaddr_storage ss;
	socklen_t sl;

	pin(0);
	l4 = listener(AF_INET);
	port = port_of(l4);
	l6 = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	sl = loop_addr(AF_INET6, port, &ss);
	R("bind [::1] same port %s", rcs(bind(l6, (struct sockaddr *)&ss, sl)));
	R("listen %s", rcs(listen(l6, 16)));
	ep_add(ep, l4, EPOLLIN);
	ep_add(ep, l6, EPOLLIN);
	R("connect v4 %s", conn_to(AF_INET, port, NULL));
	R("connect v6 %s", conn_to(AF_INET6, port, NULL));
	msleep(50);
	R("accept v4 %s", acc_ready(l4));
	R("accept v6 %s", acc_ready(l6));
	/* Both accelerated: each has a local listener besides its own. */
	R("both accelerated %d", !under_lib() || listeners_on_port(port) >= 4);
	if (under_lib())
		R("# listening sockets on the port: %d", listeners_on_port(port));
}

/* ---- blocking accept ----------------------------------------------------- */

static void on_sig(int s) { (void)s; }

static pthread_t main_thr;

static void *t_signal_then_connect(void *a)
{
	pin(0);
	msleep(100);
	pthread_kill(main_thr, SIGUSR1);
	msleep(150);
	conn(*(int *)a, NULL);
	return NULL;
}

static void eintr_scenario(int restart)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = restart ? SA_RESTART : 0 };
	pthread_t t;
	int c;

	sigaction(SIGUSR1, &sa, NULL);
	main_thr = pthread_self();
	pthread_create(&t, NULL, t_signal_then_connect, &s.port);
	c = accept(s.l, NULL, NULL);
	R("blocking accept %s", rcs(c));
	pthread_join(t, NULL);
}

static void sc_accept_sa_restart(void) { eintr_scenario(1); }
static void sc_accept_eintr(void) { eintr_scenario(0); }

static void sc_accept_rcvtimeo(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	struct timeval tv = { 0, 300000 };
	long t0;
	int c;

	setsockopt(s.l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = now_ms();
	c = accept(s.l, NULL, NULL);
	R("accept %s", rcs(c));
	R("returned after the timeout: %d", now_ms() - t0 >= 250 && now_ms() - t0 < 2000);
}

static void *t_connect_later(void *a)
{
	pin(0);
	msleep(150);
	conn(*(int *)a, NULL);
	return NULL;
}

static void sc_accept_blocking_local(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	pthread_t t;

	pthread_create(&t, NULL, t_connect_later, &s.port);
	R("blocking accept4 %s", rcs(accept4(s.l, NULL, NULL, SOCK_CLOEXEC)));
	pthread_join(t, NULL);
}

static void sc_nonblock_toggle(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	pthread_t t;

	set_nb(s.l, 1);
	R("O_NONBLOCK %d", !!(fcntl(s.l, F_GETFL) & O_NONBLOCK));
	R("accept empty %s", acc_nb(s.l));
	R("accept(nonblocking fd) empty %s", rcs(accept(s.l, NULL, NULL)));
	set_nb(s.l, 0);
	R("O_NONBLOCK %d", !!(fcntl(s.l, F_GETFL) & O_NONBLOCK));
	pthread_create(&t, NULL, t_connect_later, &s.port);
	R("blocking accept %s", rcs(accept(s.l, NULL, NULL)));
	pthread_join(t, NULL);
}

static void sc_accept4_flags(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int c;

	conn(s.port, NULL);
	ep_wait(s.ep, 300);
	c = accept4(s.l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	R("accept4 %s", rcs(c));
	R("nonblock %d cloexec %d", !!(fcntl(c, F_GETFL) & O_NONBLOCK),
	  !!(fcntl(c, F_GETFD) & FD_CLOEXEC));
	R("accept4 bad flags %s", rcs(accept4(s.l, NULL, NULL, 0x4000000)));
}

static void sc_accept_addresses(void)
{
	struct srv s = srv_start(AF_INET6, EPOLLIN);
	struct sockaddr_in6 a;
	socklen_t l = sizeof(a), small = 4;
	char small_buf[16];
	int c;

	conn_to(AF_INET6, s.port, NULL);
	conn_to(AF_INET6, s.port, NULL);
	ep_wait(s.ep, 300);
	c = accept(s.l, (struct sockaddr *)&a, &l);
	R("accept %s len %d family %d", rcs(c), (int)l, a.sin6_family);
	R("local port is the listener's: %d", port_of(c) == s.port);
	c = accept(s.l, (struct sockaddr *)small_buf, &small);
	R("accept short buffer %s len %d", rcs(c), (int)small);
	R("accept bad address %s", rcs(accept(s.l, (struct sockaddr *)8, &l)));
}

/* ---- epoll --------------------------------------------------------------- */

static void sc_epoll_new_set(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int ep2;

	R("close old set %s", rcs(close(s.ep)));
	ep2 = ep_new();
	R("add to new set %s", rcs(ep_add(ep2, s.l, EPOLLIN)));
	R("connect %s", conn(s.port, NULL));
	R("events %d", ep_wait(ep2, 300));
	R("accept %s", acc_nb(s.l));
}

static void *t_connect_cpu1(void *a)
{
	pin(second_cpu());
	conn(*(int *)a, NULL);
	return NULL;
}

/* n connections from the second CPU and n from this thread's. */
static void conn_both_cpus(int port, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		run_thread(t_connect_cpu1, &port);
		conn(port, NULL);
	}
}

static void sc_epoll_oneshot(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN | EPOLLONESHOT);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = s.l };

	run_thread(t_connect_cpu1, &s.port);
	conn(s.port, NULL);
	R("events %d", ep_wait(s.ep, 300));
	R("events after the one shot %d", ep_wait(s.ep, 100));
	R("rearm %s", rcs(epoll_ctl(s.ep, EPOLL_CTL_MOD, s.l, &ev)));
	R("events %d", ep_wait(s.ep, 300) > 0);
	R("accepted %d", acc_all(s.l));
}

static void sc_epoll_edge_triggered(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN | EPOLLET);
	int i;

	for (i = 0; i < 3; i++)
		conn(s.port, NULL);
	msleep(30);
	R("events %d", ep_wait(s.ep, 300));
	R("accepted %d", acc_all(s.l));
	R("events after draining %d", ep_wait(s.ep, 50));
	conn(s.port, NULL);
	R("events for a new one %d", ep_wait(s.ep, 300));
	R("accepted %d", acc_all(s.l));
}

static void sc_epoll_exclusive_app(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN | EPOLLEXCLUSIVE);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = s.l };

	R("MOD of exclusive %s", rcs(epoll_ctl(s.ep, EPOLL_CTL_MOD, s.l, &ev)));
	R("connect %s", conn(s.port, NULL));
	R("events %d", ep_wait(s.ep, 300));
	R("accept %s", acc_nb(s.l));
}

static void sc_epoll_del_readd(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);

	R("add again %s", rcs(ep_add(s.ep, s.l, EPOLLIN)));
	R("del %s", rcs(epoll_ctl(s.ep, EPOLL_CTL_DEL, s.l, NULL)));
	R("del again %s", rcs(epoll_ctl(s.ep, EPOLL_CTL_DEL, s.l, NULL)));
	R("connect %s", conn(s.port, NULL));
	R("events while out %d", ep_wait(s.ep, 100));
	R("readd %s", rcs(ep_add(s.ep, s.l, EPOLLIN)));
	R("events %d", ep_wait(s.ep, 300));
	R("accept %s", acc_nb(s.l));
}

/* nginx re-adds its listener every 16 accept events (DEL, then ADD). */
static void sc_epoll_readd_with_queue(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int i;

	for (i = 0; i < 3; i++)
		conn(s.port, NULL);
	R("events %d", ep_wait(s.ep, 300));
	R("accept one %s", acc_nb(s.l));
	R("del %s", rcs(epoll_ctl(s.ep, EPOLL_CTL_DEL, s.l, NULL)));
	R("add %s", rcs(ep_add(s.ep, s.l, EPOLLIN)));
	R("events %d", ep_wait(s.ep, 300));
	R("accepted %d", acc_all(s.l));
	R("events after draining %d", ep_wait(s.ep, 100));
	R("connect %s", conn(s.port, NULL));
	R("events %d", ep_wait(s.ep, 300));
	R("accepted %d", acc_all(s.l));
}

static void sc_epoll_mod_out_only(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = s.l };

	R("mod to EPOLLOUT %s", rcs(epoll_ctl(s.ep, EPOLL_CTL_MOD, s.l, &ev)));
	R("connect %s", conn(s.port, NULL));
	R("events %d", ep_wait(s.ep, 200));
	ev.events = EPOLLIN;
	R("mod back %s", rcs(epoll_ctl(s.ep, EPOLL_CTL_MOD, s.l, &ev)));
	R("events %d", ep_wait(s.ep, 300));
	R("accept %s", acc_nb(s.l));
}

/* One epoll_wait() reports a ready fd once, wherever its connections wait. */
static void sc_epoll_one_report(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	struct epoll_event ev[16];
	int i, n, mine = 0;

	conn_both_cpus(s.port, 4);
	msleep(100);
	n = epoll_wait(s.ep, ev, 16, 300);
	for (i = 0; i < n; i++)
		mine += ev[i].data.fd == s.l;
	R("events %d, for the listener %d", n, mine);
	R("accepted %d", acc_all(s.l));
}

/*
 * The application gives its listener's event data to another fd too (an
 * edge-triggered eventfd), before or after the listener: the library must
 * not fold that fd's report into the listener's (it would be lost for good).
 * Under the library the listener may then be reported twice (docs/library.md,
 * Known limits), so what is compared is that both are reported.
 */
static void epoll_data_shared(int eventfd_first)
{
	int ep = ep_new(), efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), l, port, i, n, d7 = 0;
	struct epoll_event ev[16], e7 = { .events = EPOLLIN | EPOLLET, .data.u64 = 7 };
	struct epoll_event l7 = { .events = EPOLLIN, .data.u64 = 7 };
	uint64_t one = 1;

	pin(0);
	if (eventfd_first)
		R("add eventfd %s", rcs(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e7)));
	l = listener(AF_INET);
	port = port_of(l);
	R("add listener %s", rcs(epoll_ctl(ep, EPOLL_CTL_ADD, l, &l7)));
	if (!eventfd_first)
		R("add eventfd %s", rcs(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e7)));
	conn_both_cpus(port, 4);
	R("eventfd write %zd", write(efd, &one, sizeof(one)));
	msleep(100);
	n = epoll_wait(ep, ev, 16, 300);
	for (i = 0; i < n; i++)
		d7 += ev[i].data.u64 == 7;
	R("both reported: %d", d7 >= 2);
	R("accepted %d", acc_all(l));
}

static void sc_epoll_data_shared_before(void) { epoll_data_shared(1); }
static void sc_epoll_data_shared_after(void) { epoll_data_shared(0); }

static void sc_many_connections_both_cpus(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int n = 0;
	long t0 = now_ms();

	conn_both_cpus(s.port, 10);
	while (n < 20 && now_ms() - t0 < 3000)
		if (ep_wait(s.ep, 200) > 0)
			n += acc_all(s.l);
	R("accepted %d", n);
}

/* ---- side effects -------------------------------------------------------- */

static void sc_exec_child_output(void)
{
	char buf[256] = "";
	FILE *f = popen("sh -c 'echo out; echo err >&2' 2>&1", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	buf[n] = 0;
	if (f)
		pclose(f);
	R("child output '%s'", buf);
}

static void sc_startup_silent(void)
{
	/* The driver compares this scenario's stderr too. */
	struct srv s = srv_start(AF_INET, EPOLLIN);

	R("connect %s", conn(s.port, NULL));
	R("accept %s", acc_ready(s.l));
}

static void sc_second_bind_same_port(void)
{
	int l = listener(AF_INET), s2 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss;
	socklen_t sl = loop_addr(AF_INET, port_of(l), &ss);

	R("second bind %s", rcs(bind(s2, (struct sockaddr *)&ss, sl)));
}

static void sc_second_bind_before_listen(void)
{
	int s1 = bound(AF_INET, 0), s2 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage ss;
	socklen_t sl = loop_addr(AF_INET, port_of(s1), &ss);

	R("second bind %s", rcs(bind(s2, (struct sockaddr *)&ss, sl)));
	R("listen first %s", rcs(listen(s1, 4)));
}

static void sc_second_bind_app_reuseport(void)
{
	/* A listener without SO_REUSEPORT; a second socket WITH it. */
	int l = listener(AF_INET), s2 = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_storage ss;
	socklen_t sl = loop_addr(AF_INET, port_of(l), &ss);

	setsockopt(s2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	R("second bind %s", rcs(bind(s2, (struct sockaddr *)&ss, sl)));
}

static void sc_reuseport_option_value(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int v = -1;
	socklen_t l = sizeof(v);

	getsockopt(s.l, SOL_SOCKET, SO_REUSEPORT, &v, &l);
	R("SO_REUSEPORT %d", v);
}

static void sc_rundir_untouched(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	const char *d = getenv("FASTSOCKET_RUNDIR");
	DIR *dir;
	struct dirent *e;
	int n = 0;

	conn(s.port, NULL);
	acc_nb(s.l);
	close(s.l);
	dir = d ? opendir(d) : NULL;
	while (dir && (e = readdir(dir)))
		n += e->d_name[0] != '.';
	if (dir)
		closedir(dir);
	R("files left in the run directory %d", n);
}

static void sc_fd_numbers(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int a = open("/dev/null", O_RDONLY), b = socket(AF_INET, SOCK_DGRAM, 0);

	R("next fds follow the listener: %d %d", a - s.l, b - s.l);
	R("accept fd follows: %d", (conn(s.port, NULL), accept(s.l, NULL, NULL)) - s.l);
}

/* ---- backpressure -------------------------------------------------------- */

/* Worker A (CPU 0) stops watching; worker B (other CPU) must get A's share. */
static void sc_backpressure_stop_watching(void)
{
	int l = listener(AF_INET), port = port_of(l), a2p[2], p2b[2], b2p[2];
	int i, n = -1;
	char c;
	pid_t a, b;

	if (pipe(a2p) < 0 || pipe(p2b) < 0 || pipe(b2p) < 0)
		exit(2);
	a = fork();
	if (a == 0) {
		int ep = ep_new();

		pin(0);
		ep_add(ep, l, EPOLLIN);
		epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL);	/* accept_mutex lost */
		if (write(a2p[1], "a", 1) < 0)
			_exit(1);
		msleep(3000);
		_exit(0);
	}
	b = fork();
	if (b == 0) {
		int ep = ep_new(), got = 0;
		long t0;

		pin(second_cpu());
		ep_add(ep, l, EPOLLIN);
		if (write(b2p[1], "b", 1) < 0 || read(p2b[0], &c, 1) < 0)
			_exit(1);
		t0 = now_ms();
		while (got < 10 && now_ms() - t0 < 1500)
			if (ep_wait(ep, 100) > 0)
				got += acc_all(l);
		_exit(got);
	}
	if (read(a2p[0], &c, 1) < 0 || read(b2p[0], &c, 1) < 0)
		exit(2);
	close(l);
	msleep(1000);	/* handed back within 1 s */
	pin(0);
	for (i = 0; i < 10; i++)
		conn(port, NULL);
	if (write(p2b[1], "go", 1) < 0)
		exit(2);
	waitpid(b, &i, 0);
	n = WIFEXITED(i) ? WEXITSTATUS(i) : -1;
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	R("the watching worker accepted %d of 10", n);
}

/* ---- what real servers do ------------------------------------------------ */

static const char *self_exe;

static void sc_socket_activation(void)
{
	int l, st;
	pid_t p;
	char pidbuf[16];

	pin(0);
	l = listener(AF_INET);
	p = fork();
	if (p == 0) {
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
		dup2(l, 3);
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_PID", pidbuf, 1);
		execl(self_exe, self_exe, "run", "role_activated", (char *)NULL);
		_exit(127);
	}
	close(l);
	waitpid(p, &st, 0);
	R("child exit %d", WEXITSTATUS(st));
}

static void sc_role_activated(void)
{
	int n = atoi(getenv("LISTEN_FDS") ?: "0"), ep = ep_new(), v = 0;
	socklen_t sl = sizeof(v);

	getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &v, &sl);
	R("LISTEN_FDS %d fd 3 listening %d", n, v);
	R("add %s", rcs(ep_add(ep, 3, EPOLLIN)));
	R("connect %s", conn(port_of(3), NULL));
	R("events %d", ep_wait(ep, 300));
	R("accept %s", acc_nb(3));
	R("affinity kept: %d", ncpu_allowed() == 1);
}

/*
 * SO_DETACH_REUSEPORT_BPF on a listener without a program of its own says
 * ENOENT (the library's backpressure program is not the application's).
 */
static void sc_reuseport_detach_none(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int one = 1;

	R("detach %s", rcs(setsockopt(s.l, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one,
				      sizeof(one))));
	R("connect %s", conn(s.port, NULL));
	R("accept %s", acc_ready(s.l));
	/* SO_REUSEPORT set by the application: ENOENT. */
	{
		struct sockaddr_storage ss;
		socklen_t sl = loop_addr(AF_INET, 0, &ss);
		int l = socket(AF_INET, SOCK_STREAM, 0), ep = ep_new();

		setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		bind(l, (struct sockaddr *)&ss, sl);
		listen(l, 16);
		ep_add(ep, l, EPOLLIN);
		R("detach with SO_REUSEPORT %s", rcs(setsockopt(l, SOL_SOCKET,
			SO_DETACH_REUSEPORT_BPF, &one, sizeof(one))));
	}
}

static void sc_binary_upgrade(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	char num[16];
	int st;
	pid_t p;

	R("connect to the old master %s", conn(s.port, NULL));
	R("old accept %s", acc_ready(s.l));
	p = fork();
	if (p == 0) {
		/* The new binary inherits the listener (nginx USR2: NGINX env). */
		snprintf(num, sizeof(num), "%d", s.l);
		setenv("FS_CONFORM_FD", num, 1);
		execl(self_exe, self_exe, "run", "role_new_binary", (char *)NULL);
		_exit(127);
	}
	waitpid(p, &st, 0);
	R("new binary exit %d", WEXITSTATUS(st));
	R("old master closes %s", rcs(close(s.l)));
	R("connect after the old master left %s", conn(s.port, NULL));
}

static void sc_role_new_binary(void)
{
	int l = atoi(getenv("FS_CONFORM_FD") ?: "-1"), ep = ep_new(), n = 0;
	long t0 = now_ms();

	pin(0);
	R("inherited fd open %d", fd_open(l));
	R("add %s", rcs(ep_add(ep, l, EPOLLIN)));
	conn(port_of(l), NULL);
	conn(port_of(l), NULL);
	while (n < 2 && now_ms() - t0 < 2000)
		if (ep_wait(ep, 200) > 0)
			n += acc_all(l);
	R("new binary accepted %d", n);
}

static void sc_app_reuseport_two(void)
{
	int one = 1, s[2], i, ep = ep_new(), port = 0, n = 0;
	long t0;

	pin(0);
	for (i = 0; i < 2; i++) {
		struct sockaddr_storage ss;
		socklen_t l = loop_addr(AF_INET, port, &ss);

		s[i] = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		R("bind %s", rcs(bind(s[i], (struct sockaddr *)&ss, l)));
		port = port_of(s[i]);
		listen(s[i], 16);
		ep_add(ep, s[i], EPOLLIN);
	}
	for (i = 0; i < 8; i++)
		conn(port, NULL);
	t0 = now_ms();
	while (n < 8 && now_ms() - t0 < 2000) {
		ep_wait(ep, 100);
		n += acc_all(s[0]) + acc_all(s[1]);
	}
	R("accepted %d", n);
	R("SO_REUSEPORT %d", ({ int v = 0; socklen_t l = sizeof(v);
		getsockopt(s[0], SOL_SOCKET, SO_REUSEPORT, &v, &l); v; }));
}

static void sc_port0_getsockname(void)
{
	int l1 = listener(AF_INET), l2 = listener(AF_INET), ep = ep_new();
	struct sockaddr_in a;
	socklen_t sl = sizeof(a);

	pin(0);
	ep_add(ep, l1, EPOLLIN);
	getsockname(l1, (struct sockaddr *)&a, &sl);
	R("family %d len %d port set %d", a.sin_family, (int)sl, a.sin_port != 0);
	R("two port-0 listeners differ %d", port_of(l1) != port_of(l2));
	R("getpeername on listener %s", rcs(getpeername(l1, (struct sockaddr *)&a, &sl)));
}

static void sc_listener_identity(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);
	int v = -1, t = -1;
	socklen_t l = sizeof(v);

	getsockopt(s.l, SOL_SOCKET, SO_ACCEPTCONN, &v, &l);
	l = sizeof(t);
	getsockopt(s.l, SOL_SOCKET, SO_TYPE, &t, &l);
	R("SO_ACCEPTCONN %d SO_TYPE %d", v, t);
	R("listen again %s", rcs(listen(s.l, 128)));
	R("connect %s", conn(s.port, NULL));
	R("accept %s", acc_ready(s.l));
}

static void sc_shutdown_relisten(void)
{
	struct srv s = srv_start(AF_INET, EPOLLIN);

	R("connect %s", conn(s.port, NULL));
	R("shutdown %s", rcs(shutdown(s.l, SHUT_RD)));
	R("accept after shutdown %s", acc_nb(s.l));
	R("connect %s", conn(s.port, NULL));
	R("listen again %s", rcs(listen(s.l, 16)));
	R("connect %s", conn(s.port, NULL));
	R("events %d", ep_wait(s.ep, 300) > 0);
	R("accept %s", acc_nb(s.l));
}

static void sc_udp_untouched(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0), v = -1;
	struct sockaddr_storage ss;
	socklen_t sl = loop_addr(AF_INET, 0, &ss), l = sizeof(v);
	char buf[8];

	bind(u, (struct sockaddr *)&ss, sl);
	getsockopt(u, SOL_SOCKET, SO_REUSEPORT, &v, &l);
	R("SO_REUSEPORT %d", v);
	sl = loop_addr(AF_INET, port_of(u), &ss);
	R("second bind %s", rcs(bind(u2, (struct sockaddr *)&ss, sl)));
	R("sendto %s", rcs(sendto(u2, "x", 1, 0, (struct sockaddr *)&ss, sl)));
	R("recv %zd", recv(u, buf, sizeof(buf), 0));
	R("listen on udp %s", rcs(listen(u, 4)));
}

static void sc_unix_untouched(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
	int ep = ep_new();

	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "fs-conform-%d", (int)getpid());
	R("bind %s", rcs(bind(l, (struct sockaddr *)&a, sizeof(a))));
	R("listen %s", rcs(listen(l, 4)));
	R("add %s", rcs(ep_add(ep, l, EPOLLIN)));
	R("connect %s", rcs(connect(c, (struct sockaddr *)&a, sizeof(a))));
	R("events %d", ep_wait(ep, 300));
	R("accept %s", acc_nb(l));
}

/* ---- table and driver ---------------------------------------------------- */

struct scenario {
	const char *name;
	void (*fn)(void);
	int flags;
};

#define CMP_STDERR 1
#define HIDDEN 2	/* a role run by another scenario */

#define S(n) { #n, sc_##n, 0 }
#define S2(n, f) { #n, sc_##n, f }
static const struct scenario scenarios[] = {
	S(close_syscall), S(close_range), S(closefrom), S(fclose_fdopen),
	S(dup_close_original), S(fcntl_dupfd), S(dup2_ebadf), S(dup2_over_listener),
	S(dup3_over_listener), S(syscall_dup3_over_listener), S(close_range_cloexec),
	S(close_reuse_number),
	S(vfork_child_closes), S(posix_spawn_close), S(fork_child_accepts),
	S(thread_accept), S(thread_mod), S(thread_del), S(thread_exit),
	S(pin_threads_inherit), S(pin_after_privilege_drop), S(pin_app_mask),
	S(sockopt_ipv4), S(sockopt_ipv6), S(sockopt_after_listen),
	S(sockopt_bindtodevice), S(sockopt_zero_values), S(sockopt_v6only_zero),
	S(socket_filter), S(tcp_md5sig), S(app_reuseport_cbpf),
	S(two_addresses_one_port),
	S(accept_sa_restart), S(accept_eintr), S(accept_rcvtimeo),
	S(accept_blocking_local), S(nonblock_toggle), S(accept4_flags),
	S(accept_addresses),
	S(epoll_new_set), S(epoll_oneshot), S(epoll_edge_triggered),
	S(epoll_exclusive_app), S(epoll_del_readd), S(epoll_readd_with_queue), S(epoll_mod_out_only),
	S(many_connections_both_cpus), S(epoll_one_report),
	S(epoll_data_shared_before), S(epoll_data_shared_after),
	S(exec_child_output), S2(startup_silent, CMP_STDERR),
	S(second_bind_same_port), S(second_bind_before_listen),
	S(second_bind_app_reuseport), S(reuseport_option_value),
	S(rundir_untouched), S(fd_numbers),
	S(backpressure_stop_watching),
	S(socket_activation), S(binary_upgrade), S(reuseport_detach_none), S(app_reuseport_two),
	S(port0_getsockname), S(listener_identity), S(shutdown_relisten),
	S(udp_untouched), S(unix_untouched),
	{ "role_activated", sc_role_activated, HIDDEN },
	{ "role_new_binary", sc_role_new_binary, HIDDEN }, /* not S(): no ctest */
};
#define NSC (int)(sizeof(scenarios) / sizeof(scenarios[0]))

static const struct scenario *find(const char *name)
{
	int i;

	for (i = 0; i < NSC; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

/* Run one scenario in a child with extra environment; collect its output. */
static int capture(const char *name, const char *lib, const char *rundir,
		   char *out, size_t outlen, char *err, size_t errlen)
{
	int po[2], pe[2], st;
	size_t no = 0, ne = 0;
	pid_t p;
	long t0 = now_ms();

	if (pipe(po) < 0 || pipe(pe) < 0)
		return -1;
	p = fork();
	if (p == 0) {
		const char *mode = getenv("FS_CONFORM_MODE");

		setpgid(0, 0);	/* the scenario and its children: one group to kill */
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		close(po[1]);
		close(pe[1]);
		setenv("FASTSOCKET_RUNDIR", rundir, 1);
		if (lib) {
			setenv("LD_PRELOAD", lib, 1);
			setenv("FASTSOCKET_MODE", mode && *mode ? mode : "userspace", 1);
			setenv("FASTSOCKET_LISTEN_SPAWN", "2", 1);
		} else {
			unsetenv("LD_PRELOAD");
		}
		execl(self_exe, self_exe, "run", name, (char *)NULL);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	for (;;) {
		struct pollfd pf[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
		int open_n = 0, i;

		for (i = 0; i < 2; i++)
			open_n += pf[i].fd >= 0;
		if (poll(pf, 2, 1000) < 0 && errno != EINTR)
			break;
		if (pf[0].revents) {
			ssize_t r = read(po[0], out + no, outlen - no - 1);

			if (r <= 0) {
				close(po[0]);
				po[0] = -1;
			} else {
				no += r;
			}
		}
		if (pf[1].revents) {
			ssize_t r = read(pe[0], err + ne, errlen - ne - 1);

			if (r <= 0) {
				close(pe[0]);
				pe[0] = -1;
			} else {
				ne += r;
			}
		}
		if (po[0] < 0 && pe[0] < 0)
			break;
		if (now_ms() - t0 > 30000) {
			kill(-p, SIGKILL);
			no += snprintf(out + no, outlen - no, "TIMEOUT\n");
			break;
		}
		(void)open_n;
	}
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	out[no] = 0;
	err[ne] = 0;
	waitpid(p, &st, 0);
	kill(-p, SIGKILL);	/* what a scenario left behind (a child blocked in accept) */
	if (WIFSIGNALED(st))
		snprintf(out + strlen(out), outlen - strlen(out), "killed by signal %d\n",
			 WTERMSIG(st));
	else if (WEXITSTATUS(st))
		snprintf(out + strlen(out), outlen - strlen(out), "exit %d\n",
			 WEXITSTATUS(st));
	return 0;
}

/* Drop the '#' lines (informational). */
static void strip_info(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		char *nl = strchr(r, '\n');
		size_t len = nl ? (size_t)(nl - r + 1) : strlen(r);

		if (*r != '#') {
			memmove(w, r, len);
			w += len;
		}
		r += len;
	}
	*w = 0;
}

static void indent(const char *tag, const char *s)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		int len = nl ? (int)(nl - s) : (int)strlen(s);

		printf("    %s %.*s\n", tag, len, s);
		s += len + (nl ? 1 : 0);
	}
}

static int diff_one(const struct scenario *sc, const char *lib)
{
	static char po[16384], pe[8192], lo[16384], le[8192];
	char rd1[] = "/tmp/fs-conform-XXXXXX", rd2[] = "/tmp/fs-conform-XXXXXX";
	int same;

	if (!mkdtemp(rd1) || !mkdtemp(rd2))
		return -1;
	chmod(rd1, 0755);
	chmod(rd2, 0755);
	capture(sc->name, NULL, rd1, po, sizeof(po), pe, sizeof(pe));
	capture(sc->name, lib, rd2, lo, sizeof(lo), le, sizeof(le));
	strip_info(po);
	strip_info(lo);
	same = !strcmp(po, lo) && (!(sc->flags & CMP_STDERR) || !strcmp(pe, le));
	printf("%-4s %s\n", same ? "SAME" : "DIFF", sc->name);
	if (!same) {
		indent("plain:", po);
		indent("lib:  ", lo);
		if (sc->flags & CMP_STDERR) {
			indent("plain stderr:", pe);
			indent("lib stderr:  ", le);
		}
	}
	fflush(stdout);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s %s", rd1, rd2);
		if (system(cmd) != 0)
			(void)0;
	}
	return same ? 0 : 1;
}

int main(int argc, char **argv)
{
	static char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int i, bad = 0;

	self_exe = n > 0 ? (exe[n] = 0, exe) : argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		for (i = 0; i < NSC; i++)
			if (!(scenarios[i].flags & HIDDEN))
				puts(scenarios[i].name);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "run")) {
		const struct scenario *sc = find(argv[2]);

		if (!sc) {
			fprintf(stderr, "fs-conform: no scenario %.80s\n", argv[2]);
			return 2;
		}
		signal(SIGPIPE, SIG_IGN);
		sc->fn();
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "diff")) {
		if (argc == 3) {
			for (i = 0; i < NSC; i++)
				if (!(scenarios[i].flags & HIDDEN))
					bad += diff_one(&scenarios[i], argv[2]) != 0;
		}
		for (i = 3; i < argc; i++) {
			const struct scenario *sc = find(argv[i]);

			if (!sc) {
				fprintf(stderr, "fs-conform: no scenario %.80s\n", argv[i]);
				return 2;
			}
			bad += diff_one(sc, argv[2]) != 0;
		}
		printf("%d scenario(s) differ\n", bad);
		return bad ? 1 : 0;
	}
	fprintf(stderr, "usage: fs-conform list | run NAME | diff LIB [NAME...]\n");
	return 2;
}
