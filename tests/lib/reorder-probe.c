// SPDX-License-Identifier: GPL-2.0
/*
 * reorder-probe LIB: nginx's listener re-registration under the library
 * (issue 14).  nginx with accept_mutex off adds its listener with
 * EPOLLEXCLUSIVE and, every 16 accept events, deletes it from its epoll set
 * and adds it back at once (ngx_reorder_accept_events).  The library must
 * keep its local listener over that pair: a hand-back each time cost a
 * queue drain, a shutdown (resetting connections being established) and a
 * new listener every 16 connections.  A DEL that is not followed by the
 * re-ADD must still hand the CPU back (the worker stopped watching).
 *
 * The probe runs itself under LD_PRELOAD=LIB with FASTSOCKET_VERBOSE=2 and
 * counts the library's "handed back" lines: 0 after 64 connections with a
 * DEL+ADD every 16, then 1 after a DEL followed by another epoll_ctl().
 * Exit 0 pass, 1 fail, 77 skip (no user-space listen spawn here).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "reorder-probe: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Under the library: the nginx pattern.  Returns 0 or 1. */
static int child(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	socklen_t al = sizeof(a);
	int l, ep, i, other[2];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 128) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		return fail("listener");
	ep = epoll_create1(0);
	ev.data.fd = l;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		return fail("epoll add");
	for (i = 1; i <= 64; i++) {
		struct epoll_event got;
		int c = socket(AF_INET, SOCK_STREAM, 0), s;

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
			return fail("connect");
		if (epoll_wait(ep, &got, 1, 2000) != 1)
			return fail("epoll_wait: no connection event");
		s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
		if (s < 0)
			return fail("accept");
		close(s);
		close(c);
		if (i % 16 == 0 &&
		    (epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0))
			return fail("reorder");
	}
	/* Then stop watching for real: the next epoll_ctl() hands the CPU back. */
	if (epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL) < 0 || pipe(other) < 0)
		return fail("del");
	ev.events = EPOLLIN;
	ev.data.fd = other[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, other[0], &ev) < 0)
		return fail("epoll add pipe");
	return 0;
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

int main(int argc, char **argv)
{
	char log[] = "/tmp/reorder-probe.XXXXXX", buf[65536];
	int fd, st, n_back;
	ssize_t n;
	pid_t p;

	if (getenv("REORDER_PROBE_CHILD"))
		return child();
	if (argc != 2) {
		fprintf(stderr, "usage: reorder-probe LIBFSOCKET\n");
		return 2;
	}
	fd = mkstemp(log);
	if (fd < 0)
		return fail("mkstemp");
	p = fork();
	if (p == 0) {
		setenv("LD_PRELOAD", argv[1], 1);
		setenv("FASTSOCKET_MODE", "userspace", 1);
		setenv("FASTSOCKET_LISTEN_SPAWN", "2", 1);
		setenv("FASTSOCKET_VERBOSE", "2", 1);
		setenv("FASTSOCKET_LOG_FILE", log, 1);
		setenv("REORDER_PROBE_CHILD", "1", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return fail("fork");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(log);
	buf[n > 0 ? n : 0] = 0;
	if (!strstr(buf, "using user-space listen spawn")) {
		printf("skip: no user-space listen spawn here: %.100s\n", buf);
		return 77;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		printf("FAIL: the nginx pattern failed under the library\n");
		return 1;
	}
	/* Want exactly one: the final DEL's, none for the four DEL+ADD pairs. */
	n_back = count(buf, "handed back");
	printf("hand-backs: %d (want 1: none for 4 x DEL+ADD, one for the final DEL)\n", n_back);
	if (n_back != 1) {
		printf("FAIL\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
