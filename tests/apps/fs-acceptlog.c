// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs-acceptlog.so: measures accept locality of an unmodified server, for the
 * real-application tests (tests/apps).  Preloaded in front of the library:
 *
 *   FSAPPS_ACCEPT_LOG=/tmp/x/accepts LD_PRELOAD="fs-acceptlog.so libfsocket.so" nginx ...
 *
 * Every connection that accept()/accept4() hands to the application adds
 * one line to the log (the test creates it, mode 0666, so workers that drop
 * privileges can append):
 *
 *   PID CPU INCOMING_CPU FAMILY PORT
 *
 * CPU is sched_getcpu() of the accepting thread, INCOMING_CPU the accepted
 * socket's SO_INCOMING_CPU (the CPU that processed its packets, on loopback
 * the client's CPU that sent the SYN), FAMILY 4 or 6 (an IPv4-mapped IPv6
 * address counts as 4) and PORT the local port: together they name the
 * listener.  A connection is local when CPU == INCOMING_CPU.
 *
 * One write(O_APPEND) per accept, so lines of concurrent workers and threads
 * never mix.  The log fd is checked (fstat: same file) before each write and
 * reopened if the application closed or reused its number, so the tool never
 * writes to one of the application's fds.  Measurement only: not for
 * production.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

static accept_fn next_accept;
static accept4_fn next_accept4;
/* Read once: nginx workers replace environ before they accept. */
static char log_path[512];
static int log_fd = -1;
static dev_t log_dev;
static ino_t log_ino;

__attribute__((constructor)) static void acceptlog_init(void)
{
	const char *p = getenv("FSAPPS_ACCEPT_LOG");

	next_accept = (accept_fn)dlsym(RTLD_NEXT, "accept");
	next_accept4 = (accept4_fn)dlsym(RTLD_NEXT, "accept4");
	if (p && strlen(p) < sizeof(log_path))
		strcpy(log_path, p);
}

/* The log fd if it still is our file; else a fresh one (or -1). */
static int log_file(void)
{
	int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == log_dev && st.st_ino == log_ino)
		return fd;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	/* Racing threads may both open: each writes through its own fd, the
	 * loser's stays open (a few fds at most, measurement only). */
	log_dev = st.st_dev;
	log_ino = st.st_ino;
	__atomic_store_n(&log_fd, fd, __ATOMIC_RELEASE);
	return fd;
}

static void note(int cfd)
{
	struct sockaddr_in6 local;
	socklen_t len = sizeof(local);
	int icpu = -1, family, port, fd, n, saved = errno;
	socklen_t il = sizeof(icpu);
	char line[96];

	if (!log_path[0])
		return;
	getsockopt(cfd, SOL_SOCKET, SO_INCOMING_CPU, &icpu, &il);
	memset(&local, 0, sizeof(local));
	if (getsockname(cfd, (struct sockaddr *)&local, &len) < 0)
		goto out;
	if (local.sin6_family == AF_INET) {
		family = 4;
		port = ntohs(((struct sockaddr_in *)&local)->sin_port);
	} else if (local.sin6_family == AF_INET6) {
		family = IN6_IS_ADDR_V4MAPPED(&local.sin6_addr) ? 4 : 6;
		port = ntohs(local.sin6_port);
	} else {
		goto out;	/* AF_UNIX and others are not listeners we test */
	}
	n = snprintf(line, sizeof(line), "%d %d %d %d %d\n", (int)getpid(), sched_getcpu(), icpu, family, port);
	fd = log_file();
	if (fd >= 0)
		(void)!write(fd, line, n); /* a lost line shows as accepted < conns */
out:
	errno = saved;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int cfd = next_accept(fd, addr, len);

	if (cfd >= 0)
		note(cfd);
	return cfd;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int cfd = next_accept4(fd, addr, len, flags);

	if (cfd >= 0)
		note(cfd);
	return cfd;
}
