// SPDX-License-Identifier: GPL-2.0
/*
 * Socket commands and the checks every fd argument goes through.
 *
 * An fd argument is always looked up in the caller's own fd table
 * (sockfd_lookup): a bad fd gives -EBADF, a file that is not a socket
 * -ENOTSOCK, a socket that is not TCP over IPv4/IPv6 -EPROTONOSUPPORT.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fcntl.h>
#include <linux/in.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>

#include "compat.h"
#include "fsocket.h"
#include "log.h"

bool fsocket_sock_is_tcp(const struct socket *sock)
{
	const struct sock *sk = sock->sk;

	return sk && sk->sk_type == SOCK_STREAM &&
	       sk->sk_protocol == IPPROTO_TCP &&
	       (sk->sk_family == AF_INET || sk->sk_family == AF_INET6);
}

struct socket *fsocket_lookup_tcp(int fd, int *err)
{
	struct socket *sock;

	sock = sockfd_lookup(fd, err);
	if (!sock)
		return NULL;
	if (!fsocket_sock_is_tcp(sock)) {
		sockfd_put(sock);
		*err = -EPROTONOSUPPORT;
		return NULL;
	}
	return sock;
}

long fsocket_cmd_socket(void *arg, struct fsocket_newfd *nfd)
{
	struct fsocket_socket_arg *a = arg;
	int type = a->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int flags = a->type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct socket *sock;
	int ret;

	if (a->family != AF_INET && a->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (type != SOCK_STREAM)
		return -EPROTONOSUPPORT;
	if (a->protocol != 0 && a->protocol != IPPROTO_TCP)
		return -EPROTONOSUPPORT;

	ret = sock_create(a->family, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (ret)
		return ret;
	ret = fsocket_newfd_prepare(nfd, sock, flags);
	if (ret < 0)
		return ret;
	a->fd = ret;
	return 0;
}
