// SPDX-License-Identifier: GPL-2.0
/*
 * The checks every fd argument goes through.
 *
 * An fd argument is always looked up in the caller's own fd table
 * (sockfd_lookup): a bad fd gives -EBADF, a file that is not a socket
 * -ENOTSOCK, a socket that is not TCP over IPv4/IPv6 -EPROTONOSUPPORT.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/in.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>

#include "fsocket.h"

static bool fsocket_sock_is_tcp(const struct socket *sock)
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
