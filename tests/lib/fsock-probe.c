// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsock-probe: runs under LD_PRELOAD=libfsocket.so for tests/lib and prints
 * key=value lines the tests check.
 *
 *   fsock-probe nothing       only the library's start-up line
 *   fsock-probe passthrough   UDP, unix, pipe and eventfd-like fds untouched
 *   fsock-probe fork          slot and local listener ownership across fork()
 *   fsock-probe epollops      EPOLL_CTL_MOD/DEL/re-ADD and blocking accept()
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static int count_fds(const char *needle)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[300];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t l;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		l = readlink(path, target, sizeof(target) - 1);
		if (l < 0)
			continue;
		target[l] = 0;
		if (!needle || strstr(target, needle))
			n++;
	}
	closedir(d);
	return n - (needle ? 0 : 1);	/* the DIR's own fd */
}

static int reuseport_of(int fd)
{
	int v = -1;
	socklen_t l = sizeof(v);

	getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, &l);
	return v;
}

static int passthrough(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	int before, udp, uds, p[2], ep, sp[2];
	char c = 'x';

	before = count_fds(NULL);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	if (udp < 0 || bind(udp, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return perror("udp"), 1;
	printf("udp_reuseport=%d\n", reuseport_of(udp));

	uds = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(su.sun_path, sizeof(su.sun_path), "/tmp/fsock-probe-%d.sock", (int)getpid());
	unlink(su.sun_path);
	if (uds < 0 || bind(uds, (struct sockaddr *)&su, sizeof(su)) < 0 || listen(uds, 8) < 0)
		return perror("unix"), 1;
	printf("unix_reuseport=%d\n", reuseport_of(uds));

	if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
		return perror("pipe"), 1;
	ep = epoll_create1(0);
	ev.data.fd = uds;
	printf("epoll_unix=%d\n", epoll_ctl(ep, EPOLL_CTL_ADD, uds, &ev));
	ev.data.fd = p[0];
	printf("epoll_pipe=%d\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ev.data.fd = udp;
	printf("epoll_udp=%d\n", epoll_ctl(ep, EPOLL_CTL_ADD, udp, &ev));
	printf("pipe_io=%d\n", write(p[1], &c, 1) == 1 && read(p[0], &c, 1) == 1);
	printf("dup2_pipe=%d\n", dup2(p[0], 100) == 100 && close(100) == 0);
	/* 7 fds of ours: udp, uds, 2 pipe, 2 socketpair, epoll; nothing else. */
	printf("extra_fds=%d\n", count_fds(NULL) - before - 7);
	printf("affinity_cpus=%d\n", ({ cpu_set_t s; sched_getaffinity(0, sizeof(s), &s); CPU_COUNT(&s); }));
	unlink(su.sun_path);
	return 0;
}

/* A listening IPv4 socket on 127.0.0.1, port 0: its port, or -1. */
static int listen_only(int *lfd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	*lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (*lfd < 0 || bind(*lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(*lfd, 128) < 0 ||
	    getsockname(*lfd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	return ntohs(sa.sin_port);
}

static int listen_and_add(int *lfd_out, int *ep_out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t sl = sizeof(sa);
	int lfd = *lfd_out, ep;

	if (lfd < 0 && listen_only(&lfd) < 0)
		return -1;
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	ep = epoll_create1(0);
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return -1;
	*lfd_out = lfd;
	*ep_out = ep;
	return ntohs(sa.sin_port);
}

/*
 * Is CPU cpu's slot held by some process?  Slots are POSIX record locks on
 * the listening socket (byte n = CPU n); asked from a third process.
 */
static int slot_taken(int fd, int cpu)
{
	int st;
	pid_t p;

	if (fd < 0)
		return -1;
	p = fork();
	if (p == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = cpu, .l_len = 1 };

		if (fcntl(fd, F_GETLK, &fl) < 0)
			_exit(2);
		_exit(fl.l_type != F_UNLCK);
	}
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int connect_ok(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return r == 0;
}

static int forkcheck(void)
{
	int lfd = -1, ep, port, pcpu, p[2];
	pid_t pid;
	char buf[64] = "";

	port = listen_and_add(&lfd, &ep);
	if (port < 0)
		return perror("listen"), 1;
	pcpu = sched_getcpu();
	printf("parent_cpu=%d\n", pcpu);
	printf("parent_lock_fds=%d\n", count_fds("fastsocket-slots"));
	printf("parent_socket_fds=%d\n", count_fds("socket:"));
	if (pipe(p) < 0)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int cep;

		/* The parent's slot lock and local listener are not ours. */
		printf("child_lock_fds=%d\n", count_fds("fastsocket-slots"));
		printf("child_socket_fds=%d\n", count_fds("socket:"));
		if (listen_and_add(&lfd, &cep) < 0)
			printf("child_add=fail\n");
		printf("child_cpu=%d\n", sched_getcpu());
		printf("child_lock_fds_after=%d\n", count_fds("fastsocket-slots"));
		fflush(stdout);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(p[0], buf, 1) != 1)
		return 1;
	printf("both_slots_taken=%d\n", slot_taken(lfd, 0) == 1 && slot_taken(lfd, 1) == 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("parent_slot_after_child_death=%d\n", slot_taken(lfd, pcpu));
	printf("child_slot_after_child_death=%d\n", slot_taken(lfd, !pcpu));
	printf("connect_after=%d\n", connect_ok(port));
	{
		int a = -1, tries;

		for (tries = 0; tries < 100 && a < 0; tries++) {
			a = accept4(lfd, NULL, NULL, 0);
			if (a < 0)
				usleep(10000);
		}
		printf("accept_after=%d\n", a >= 0);
	}
	return 0;
}

static int wait_data(int ep, int ms)
{
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, ms);

	return n == 1 ? (int)ev.data.u64 : n == 0 ? 0 : -1;
}

/* 20 connections, each reported by epoll with data @tag and accepted: 1 if all were. */
static int twenty_events(int ep, int lfd, int port, int tag)
{
	int i, a, got = 1;

	for (i = 0; i < 20; i++) {
		connect_ok(port);
		got &= wait_data(ep, 2000) == tag;
		a = accept(lfd, NULL, NULL);
		got &= a >= 0;
		close(a);
	}
	return got;
}

static void *late_connect(void *arg)
{
	usleep(200000);
	connect_ok((int)(long)arg);
	return NULL;
}

/* EPOLL_CTL_MOD / DEL / re-ADD / duplicate ADD on a spawned listener, and a
 * blocking accept() that must see a connection on either listener. */
static int epollops(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t sl = sizeof(sa);
	int lfd, ep, port, a;
	pthread_t th;

	lfd = socket(AF_INET, SOCK_STREAM, 0);	/* blocking */
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0)
		return perror("listen"), 1;
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	ep = epoll_create1(0);
	ev.data.u64 = 42;
	printf("add=%d\n", epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
	printf("pinned=%d\n", ({ cpu_set_t s; sched_getaffinity(0, sizeof(s), &s); CPU_COUNT(&s); }) == 1);
	printf("cpu=%d\n", sched_getcpu());
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = 43;
	printf("mod=%d\n", epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &ev));
	printf("events_after_mod=%d\n", twenty_events(ep, lfd, port, 43));
	printf("del=%d\n", epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL));
	connect_ok(port);
	printf("events_after_del=%d\n", wait_data(ep, 300));
	ev.events = EPOLLIN;
	ev.data.u64 = 44;
	printf("readd=%d\n", epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev));
	printf("event_after_readd=%d\n", wait_data(ep, 2000));
	a = accept(lfd, NULL, NULL);
	printf("accept_after_readd=%d\n", a >= 0);
	close(a);
	printf("dup_add_eexist=%d\n", epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0 && errno == EEXIST);
	printf("events_after_dup_add=%d\n", twenty_events(ep, lfd, port, 44));
	/* Blocking accept with nothing queued: must wait for the late client. */
	pthread_create(&th, NULL, late_connect, (void *)(long)port);
	a = accept(lfd, NULL, NULL);
	printf("blocking_accept=%d\n", a >= 0);
	pthread_join(th, NULL);
	close(a);
	printf("close=%d\n", close(lfd));
	printf("connect_after_close=%d\n", connect_ok(port));
	return 0;
}

/*
 * split (FASTSOCKET_CPUS=0,1, mode 2): two listeners A and B.  H1 pins
 * itself to CPU 0 and watches B, H2 pins itself to CPU 1 and watches A, so
 * no CPU is free for both.  P1 then watches A; H1 exits; P2 watches B, then
 * A.  A worker pinned by the library needs its CPU for every listener: the
 * library took A:0 for P1 and B:0 for P2, both pinned to CPU 0 with half of
 * it each (nginx's new workers after a binary upgrade).  Each child prints
 * ROLE_pid, ROLE_cpus (affinity size) and ROLE_cpu after its step.
 */
static void split_child(const char *role, int *lfds, int nl, int cpu, int go, int done)
{
	char c;
	int ep = epoll_create1(0), i;

	if (read(go, &c, 1) != 1)
		_exit(1);
	if (cpu >= 0) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		sched_setaffinity(0, sizeof(one), &one);
	}
	for (i = 0; i < nl; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfds[i] };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, lfds[i], &ev) < 0)
			printf("%s_add=fail\n", role);
	}
	{
		cpu_set_t s;

		sched_getaffinity(0, sizeof(s), &s);
		printf("%s_pid=%d\n%s_cpus=%d\n%s_cpu=%d\n", role, (int)getpid(), role,
		       CPU_COUNT(&s), role, sched_getcpu());
	}
	fflush(stdout);
	if (write(done, "x", 1) != 1 || read(go, &c, 1) < 0)
		_exit(1);
	_exit(0);
}

static int split(void)
{
	int a = -1, b = -1, i, go[4][2], done[2];
	int pa, pb;
	pid_t pid[4];
	char c;

	/* The parent only listens (as nginx's master): it takes no CPU. */
	pa = listen_only(&a);
	pb = listen_only(&b);
	if (pa < 0 || pb < 0 || pipe(done) < 0)
		return perror("listen"), 1;
	printf("port_a=%d\nport_b=%d\n", pa, pb);
	fflush(stdout);
	for (i = 0; i < 4; i++) {
		int both[2] = { b, a };

		if (pipe(go[i]) < 0)
			return 1;
		pid[i] = fork();
		if (pid[i] == 0) {
			if (i == 0)
				split_child("h1", &b, 1, 0, go[i][0], done[1]);
			if (i == 1)
				split_child("h2", &a, 1, 1, go[i][0], done[1]);
			if (i == 2)
				split_child("p1", &a, 1, -1, go[i][0], done[1]);
			split_child("p2", both, 2, -1, go[i][0], done[1]);
		}
	}
	for (i = 0; i < 4; i++) {
		if (i == 3) {	/* H1 leaves before P2 comes */
			if (write(go[0][1], "q", 1) != 1)
				return 1;
			waitpid(pid[0], NULL, 0);
		}
		if (write(go[i][1], "g", 1) != 1 || read(done[0], &c, 1) != 1)
			return 1;
	}
	printf("a0_taken=%d\nb0_taken=%d\n", slot_taken(a, 0), slot_taken(b, 0));
	for (i = 1; i < 4; i++) {
		kill(pid[i], SIGKILL);
		waitpid(pid[i], NULL, 0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || !strcmp(argv[1], "nothing"))
		return 0;
	if (!strcmp(argv[1], "passthrough"))
		return passthrough();
	if (!strcmp(argv[1], "fork"))
		return forkcheck();
	if (!strcmp(argv[1], "epollops"))
		return epollops();
	if (!strcmp(argv[1], "split"))
		return split();
	fprintf(stderr, "usage: %s nothing|passthrough|fork|epollops|split\n", argv[0]);
	return 2;
}
