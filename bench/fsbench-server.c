// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsbench-server: a small multi-process epoll HTTP server, one worker per
 * CPU, that measures locality: for every accepted connection it compares
 * getsockopt(SO_INCOMING_CPU) (the CPU that processed the connection's
 * packets) with sched_getcpu() of the accepting worker.
 *
 *   fsbench-server [-a 127.0.0.1] [-p PORT|0] [-w WORKERS] [-P] [-f PORTFILE]
 *
 * -P pins worker i to the i-th allowed CPU itself (for FASTSOCKET_LISTEN_SPAWN=1).
 * The master respawns dead workers.  "GET /stats" answers the totals;
 * SIGTERM/SIGINT stops everything and prints the same line on stdout:
 *   accepted=N local=M locality=P% workers=W respawned=R
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXW 256

struct stats {
	unsigned long accepted;
	unsigned long local;
	unsigned long respawned;
	int cpu_of[MAXW];	/* CPU of each worker at its last accept */
};

static struct stats *st;
static volatile sig_atomic_t stop;
static pid_t pids[MAXW];
static int nworkers;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static int fmt_stats(char *buf, size_t len)
{
	unsigned long a = __atomic_load_n(&st->accepted, __ATOMIC_RELAXED);
	unsigned long l = __atomic_load_n(&st->local, __ATOMIC_RELAXED);

	return snprintf(buf, len, "accepted=%lu local=%lu locality=%.2f%% workers=%d respawned=%lu\n",
			a, l, a ? 100.0 * (double)l / (double)a : 0.0, nworkers,
			__atomic_load_n(&st->respawned, __ATOMIC_RELAXED));
}

static void handle(int fd)
{
	char req[2048], body[256], resp[512];
	ssize_t n;
	size_t got = 0;
	int blen, rlen;

	for (;;) {
		n = read(fd, req + got, sizeof(req) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;		/* wait for more (connection stays in epoll) */
		if (n <= 0)
			goto out;
		got += n;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n") || got == sizeof(req) - 1)
			break;
		/* small requests arrive in one segment; keep it simple */
		return;
	}
	if (!strncmp(req, "GET /stats", 10)) {
		__atomic_fetch_sub(&st->accepted, 1, __ATOMIC_RELAXED);
		blen = fmt_stats(body, sizeof(body));
	} else {
		blen = snprintf(body, sizeof(body), "ok\n");
	}
	rlen = snprintf(resp, sizeof(resp),
			"HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			blen, body);
	if (write(fd, resp, rlen) < 0)
		perror("write");
out:
	close(fd);
}

static void worker(int idx, int lfd, int pin)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	int ep, i, n;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (pin) {
		cpu_set_t all, one;
		int c, k = -1;

		sched_getaffinity(0, sizeof(all), &all);
		for (c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &all) && ++k == idx % CPU_COUNT(&all))
				break;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			perror("sched_setaffinity");
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("epoll");
		_exit(1);
	}
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd != lfd) {
				handle(fd);
				continue;
			}
			for (;;) {
				int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				int icpu = -1, cpu;
				socklen_t l = sizeof(icpu);
				struct epoll_event cev = { .events = EPOLLIN };

				if (cfd < 0)
					break;
				getsockopt(cfd, SOL_SOCKET, SO_INCOMING_CPU, &icpu, &l);
				cpu = sched_getcpu();
				__atomic_fetch_add(&st->accepted, 1, __ATOMIC_RELAXED);
				if (icpu == cpu)
					__atomic_fetch_add(&st->local, 1, __ATOMIC_RELAXED);
				st->cpu_of[idx] = cpu;
				cev.data.fd = cfd;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev) < 0)
					close(cfd);
			}
		}
	}
}

static pid_t start(int idx, int lfd, int pin)
{
	pid_t p = fork();

	if (p == 0)
		worker(idx, lfd, pin);
	return p;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *portfile = NULL;
	int port = 0, pin = 0, opt, lfd, one = 1, i;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char line[256];

	nworkers = sysconf(_SC_NPROCESSORS_ONLN);
	while ((opt = getopt(argc, argv, "a:p:w:Pf:")) != -1) {
		switch (opt) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'w': nworkers = atoi(optarg); break;
		case 'P': pin = 1; break;
		case 'f': portfile = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-a ADDR] [-p PORT] [-w WORKERS] [-P] [-f PORTFILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (nworkers < 1 || nworkers > MAXW) {
		fprintf(stderr, "fsbench-server: workers must be 1..%d\n", MAXW);
		return 2;
	}
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sa.sin_port = htons(port);
	if (lfd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("fsbench-server: listen");
		return 1;
	}
	if (portfile) {
		FILE *f = fopen(portfile, "w");

		if (!f || fprintf(f, "%d\n", ntohs(sa.sin_port)) < 0 || fclose(f)) {
			perror(portfile);
			return 1;
		}
	}
	printf("listening on %s:%d with %d workers\n", addr, ntohs(sa.sin_port), nworkers);
	fflush(stdout);
	{
		struct sigaction sa_stop = { .sa_handler = on_sig };	/* no SA_RESTART */

		sigaction(SIGTERM, &sa_stop, NULL);
		sigaction(SIGINT, &sa_stop, NULL);
	}
	for (i = 0; i < nworkers; i++)
		pids[i] = start(i, lfd, pin);
	while (!stop) {
		int status;
		pid_t p = wait(&status);

		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < nworkers; i++) {
			if (pids[i] == p && !stop) {
				pids[i] = start(i, lfd, pin);
				__atomic_fetch_add(&st->respawned, 1, __ATOMIC_RELAXED);
			}
		}
	}
	for (i = 0; i < nworkers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	fmt_stats(line, sizeof(line));
	fputs(line, stdout);
	return 0;
}
