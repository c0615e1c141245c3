// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The one socket option copier (issue 9 item 3), used by the user-space
 * fallback and the module path alike: a local listener must hand its
 * accepted sockets exactly what the application's listener would have.
 * An accepted TCP socket is a clone of its listener, so every option a
 * listener carries is inherited; all of them are copied, whatever the value
 * (zero included), and read back: a listener whose options cannot be
 * reproduced exactly is not accelerated.
 *
 * Rule per option: read it on both sockets, set it on the copy only where
 * the values differ (so defaults stay defaults: setting SO_SNDBUF to its
 * default would lock the buffer size and turn auto-tuning off).
 *
 * Not readable, hence refused (fs_sockopt_copyable): TCP_MD5SIG keys,
 * reuseport programs (SO_ATTACH_REUSEPORT_*BPF) and eBPF socket filters,
 * which interpose.c notes when the application sets them (FD_F_UNCOPYABLE);
 * classic filters are detected with SO_GET_FILTER (they cannot be read
 * back through SO_LOCK_FILTER either).
 */
#include "fsock.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#ifndef SO_TXREHASH
#define SO_TXREHASH 74
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef TCP_TX_DELAY
#define TCP_TX_DELAY 37
#endif

enum opt_kind { O_INT, O_BUF, O_STR, O_HALVED };

struct opt {
	const char *name;
	int level, opt;
	unsigned char kind;
	unsigned char family;	/* 0 any, else AF_INET/AF_INET6 only */
	unsigned char before_bind; /* informational: the copier runs before bind */
};

#define I(l, o) { #o, l, o, O_INT, 0, 0 }
#define I6(l, o) { #o, l, o, O_INT, AF_INET6, 1 }
#define I4(l, o) { #o, l, o, O_INT, AF_INET, 1 }

static const struct opt opts[] = {
	/* Before bind: they decide which addresses the listener owns. */
	{ "SO_BINDTODEVICE", SOL_SOCKET, SO_BINDTODEVICE, O_STR, 0, 1 },
	I6(IPPROTO_IPV6, IPV6_V6ONLY),
	I6(IPPROTO_IPV6, IPV6_FREEBIND),
	I6(IPPROTO_IPV6, IPV6_TRANSPARENT),
	I4(IPPROTO_IP, IP_FREEBIND),
	I4(IPPROTO_IP, IP_TRANSPARENT),
	I(SOL_SOCKET, SO_REUSEADDR),
	/* Inherited by accepted sockets. */
	I(SOL_SOCKET, SO_KEEPALIVE),
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, O_HALVED, 0, 0 },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, O_HALVED, 0, 0 },
	I(SOL_SOCKET, SO_PRIORITY),
	I(SOL_SOCKET, SO_MARK),
	I(SOL_SOCKET, SO_RCVLOWAT),
	I(SOL_SOCKET, SO_OOBINLINE),
	I(SOL_SOCKET, SO_DONTROUTE),
	I(SOL_SOCKET, SO_BUSY_POLL),
	I(SOL_SOCKET, SO_PREFER_BUSY_POLL),
	I(SOL_SOCKET, SO_BUSY_POLL_BUDGET),
	I(SOL_SOCKET, SO_TIMESTAMP),
	I(SOL_SOCKET, SO_TIMESTAMPNS),
	I(SOL_SOCKET, SO_RXQ_OVFL),
	I(SOL_SOCKET, SO_SELECT_ERR_QUEUE),
	I(SOL_SOCKET, SO_MAX_PACING_RATE),
	I(SOL_SOCKET, SO_TXREHASH),
	I(SOL_SOCKET, SO_ZEROCOPY),
	{ "SO_LINGER", SOL_SOCKET, SO_LINGER, O_BUF, 0, 0 },
	{ "SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, O_BUF, 0, 0 },
	{ "SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, O_BUF, 0, 0 },
	I(IPPROTO_TCP, TCP_NODELAY),
	I(IPPROTO_TCP, TCP_CORK),
	I(IPPROTO_TCP, TCP_MAXSEG),
	I(IPPROTO_TCP, TCP_KEEPIDLE),
	I(IPPROTO_TCP, TCP_KEEPINTVL),
	I(IPPROTO_TCP, TCP_KEEPCNT),
	I(IPPROTO_TCP, TCP_SYNCNT),
	I(IPPROTO_TCP, TCP_LINGER2),
	I(IPPROTO_TCP, TCP_DEFER_ACCEPT),
	I(IPPROTO_TCP, TCP_WINDOW_CLAMP),
	I(IPPROTO_TCP, TCP_USER_TIMEOUT),
	I(IPPROTO_TCP, TCP_NOTSENT_LOWAT),
	I(IPPROTO_TCP, TCP_FASTOPEN),
	I(IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE),
	I(IPPROTO_TCP, TCP_SAVE_SYN),
	I(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS),
	I(IPPROTO_TCP, TCP_TX_DELAY),
	{ "TCP_CONGESTION", IPPROTO_TCP, TCP_CONGESTION, O_STR, 0, 0 },
	{ "TCP_FASTOPEN_KEY", IPPROTO_TCP, TCP_FASTOPEN_KEY, O_BUF, 0, 0 },
	I(IPPROTO_IP, IP_TOS),
	I(IPPROTO_IP, IP_TTL),
	I(IPPROTO_IP, IP_MINTTL),
	I(IPPROTO_IP, IP_MTU_DISCOVER),
	I(IPPROTO_IP, IP_RECVTOS),
	I(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT),
	I6(IPPROTO_IPV6, IPV6_TCLASS),
	I6(IPPROTO_IPV6, IPV6_UNICAST_HOPS),
	I6(IPPROTO_IPV6, IPV6_MINHOPCOUNT),
	I6(IPPROTO_IPV6, IPV6_MTU_DISCOVER),
	I6(IPPROTO_IPV6, IPV6_RECVTCLASS),
	I6(IPPROTO_IPV6, IPV6_AUTOFLOWLABEL),
	I6(IPPROTO_IPV6, IPV6_DONTFRAG),
};

#define NOPTS (int)(sizeof(opts) / sizeof(opts[0]))

static int get(int fd, const struct opt *o, void *buf, socklen_t *len)
{
	return fs_real.getsockopt(fd, o->level, o->opt, buf, len);
}

/* Copy one option; 1 if the copy still differs afterwards. */
static int copy_one(int from, int to, const struct opt *o)
{
	unsigned char a[64], b[64];
	socklen_t la = sizeof(a), lb = sizeof(b);
	int v;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	if (get(from, o, a, &la) < 0)
		return 0;	/* not on this kernel / family: nothing to carry */
	if (get(to, o, b, &lb) == 0 && la == lb && !memcmp(a, b, la))
		return 0;
	switch (o->kind) {
	case O_HALVED:		/* the kernel doubles what is set */
		memcpy(&v, a, sizeof(v));
		v /= 2;
		fs_real.setsockopt(to, o->level, o->opt, &v, sizeof(v));
		break;
	case O_STR:
		if (o->opt == SO_BINDTODEVICE && la == 0) {
			fs_real.setsockopt(to, o->level, o->opt, "", 0);
			break;
		}
		fs_real.setsockopt(to, o->level, o->opt, a, strnlen((char *)a, la));
		break;
	default:
		fs_real.setsockopt(to, o->level, o->opt, a, la);
		break;
	}
	memset(b, 0, sizeof(b));
	lb = sizeof(b);
	if (get(to, o, b, &lb) < 0 || la != lb || memcmp(a, b, la)) {
		fs_log(1, "option %s of fd %d cannot be copied to a local listener",
		       o->name, from);
		return 1;
	}
	return 0;
}

int fs_sockopt_copy(int from, int to, int family)
{
	int i, bad = 0;

	for (i = 0; i < NOPTS; i++)
		if (!opts[i].family || opts[i].family == family)
			bad += copy_one(from, to, &opts[i]);
	return bad ? -1 : 0;
}

int fs_sockopt_copyable(int fd)
{
	socklen_t len = 0;

	if (fs_kind_flags(fd) & FD_F_UNCOPYABLE) {
		fs_log(1, "fd %d carries TCP_MD5SIG keys, a reuseport program or an eBPF filter (not readable): plain listener",
		       fd);
		return 0;
	}
	/* Classic filter: its length; eBPF: EACCES (no original program). */
	if (fs_real.getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len) < 0 ?
	    errno == EACCES : len > 0) {
		fs_log(1, "fd %d has a socket filter (cannot be read back reliably): plain listener",
		       fd);
		return 0;
	}
	return 1;
}

int fs_sockopt_marks_uncopyable(int level, int name)
{
	if (level == IPPROTO_TCP)
		return name == TCP_MD5SIG || name == TCP_MD5SIG_EXT;
	if (level == SOL_SOCKET)
		return name == SO_ATTACH_REUSEPORT_CBPF ||
		       name == SO_ATTACH_REUSEPORT_EBPF || name == SO_ATTACH_BPF;
	return 0;
}
