/*
 * The compat_ioctl path of fastsocket.ko: a 32-bit static program issuing
 * the same commands as the 64-bit tests.  Prints one PASS/FAIL line per
 * check; exit status is the number of failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "fastsocket.h"

static int failures;

static void check(int ok, const char *what)
{
	printf("%s: compat32: %s\n", ok ? "PASS" : "FAIL", what);
	if (!ok)
		failures++;
}

static int expect_errno(int dev, unsigned long cmd, void *arg, int err)
{
	errno = 0;
	return ioctl(dev, cmd, arg) == -1 && errno == err;
}

int main(void)
{
	struct fsocket_version v;
	struct fsocket_socket_arg s;
	struct fsocket_listen_arg l;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int dev, udp, one = 1;

	check(sizeof(void *) == 4, "built as a 32-bit program");
	dev = open(FSOCKET_DEVICE_PATH, O_RDWR);
	check(dev >= 0, "open /dev/fastsocket");
	if (dev < 0)
		return 1;

	memset(&v, 0xff, sizeof(v));
	check(ioctl(dev, FSOCKET_IOC_VERSION, &v) == 0, "VERSION succeeds");
	check(v.abi_version == FSOCKET_ABI_VERSION, "VERSION abi_version");
	check(v.nr_cpu_ids > 0 && v.nr_cpu_ids < 100000, "VERSION nr_cpu_ids");
	check(v.reserved == 0, "VERSION reserved is zero");
	check((v.features & FSOCKET_FEAT_STATS) != 0, "VERSION features has STATS");
	check(memchr(v.module_version, 0, sizeof(v.module_version)) != NULL &&
	      v.module_version[0] != 0, "VERSION module_version");

	s.family = AF_INET;
	s.type = SOCK_STREAM | SOCK_CLOEXEC;
	s.protocol = 0;
	s.fd = -1;
	check(ioctl(dev, FSOCKET_IOC_SOCKET, &s) == 0 && s.fd >= 0,
	      "SOCKET returns an fd");
	check(setsockopt(s.fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0,
	      "SO_REUSEPORT on the new socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	check(bind(s.fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "bind");
	l.fd = s.fd;
	l.backlog = 8;
	check(ioctl(dev, FSOCKET_IOC_LISTEN, &l) == 0, "LISTEN on it");
	check(getsockname(s.fd, (struct sockaddr *)&sin, &len) == 0 &&
	      sin.sin_port != 0, "listener has a port");

	/* ACCEPT's 64-bit user pointers, filled in by a 32-bit caller. */
	{
		struct fsocket_accept_arg acc;
		struct sockaddr_in peer, mine;
		socklen_t ml = sizeof(mine);
		uint32_t plen = sizeof(peer);
		int c = socket(AF_INET, SOCK_STREAM, 0), i, ok = 0;

		check(connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0,
		      "connect to the listener");
		memset(&acc, 0, sizeof(acc));
		acc.fd = s.fd;
		acc.addr = (uintptr_t)&peer;
		acc.addrlen = (uintptr_t)&plen;
		for (i = 0; i < 500 && !ok; i++) {
			ok = ioctl(dev, FSOCKET_IOC_ACCEPT, &acc) == 0;
			if (!ok)
				usleep(2000);
		}
		check(ok && acc.new_fd >= 0, "ACCEPT returns a connection");
		getsockname(c, (struct sockaddr *)&mine, &ml);
		check(plen == sizeof(peer) && peer.sin_port == mine.sin_port,
		      "ACCEPT wrote the peer address through the pointers");
		if (ok)
			close(acc.new_fd);
		close(c);
	}
	if (v.features & FSOCKET_FEAT_SPAWN_LISTEN) {
		struct fsocket_spawn_arg sp;
		cpu_set_t set;

		/* Mode 1 needs a pinned task; mode 2 pins it. */
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (v.listen_spawn == 1)
			sched_setaffinity(0, sizeof(set), &set);
		memset(&sp, 0, sizeof(sp));
		sp.fd = s.fd;
		sp.cpu = -1;
		sp.flags = O_CLOEXEC;
		check(ioctl(dev, FSOCKET_IOC_SPAWN_LISTEN, &sp) == 0 &&
		      sp.local_fd >= 0 && sp.cpu >= 0, "SPAWN_LISTEN");
		struct fsocket_fd_arg fa = { s.fd, 0 };
		check(ioctl(dev, FSOCKET_IOC_CLOSE, &fa) == 0, "CLOSE");
		close(sp.local_fd);
	}

	udp = socket(AF_INET, SOCK_DGRAM, 0);
	l.fd = udp;
	check(expect_errno(dev, FSOCKET_IOC_LISTEN, &l, EPROTONOSUPPORT),
	      "LISTEN on UDP: EPROTONOSUPPORT");
	l.fd = 0x7ffff;
	check(expect_errno(dev, FSOCKET_IOC_LISTEN, &l, EBADF),
	      "LISTEN on a bad fd: EBADF");
	l.fd = dev;
	check(expect_errno(dev, FSOCKET_IOC_LISTEN, &l, ENOTSOCK),
	      "LISTEN on the device: ENOTSOCK");
	check(expect_errno(dev, FSOCKET_IOC_LISTEN, NULL, EFAULT),
	      "NULL argument: EFAULT");
	check(expect_errno(dev, FSOCKET_IOC_VERSION, (void *)4096, EFAULT),
	      "bad pointer: EFAULT");
	check(expect_errno(dev, _IOWR(FSOCKET_IOC_MAGIC, 0x08,
				      struct fsocket_fd_arg), &l, ENOTTY),
	      "unknown command: ENOTTY");
	close(udp);
	close(s.fd);
	close(dev);
	printf("compat32: %d failure(s)\n", failures);
	return failures;
}
