/*
 * Holds fastsocket listeners without holding /dev/fastsocket open, so that
 * the suite can unload the module while groups and local listeners (with a
 * queued connection) exist.  Prints "holder: ready" when set up; SIGTERM
 * ends it and its worker.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fastsocket.h"

static pid_t worker;

static void on_term(int sig)
{
	(void)sig;
	if (worker > 0)
		kill(worker, SIGKILL);
	_exit(0);
}

int main(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int dev, fd, one = 1, sync[2];
	char c;

	dev = open(FSOCKET_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (dev < 0 || fd < 0 || pipe(sync))
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		return 2;
	getsockname(fd, (struct sockaddr *)&sin, &len);
	struct fsocket_listen_arg la = { fd, 16 };
	if (ioctl(dev, FSOCKET_IOC_LISTEN, &la))
		return 3;
	worker = fork();
	if (worker == 0) {
		struct fsocket_spawn_arg sa = { fd, -1, -1, 0 };
		int ok = ioctl(dev, FSOCKET_IOC_SPAWN_LISTEN, &sa) == 0;
		int cl = socket(AF_INET, SOCK_STREAM, 0);

		close(dev);
		/* Pinned now: this connection queues on the local listener. */
		if (ok)
			ok = connect(cl, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		c = ok ? 'y' : 'n';
		if (write(sync[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	signal(SIGTERM, on_term);
	close(dev);
	if (read(sync[0], &c, 1) != 1 || c != 'y') {
		printf("holder: spawn failed\n");
		on_term(0);
	}
	printf("holder: ready (port %d)\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;)
		pause();
}
