// SPDX-License-Identifier: GPL-2.0
/*
 * A small TCP server for cli_ps_counters_test.sh, run under LD_PRELOAD of
 * libfsocket.so: listens on 127.0.0.1 (a free port) and obeys lines on
 * stdin, answering each on stdout:
 *   accept N   accept N connections through epoll (local listeners), the
 *              listener stays in the epoll set -> "ok"
 *   unwatch    takes the listener out of the epoll set (its CPU is handed
 *              back) -> "ok"
 *   fork K     a child accepts K connections (poll + accept), says
 *              "child PID ok", and exits normally on SIGTERM -> "forked PID"
 *   exit       exit(0)
 * First line out: "port P pid X".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int ep = -1;

static void accept_epoll(int ls, int n)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
	int got = 0;

	if (ep < 0 && ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		       epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)) {
		perror("epoll");
		exit(2);
	}
	while (got < n) {
		int fd;

		if (epoll_wait(ep, &ev, 1, -1) < 1)
			continue;
		while (got < n && (fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
			close(fd);
			got++;
		}
	}
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	char line[64];
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), n;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 128) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
		perror("listen");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("port %d pid %d\n", ntohs(a.sin_port), (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "accept %d", &n) == 1) {
			accept_epoll(ls, n);
			printf("ok\n");
		} else if (!strncmp(line, "unwatch", 7)) {
			if (ep >= 0)
				epoll_ctl(ep, EPOLL_CTL_DEL, ls, NULL);
			printf("ok\n");
		} else if (sscanf(line, "fork %d", &n) == 1) {
			pid_t c = fork();

			if (c == 0) {
				struct pollfd p = { .fd = ls, .events = POLLIN };
				int i = 0, fd;

				signal(SIGTERM, on_term);
				/* No epoll here: the application's listener (global path). */
				while (i < n && poll(&p, 1, -1) >= 0)
					if ((fd = accept(ls, NULL, NULL)) >= 0) {
						close(fd);
						i++;
					}
				printf("child %d ok\n", (int)getpid());
				while (!stop)
					pause();
				exit(0);
			}
			printf("forked %d\n", (int)c);
		} else if (!strncmp(line, "exit", 4)) {
			exit(0);
		}
	}
	return 0;
}
