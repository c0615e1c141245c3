// SPDX-License-Identifier: GPL-2.0
// param_effect(): every parameter has a line saying what it does on this
// kernel, reading the upstream mechanism's state from the (fake) root.
#include <gtest/gtest.h>

#include "fake_root.h"
#include "fastsocket_params.h"
#include "tuning/param_effect.h"

using namespace fsock;

TEST(ParamEffect, EveryParameterIsDescribed)
{
	test::FakeRoot fr(4);
	Root root(fr.dir());
#define X(name, def, min, max, allowed, desc)                                        \
	for (const char *v : {"", #min, #max}) {                                       \
		std::string e = param_effect(root, #name, v);                          \
		EXPECT_FALSE(e.empty()) << #name;                                      \
		EXPECT_EQ(e.find("unknown"), std::string::npos) << #name << ": " << e; \
	}
	FSOCKET_PARAMS(X)
#undef X
}

TEST(ParamEffect, ReadsTheUpstreamState)
{
	test::FakeRoot fr(4);
	Root root(fr.dir());
	fr.write("proc/sys/net/core/rps_sock_flow_entries", "0\n");
	fr.write("proc/sys/net/ipv4/tcp_early_demux", "1\n");
	EXPECT_NE(param_effect(root, "enable_receive_flow_deliver", "1").find("RFS off"), std::string::npos);
	EXPECT_NE(param_effect(root, "enable_receive_cpu_selection", "1").find("RFS off"), std::string::npos);
	EXPECT_NE(param_effect(root, "enable_direct_tcp", "1").find("tcp_early_demux=1"), std::string::npos);
	fr.write("proc/sys/net/core/rps_sock_flow_entries", "32768\n");
	EXPECT_NE(param_effect(root, "enable_receive_flow_deliver", "1").find("RFS on (net.core.rps_sock_flow_entries=32768)"),
		  std::string::npos);
	EXPECT_NE(param_effect(root, "enable_receive_flow_deliver", "0").find("off"), std::string::npos);
	EXPECT_NE(param_effect(root, "enable_fast_epoll", "").find("skips EPOLL_CTL_MOD"), std::string::npos);
}
