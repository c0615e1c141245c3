// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rfd-probe: outgoing connections of CPU-pinned workers, run under
 * libfsocket.so (LD_PRELOAD) or without it.
 *
 *   rfd-probe [-6] [-n CONNS_PER_CPU] [-b] [-s SERVER_CPU] [-x]
 *   rfd-probe -e            (fast epoll: MOD patterns, prints counts)
 *
 * Connect mode: a backend server (created with raw syscalls, so the
 * library leaves it alone) pinned to SERVER_CPU answers each request; one
 * client thread per allowed CPU, pinned to it, connects N times, sends a
 * request, reads the reply and checks its socket: the source port (in the
 * configured local port range?  port % R == cpu, R = CPUs rounded up to a
 * power of two?) and SO_INCOMING_CPU (the CPU that processed the reply)
 * against its own CPU.  -b: the client binds port 0 itself first (RFD must
 * leave it alone).  -x: keep every client socket open (port exhaustion:
 * report the first connect errno).
 * Prints: conns=C failures=F rule_ok=A in_range=B local=L R=R range=LO-HI
 *         first_errno=E
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int v6, nconn = 100, do_bind, keep, server_cpu = -1;
static int R = 1, lo = 32768, hi = 60999;
static struct sockaddr_storage srv;
static socklen_t srvlen;
static long conns, failures, rule_ok, in_range, local;
static int first_errno;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static void *server(void *arg)
{
	int lfd = *(int *)arg;
	char buf[64];

	if (server_cpu >= 0)
		pin(server_cpu);
	for (;;) {
		int c = syscall(SYS_accept4, lfd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		if (read(c, buf, sizeof(buf)) > 0 && write(c, "pong", 4) != 4)
			perror("write");
		syscall(SYS_close, c);
	}
	return NULL;
}

static void *client(void *arg)
{
	int cpu = (int)(long)arg, i;
	long c = 0, f = 0, ok = 0, rng = 0, loc = 0;
	int ferr = 0;

	pin(cpu);
	for (i = 0; i < nconn; i++) {
		int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_storage me;
		socklen_t ml = sizeof(me);
		char buf[8];
		int port, icpu = -1;
		socklen_t il = sizeof(icpu);

		if (fd < 0) {
			f++;
			break;
		}
		if (do_bind) {
			struct sockaddr_storage b;

			memset(&b, 0, sizeof(b));
			b.ss_family = v6 ? AF_INET6 : AF_INET;
			bind(fd, (struct sockaddr *)&b, v6 ? sizeof(struct sockaddr_in6) :
			     sizeof(struct sockaddr_in));
		}
		if (connect(fd, (struct sockaddr *)&srv, srvlen) < 0) {
			if (!ferr)
				ferr = errno;
			f++;
			close(fd);
			if (keep)
				break;
			continue;
		}
		getsockname(fd, (struct sockaddr *)&me, &ml);
		port = ntohs(v6 ? ((struct sockaddr_in6 *)&me)->sin6_port :
			     ((struct sockaddr_in *)&me)->sin_port);
		if (write(fd, "ping", 4) != 4 || read(fd, buf, sizeof(buf)) <= 0) {
			f++;
			close(fd);
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &icpu, &il);
		c++;
		ok += port % R == cpu % R;
		rng += port >= lo && port <= hi;
		loc += icpu == cpu;
		if (!keep)
			close(fd);
	}
	pthread_mutex_lock(&mu);
	conns += c;
	failures += f;
	rule_ok += ok;
	in_range += rng;
	local += loc;
	if (ferr && !first_errno)
		first_errno = ferr;
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* Fast epoll: ADD, then MODs that change nothing / change something. */
static int epoll_probe(void)
{
	int sv[2], ep = epoll_create1(0), i, n, ready = 0;
	struct epoll_event ev = { .events = EPOLLIN }, out;

	if (ep < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	ev.data.u64 = 7;
	epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
	for (i = 0; i < 1000; i++)	/* 1000 no-op MODs: skipped */
		epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	ev.events = EPOLLIN | EPOLLOUT;	/* changes state: done */
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	ev.data.u64 = 8;		/* new data: done */
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	ev.events = EPOLLIN | EPOLLET;	/* ET: never skipped */
	for (i = 0; i < 10; i++)
		epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	ev.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	/* readiness still reported after skipped MODs */
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	if (write(sv[1], "x", 1) != 1)
		return 1;
	n = epoll_wait(ep, &out, 1, 1000);
	if (n == 1 && out.data.u64 == 8)
		ready = 1;
	/* fd closed and reused: a MOD must reach the kernel (ENOENT) */
	close(sv[0]);
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	n = epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev);
	printf("ready=%d reused_mod_rc=%d reused_mod_errno=%d\n", ready, n, errno);
	return 0;
}

int main(int argc, char **argv)
{
	int opt, lfd, one = 1, c, ncpu = 0;
	cpu_set_t allowed;
	pthread_t st, th[CPU_SETSIZE];
	FILE *f;

	while ((opt = getopt(argc, argv, "6n:bs:xe")) != -1) {
		switch (opt) {
		case '6': v6 = 1; break;
		case 'n': nconn = atoi(optarg); break;
		case 'b': do_bind = 1; break;
		case 's': server_cpu = atoi(optarg); break;
		case 'x': keep = 1; break;
		case 'e': return epoll_probe();
		default:
			fprintf(stderr, "usage: rfd-probe [-6] [-n N] [-b] [-s CPU] [-x] | -e\n");
			return 2;
		}
	}
	while (R < sysconf(_SC_NPROCESSORS_CONF))
		R <<= 1;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768, hi = 60999;
		fclose(f);
	}
	lfd = syscall(SYS_socket, v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&srv, 0, sizeof(srv));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&srv;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		srvlen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&srv;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		srvlen = sizeof(*a);
	}
	/* port 80 + pid % 1000 + 20000: outside the usual local range */
	((struct sockaddr_in *)&srv)->sin_port = htons(20000 + getpid() % 1000);
	if (syscall(SYS_bind, lfd, &srv, srvlen) < 0 || syscall(SYS_listen, lfd, 4096) < 0) {
		perror("rfd-probe: server");
		return 1;
	}
	pthread_create(&st, NULL, server, &lfd);
	sched_getaffinity(0, sizeof(allowed), &allowed);
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			pthread_create(&th[ncpu++], NULL, client, (void *)(long)c);
	for (c = 0; c < ncpu; c++)
		pthread_join(th[c], NULL);
	printf("conns=%ld failures=%ld rule_ok=%ld in_range=%ld local=%ld R=%d range=%d-%d first_errno=%d\n",
	       conns, failures, rule_ok, in_range, local, R, lo, hi, first_errno);
	fflush(stdout);
	exit(0);	/* destructors: the library writes FASTSOCKET_STATS_FILE */
}
