// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsbench-overhead: cost per call of operations libfsocket interposes but
 * does not accelerate, and of one it does not interpose at all.  Run it with
 * and without LD_PRELOAD=libfsocket.so and compare.
 *
 *   fsbench-overhead [-n ITERATIONS]
 *
 * Prints one line per case:  <case> ns_per_op=<x>
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = 200000, i;
	int opt, p[2], ep, fd;
	char c = 'x';
	double t;
	struct epoll_event ev = { .events = EPOLLIN };

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			n = atol(optarg);
	if (pipe(p) < 0 || (ep = epoll_create1(0)) < 0) {
		perror("setup");
		return 1;
	}

	t = now_ns();
	for (i = 0; i < n; i++) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		close(fd);
	}
	printf("udp_socket_close ns_per_op=%.1f\n", (now_ns() - t) / n);

	t = now_ns();
	for (i = 0; i < n; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		close(fd);
	}
	printf("tcp_socket_close ns_per_op=%.1f\n", (now_ns() - t) / n);

	t = now_ns();
	for (i = 0; i < n; i++) {
		ev.data.fd = p[0];
		epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
		epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
	}
	printf("epoll_ctl_add_del_pipe ns_per_op=%.1f\n", (now_ns() - t) / n);

	t = now_ns();
	for (i = 0; i < n; i++) {
		if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
			return 1;
	}
	printf("pipe_write_read ns_per_op=%.1f\n", (now_ns() - t) / n);
	return 0;
}
