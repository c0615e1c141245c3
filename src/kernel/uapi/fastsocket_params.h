/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The module parameters, their defaults and allowed ranges: one table read by
 * fastsocket.ko (module_param + validation at load), the CLI (profile
 * validation) and the unit tests.  Plain C with no kernel or libc dependency.
 *
 * X(name, default, min, max, allowed-values text, description)
 */
#ifndef _UAPI_LINUX_FASTSOCKET_PARAMS_H
#define _UAPI_LINUX_FASTSOCKET_PARAMS_H

#define FSOCKET_PARAMS(X)						\
	X(enable_fastsocket_debug, 3, 0, 7, "0..7",			\
	  "Log level: 0 = errors only ... 7 = debug (default 3)")	\
	X(enable_listen_spawn, 2, 0, 2, "0, 1 or 2",			\
	  "Per-CPU listen tables: 0 = off, 1 = on, workers pinned by the application, 2 = on, module pins workers (default 2)") \
	X(enable_receive_flow_deliver, 0, 0, 1, "0 or 1",		\
	  "Encode the CPU in the source port of outgoing connections and deliver their replies to it (default 0)") \
	X(enable_fast_epoll, 1, 0, 1, "0 or 1",			\
	  "Fast epoll: a socket is in at most one epoll instance (default 1)") \
	X(enable_direct_tcp, 0, 0, 1, "0 or 1",			\
	  "Direct TCP delivery (upstream: TCP early demux) (default 0)") \
	X(enable_skb_pool, 0, 0, 3, "0, 1, 2 or 3",			\
	  "skb pool: 0 = off, 1 = receive, 2 = send, 3 = both (upstream: per-CPU skb caches) (default 0)") \
	X(enable_receive_cpu_selection, 0, 0, 1, "0 or 1",		\
	  "Receive CPU selection (upstream: RFS/aRFS) (default 0)")	\
	X(enable_socket_pool_size, 0, 0, 65536, "0..65536",		\
	  "Socket pool size, 0 = off (upstream: per-CPU slab caches) (default 0)")

#define FSOCKET_NR_PARAMS 8

#endif /* _UAPI_LINUX_FASTSOCKET_PARAMS_H */
