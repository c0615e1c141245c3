// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsbench-overhead: cost per call of operations libfsocket interposes but
 * does not accelerate, of one it does not interpose at all, and of the
 * per-connection path of an accelerated listener (accept4 with nothing
 * queued; connect + accept4 + close on the local listener), and of
 * epoll_wait with two ready fds (the library checks the answer for a
 * listener reported twice), without and with an accelerated listener.  Run it with and
 * without LD_PRELOAD=libfsocket.so and compare.
 *
 *   fsbench-overhead [-n ITERATIONS]
 *
 * Prints one line per case:  <case> ns_per_op=<x> user_ns_per_op=<y>
 * (x: wall time of the fastest of 25 batches; y: user-mode CPU time per
 * call over all batches, i.e. the part the library's wrapper can add to)
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* User-mode CPU time of this process: what the wrapper itself adds. */
static double user_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e9 + ru.ru_utime.tv_usec * 1e3;
}

#define BATCHES 25

/*
 * Each case runs in BATCHES batches; the fastest batch is reported, which
 * filters out preemption by other work on a busy machine.
 */
#define MEASURE(name, body) do {					\
	double best = 1e18, u0 = user_ns();				\
	long b, per = n / BATCHES;					\
	for (b = 0; b < BATCHES; b++) {					\
		double t0 = now_ns();					\
		for (i = 0; i < per; i++) {				\
			body;						\
		}							\
		t0 = (now_ns() - t0) / per;				\
		if (t0 < best)						\
			best = t0;					\
	}								\
	printf("%s ns_per_op=%.1f user_ns_per_op=%.1f\n", name, best,	\
	       (user_ns() - u0) / (per * BATCHES));			\
} while (0)

/* Two pipes with a byte each in set ep: every epoll_wait reports both. */
static int two_ready(int ep)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int p[2], q[2];

	if (pipe(p) < 0 || pipe(q) < 0 || write(p[1], "x", 1) != 1 || write(q[1], "x", 1) != 1)
		return -1;
	ev.data.fd = p[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) < 0)
		return -1;
	ev.data.fd = q[0];
	return epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev);
}

/*
 * An accelerated listener: CPU 0, loopback, in an epoll set (under the
 * library in mode 2 this makes the local listener; our connections are
 * processed on CPU 0, so they land on it).  The client resets its side on
 * close (SO_LINGER 0): no TIME_WAIT piles up.
 */
static int accelerated(long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger lg = { 1, 0 };
	struct epoll_event ev = { .events = EPOLLIN }, evs[8];
	socklen_t al = sizeof(a);
	cpu_set_t one;
	long i;
	int l, ep, c, s;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ep = epoll_create1(0);
	if (l < 0 || ep < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 4096) < 0 || getsockname(l, (struct sockaddr *)&a, &al) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0) {
		perror("accelerated listener");
		return 1;
	}
	MEASURE("accept4_eagain_accelerated", accept4(l, NULL, NULL, SOCK_NONBLOCK));
	if (two_ready(ep) < 0) {
		perror("pipes");
		return 1;
	}
	MEASURE("epoll_wait_2_ready_accelerated", epoll_wait(ep, evs, 8, 0));
	n /= 10;
	if (n < BATCHES)
		n = BATCHES;
	MEASURE("connect_accept_close_accelerated",
		c = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
			return 1;
		while ((s = accept4(l, NULL, NULL, SOCK_NONBLOCK)) < 0)
			;
		close(c);
		close(s));
	return 0;
}

int main(int argc, char **argv)
{
	long n = 100000, i;
	int opt, p[2], ep, fd;
	char c = 'x';
	struct epoll_event ev = { .events = EPOLLIN }, evs[8];

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			n = atol(optarg);
	if (n < BATCHES)
		n = BATCHES;
	if (pipe(p) < 0 || (ep = epoll_create1(0)) < 0) {
		perror("setup");
		return 1;
	}
	ev.data.fd = p[0];

	/* The cheapest interposed calls: the kernel fails them at once, so the
	 * wrapper's share (a byte load and an indirect call) is most visible. */
	MEASURE("close_ebadf", close(-1));
	MEASURE("accept4_ebadf", accept4(-1, NULL, NULL, 0));
	MEASURE("udp_socket_close", fd = socket(AF_INET, SOCK_DGRAM, 0); close(fd));
	MEASURE("tcp_socket_close", fd = socket(AF_INET, SOCK_STREAM, 0); close(fd));
	MEASURE("epoll_ctl_add_del_pipe",
		epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
		epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	MEASURE("pipe_write_read",
		if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
			return 1);
	fd = epoll_create1(0);
	if (fd < 0 || two_ready(fd) < 0) {
		perror("pipes");
		return 1;
	}
	MEASURE("epoll_wait_2_ready", epoll_wait(fd, evs, 8, 0));
	return accelerated(n);
}
