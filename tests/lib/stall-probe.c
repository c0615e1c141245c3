// SPDX-License-Identifier: GPL-2.0
/*
 * stall-probe LIB: backpressure on the user-space fallback (issue 10 item
 * 3, src/lib/backpressure.c).  Two workers forked from a root master, each
 * pinned to its CPU (so each gets its CPU's local listener), both watching
 * the listener in epoll.  Worker 0 then stops accepting for STALL_MS while
 * its listener stays registered; a client pinned to CPU 0 connects every
 * 50 ms, each connection sending its number.
 *
 * Asserted: connections made more than 1.3 s after the first one worker 0
 * left waiting are accepted by worker 1 while worker 0 still stalls (its
 * CPU went back to the group), and connections made after worker 0 resumed
 * are accepted by worker 0 again (its CPU came back).  With
 * FASTSOCKET_BACKPRESSURE=0 (the library without it) the first check
 * fails: every CPU-0 connection waits for worker 0.
 *
 * Runs itself under LD_PRELOAD=LIB.  Exit 0 pass, 1 fail, 77 skip (not
 * root, or no user-space listen spawn, or no backpressure program here).
 * Usage: stall-probe LIB [expect-off]   (expect-off: assert that nothing
 * goes to worker 1, for the run with FASTSOCKET_BACKPRESSURE=0)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STALL_MS 3000
#define STEP_MS 50
#define NCONN 80	/* 4 s of connections: 3 s stalled, 1 s after */

struct rec {
	int idx, worker;
	long at_ms;	/* when it was accepted, since the start */
};

static long t0;

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

/* A worker: watch l, accept (except while stalled), report each connection. */
static void worker(int id, int l, int report, int ready)
{
	struct epoll_event ev = { .events = EPOLLIN }, out[8];
	int ep = epoll_create1(EPOLL_CLOEXEC), stalled = 0;

	pin(id);
	ev.data.fd = l;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		_exit(2);
	if (write(ready, "r", 1) != 1)
		_exit(2);
	for (;;) {
		int n, i;

		if (id == 0 && !stalled && now_ms() - t0 >= 200) {
			stalled = 1;
			usleep(STALL_MS * 1000);	/* watching, not accepting */
		}
		n = epoll_wait(ep, out, 8, 50);
		for (i = 0; i < n; i++) {
			int c;

			while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				struct rec r = { .worker = id, .at_ms = now_ms() - t0 };
				unsigned char b;
				struct timespec w = { 0, 1000000 };
				int k;

				for (k = 0; k < 500 && read(c, &b, 1) != 1; k++)
					nanosleep(&w, NULL);
				r.idx = k < 500 ? b : -1;
				if (write(report, &r, sizeof(r)) != sizeof(r))
					_exit(2);
				close(c);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	long made[NCONN], resumed, first_wait = -1;
	int p[2], r[2], l, i, got = 0, late = 0, late_w1 = 0, after = 0, after_w0 = 0;
	int w1 = 0, expect_off = argc > 2 && !strcmp(argv[2], "expect-off");
	struct rec recs[NCONN];
	pid_t w[2];
	char c;

	if (argc < 2)
		return 2;
	if (!getenv("LD_PRELOAD")) {
		if (geteuid() != 0 || sysconf(_SC_NPROCESSORS_ONLN) < 2) {
			printf("stall-probe: skipped (needs root and 2 CPUs)\n");
			return 77;
		}
		setenv("LD_PRELOAD", argv[1], 1);
		setenv("FASTSOCKET_MODE", "userspace", 1);
		setenv("FASTSOCKET_LISTEN_SPAWN", "1", 1);
		setenv("FASTSOCKET_VERBOSE", "1", 1);
		if (expect_off)
			setenv("FASTSOCKET_BACKPRESSURE", "0", 1);
		execv("/proc/self/exe", argv);
		return 2;
	}
	t0 = now_ms();
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 128) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		return 2;
	if (pipe(p) < 0 || pipe(r) < 0)
		return 2;
	for (i = 0; i < 2; i++) {
		w[i] = fork();
		if (w[i] == 0) {
			close(p[0]);
			close(r[0]);
			worker(i, l, p[1], r[1]);
		}
	}
	close(p[1]);
	close(r[1]);
	for (i = 0; i < 2; i++)
		if (read(r[0], &c, 1) != 1)
			return 2;
	/* Connections from CPU 0, one every STEP_MS, from the stall on. */
	pin(0);
	while (now_ms() - t0 < 250)
		usleep(1000);
	for (i = 0; i < NCONN; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		unsigned char b = (unsigned char)i;

		made[i] = now_ms() - t0;
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    write(s, &b, 1) != 1)
			return 2;
		close(s);	/* the byte stays readable for the server */
		usleep(STEP_MS * 1000);
	}
	resumed = 200 + STALL_MS;
	/* Collect every connection (worker 0 drains its queue after the stall). */
	while (got < NCONN && now_ms() - t0 < 200 + STALL_MS + 5000) {
		struct rec x;
		fd_set f;
		struct timeval tv = { 0, 200000 };

		FD_ZERO(&f);
		FD_SET(p[0], &f);
		if (select(p[0] + 1, &f, NULL, NULL, &tv) <= 0)
			continue;
		if (read(p[0], &x, sizeof(x)) != sizeof(x))
			break;
		if (x.idx >= 0 && x.idx < NCONN)
			recs[got++] = x;
	}
	for (i = 0; i < 2; i++) {
		kill(w[i], SIGKILL);
		waitpid(w[i], NULL, 0);
	}
	/* The first connection worker 0 left waiting: made after the stall began. */
	for (i = 0; i < NCONN; i++)
		if (made[i] >= 200 && first_wait < 0)
			first_wait = made[i];
	for (i = 0; i < got; i++) {
		long m = made[recs[i].idx];

		w1 += recs[i].worker == 1;
		if (m >= first_wait + 1300 && m < resumed - 100) {
			late++;
			late_w1 += recs[i].worker == 1 && recs[i].at_ms < resumed;
		}
		if (m >= resumed + 300) {
			after++;
			after_w0 += recs[i].worker == 0;
		}
	}
	printf("stall-probe: %d of %d connections accepted; %d by worker 1; made >= 1.3 s into the stall: %d, accepted by worker 1 during it: %d; made after worker 0 resumed: %d, by worker 0: %d\n",
	       got, NCONN, w1, late, late_w1, after, after_w0);
	if (got != NCONN) {
		printf("FAIL: connections lost\n");
		return 1;
	}
	if (expect_off) {
		if (w1) {
			printf("FAIL: without backpressure worker 1 took CPU 0's connections\n");
			return 1;
		}
		return 0;
	}
	if (!late || late_w1 < late) {
		printf("FAIL: the stalled worker's CPU did not go back to the group within 1.3 s\n");
		return 1;
	}
	if (!after || after_w0 < after) {
		printf("FAIL: the CPU did not come back to worker 0 after it resumed\n");
		return 1;
	}
	return 0;
}
