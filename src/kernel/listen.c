// SPDX-License-Identifier: GPL-2.0
/*
 * Fastsocket listeners: LISTEN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>

#include "compat.h"
#include "fsocket.h"
#include "log.h"

long fsocket_cmd_listen(void *arg, struct fsocket_newfd *nfd)
{
	struct fsocket_listen_arg *a = arg;
	struct socket *sock;
	int err;

	sock = fsocket_lookup_tcp(a->fd, &err);
	if (!sock)
		return err;
	if (!sock->sk->sk_reuseport) {
		fs_dbg("LISTEN: fd %d has no SO_REUSEPORT\n", a->fd);
		err = -EINVAL;
		goto out;
	}
	err = kernel_listen(sock, a->backlog);
out:
	sockfd_put(sock);
	return err;
}
