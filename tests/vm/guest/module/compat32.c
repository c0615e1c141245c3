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

/* A listening SO_REUSEPORT socket on 127.0.0.1:port (0: a new port). */
static int reuseport_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

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
	struct fsocket_version v;
	struct fsocket_listen_arg l;
	struct fsocket_join_arg j;
	struct fsocket_fd_arg f;
	struct sockaddr_in sin;
	int dev, udp, gfd, lfd, cl, s;

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

	memset(&sin, 0, sizeof(sin));
	gfd = reuseport_listener(&sin);
	check(gfd >= 0, "listening SO_REUSEPORT socket");
	l.fd = gfd;
	l.backlog = 0;
	if (v.features & FSOCKET_FEAT_JOIN) {
		check(ioctl(dev, FSOCKET_IOC_LISTEN, &l) == 0, "LISTEN on it");
		lfd = reuseport_listener(&sin);
		j.fd = gfd;
		j.local_fd = lfd;
		j.cpu = sched_getcpu();
		j.flags = 0;
		if (v.listen_spawn == 1) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(j.cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		check(ioctl(dev, FSOCKET_IOC_JOIN, &j) == 0 && j.cpu >= 0,
		      "JOIN a local listener");
		{
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(j.cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		cl = socket(AF_INET, SOCK_STREAM, 0);
		check(connect(cl, (struct sockaddr *)&sin, sizeof(sin)) == 0,
		      "connect from the joined CPU");
		s = accept(lfd, NULL, NULL);
		check(s >= 0, "the local listener got it");
		close(s);
		close(cl);
		f.fd = lfd;
		f.reserved = 0;
		check(ioctl(dev, FSOCKET_IOC_LEAVE, &f) == 0, "LEAVE");
		check(expect_errno(dev, FSOCKET_IOC_LEAVE, &f, EINVAL),
		      "LEAVE twice: EINVAL");
		f.fd = gfd;
		check(ioctl(dev, FSOCKET_IOC_SHUTDOWN_LISTEN, &f) == 0,
		      "SHUTDOWN_LISTEN");
		close(lfd);
	} else {
		check(expect_errno(dev, FSOCKET_IOC_LISTEN, &l, EOPNOTSUPP),
		      "LISTEN with listen spawn off: EOPNOTSUPP");
	}
	close(gfd);

	udp = socket(AF_INET, SOCK_DGRAM, 0);
	f.fd = udp;
	f.reserved = 0;
	check(expect_errno(dev, FSOCKET_IOC_LEAVE, &f, EPROTONOSUPPORT),
	      "LEAVE on UDP: EPROTONOSUPPORT");
	f.fd = 1 << 20;
	check(expect_errno(dev, FSOCKET_IOC_LEAVE, &f, EBADF),
	      "LEAVE on a bad fd: EBADF");
	f.fd = dev;
	check(expect_errno(dev, FSOCKET_IOC_LEAVE, &f, ENOTSOCK),
	      "LEAVE on the device: ENOTSOCK");
	check(expect_errno(dev, FSOCKET_IOC_LEAVE, NULL, EFAULT),
	      "NULL argument: EFAULT");
	check(expect_errno(dev, FSOCKET_IOC_VERSION, (void *)4096, EFAULT),
	      "unmapped argument: EFAULT");
	check(expect_errno(dev, _IOWR(FSOCKET_IOC_MAGIC, 0x04, char[32]), &v,
			   ENOTTY), "removed ACCEPT: ENOTTY");
	close(udp);
	close(dev);
	return failures;
}
