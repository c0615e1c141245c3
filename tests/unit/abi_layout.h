/*
 * Every ABI struct and field of uapi/fastsocket.h, and every command number,
 * as an X-macro list: the 32-bit probe (layout32.c) and the 64-bit test
 * (abi_test.cc) expand it the same way and compare the results.
 * Add a line here for every field added to the ABI.
 */
#ifndef FASTSOCKET_TESTS_ABI_LAYOUT_H
#define FASTSOCKET_TESTS_ABI_LAYOUT_H

#define FSOCKET_ABI_LAYOUT(S, F, C)				\
	S(fsocket_version)					\
	F(fsocket_version, abi_version)				\
	F(fsocket_version, nr_cpu_ids)				\
	F(fsocket_version, features)				\
	F(fsocket_version, listen_spawn)			\
	F(fsocket_version, reserved)				\
	F(fsocket_version, module_version)			\
	S(fsocket_listen_arg)					\
	F(fsocket_listen_arg, fd)				\
	F(fsocket_listen_arg, backlog)				\
	S(fsocket_join_arg)					\
	F(fsocket_join_arg, fd)					\
	F(fsocket_join_arg, local_fd)				\
	F(fsocket_join_arg, cpu)				\
	F(fsocket_join_arg, flags)				\
	S(fsocket_fd_arg)					\
	F(fsocket_fd_arg, fd)					\
	F(fsocket_fd_arg, reserved)				\
	C(FSOCKET_IOC_VERSION)					\
	C(FSOCKET_IOC_LISTEN)					\
	C(FSOCKET_IOC_SHUTDOWN_LISTEN)				\
	C(FSOCKET_IOC_JOIN)					\
	C(FSOCKET_IOC_LEAVE)

#endif
