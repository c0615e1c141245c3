/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels fastsocket.ko supports (5.10 to the
 * newest) lives here, and nowhere else.  The rest of the module calls the
 * fs_compat_* helpers below.
 */
#ifndef _FSOCKET_COMPAT_H
#define _FSOCKET_COMPAT_H

#include <linux/version.h>
#include <linux/fs.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>
#include <net/net_namespace.h>
#include <linux/workqueue.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 10, 0)
#error "fastsocket.ko needs Linux 5.10 or newer"
#endif

/*
 * net.ipv4.tcp_migrate_req (5.14+): requests queued on a closing listener
 * are moved to another listener of its SO_REUSEPORT group.
 */
static inline bool fs_compat_tcp_migrate_req(const struct sock *sk)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)
	return READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_migrate_req);
#else
	return false;
#endif
}

/*
 * The workqueue for the module's housekeeping (listener teardown, stall
 * checks): nothing in it needs a particular CPU.  7.x warns about work
 * queued on system_wq ("deprecated workqueue"); system_dfl_wq, the unbound
 * one, exists since 6.17 (and in some stable backports, not relied on).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
#define fs_compat_wq() system_dfl_wq
#else
#define fs_compat_wq() system_wq
#endif

#endif /* _FSOCKET_COMPAT_H */
