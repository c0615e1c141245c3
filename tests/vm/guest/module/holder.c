/*
 * Holds a listen group without holding /dev/fastsocket open, so that the
 * suite can unload the module while a group, a joined local listener and a
 * queued connection exist.  Prints "holder: ready" when set up; SIGTERM
 * ends it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastsocket.h"

static int listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) || listen(fd, 16))
		return -1;
	getsockname(fd, (struct sockaddr *)sin, &len);
	return fd;
}

int main(void)
{
	struct sockaddr_in sin;
	struct fsocket_listen_arg la;
	struct fsocket_join_arg ja;
	cpu_set_t set;
	int dev, fd, lfd, cl;

	memset(&sin, 0, sizeof(sin));
	dev = open(FSOCKET_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	fd = listener(&sin);
	if (dev < 0 || fd < 0)
		return 1;
	la.fd = fd;
	la.backlog = 0;
	if (ioctl(dev, FSOCKET_IOC_LISTEN, &la))
		return 3;
	lfd = listener(&sin);
	ja.fd = fd;
	ja.local_fd = lfd;
	ja.cpu = sched_getcpu();
	ja.flags = 0;
	CPU_ZERO(&set);
	CPU_SET(ja.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) ||
	    ioctl(dev, FSOCKET_IOC_JOIN, &ja)) {
		printf("holder: join failed\n");
		return 4;
	}
	close(dev);
	/* Pinned: this connection queues on the local listener. */
	cl = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(cl, (struct sockaddr *)&sin, sizeof(sin)))
		return 5;
	printf("holder: ready (port %d)\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;)
		pause();
}
