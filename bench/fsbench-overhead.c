// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsbench-overhead: cost per call of operations libfsocket interposes but
 * does not accelerate, and of one it does not interpose at all.  Run it with
 * and without LD_PRELOAD=libfsocket.so and compare.
 *
 *   fsbench-overhead [-n ITERATIONS]
 *
 * Prints one line per case:  <case> ns_per_op=<x> user_ns_per_op=<y>
 * (x: wall time of the fastest of 25 batches; y: user-mode CPU time per
 * call over all batches, i.e. the part the library's wrapper can add to)
 */
#define _GNU_SOURCE
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

int main(int argc, char **argv)
{
	long n = 100000, i;
	int opt, p[2], ep, fd;
	char c = 'x';
	struct epoll_event ev = { .events = EPOLLIN };

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
	return 0;
}
