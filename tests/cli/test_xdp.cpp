// SPDX-License-Identifier: GPL-2.0
// The RFD reply steering on the host's own kernel (system/xdp.cpp): load,
// attach, query and detach the fs_rfd program on a veth pair, and check that
// replies to a source port p are processed on CPU p % R.  The whole binary
// runs in a private network namespace (main() below); it needs root and a
// kernel with XDP, otherwise every test is skipped with the reason.
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "system/xdp.h"

namespace fsock {
namespace {

bool g_netns = false;
std::string g_why;

int sh(const std::string &cmd)
{
	return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// What `ethtool -K IFACE tx off` does.
bool tx_checksum_off(const char *ifname)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	ethtool_value ev{};
	ev.cmd = ETHTOOL_STXCSUM;
	ev.data = 0;
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ifr.ifr_data = reinterpret_cast<char *>(&ev);
	bool ok = s >= 0 && ioctl(s, SIOCETHTOOL, &ifr) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

// fst0 (10.79.0.1) here, fst1 (10.79.0.2) in the backend's namespace, which
// the forked server process creates; tx checksums computed on fst1 (see
// docs/module.md: a CHECKSUM_PARTIAL segment does not survive the redirect).
class Veth : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (!g_netns)
			GTEST_SKIP() << g_why;
		ASSERT_EQ(sh("ip link add fst0 type veth peer name fst1"), 0);
		ASSERT_EQ(sh("ip addr add 10.79.0.1/24 dev fst0 && ip link set fst0 up && ip link set lo up"), 0);
	}
	void TearDown() override
	{
		if (server_ > 0) {
			kill(server_, SIGKILL);
			waitpid(server_, nullptr, 0);
		}
		sh("ip link del fst0");
	}

	// A backend on 10.79.0.2:9000 that answers each connection with 2000
	// bytes and closes, in its own namespace.
	void start_server()
	{
		int ready[2], go[2];
		ASSERT_EQ(pipe(ready), 0);
		ASSERT_EQ(pipe(go), 0);
		server_ = fork();
		ASSERT_GE(server_, 0);
		if (server_ == 0) {
			char c = 0;
			if (unshare(CLONE_NEWNET) != 0)
				_exit(1);
			if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(1);
			if (sh("ip addr add 10.79.0.2/24 dev fst1 && ip link set fst1 up && ip link set lo up") ||
			    !tx_checksum_off("fst1"))
				_exit(1);
			int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
			setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			sockaddr_in a{};
			a.sin_family = AF_INET;
			a.sin_port = htons(9000);
			inet_pton(AF_INET, "10.79.0.2", &a.sin_addr);
			if (bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a)) || listen(s, 128))
				_exit(1);
			if (write(ready[1], &c, 1) != 1)
				_exit(1);
			static char reply[2000];
			for (;;) {
				int c2 = accept(s, nullptr, nullptr);
				if (c2 < 0)
					continue;
				char buf[64];
				if (read(c2, buf, sizeof(buf)) >= 0 && write(c2, reply, sizeof(reply)) < 0)
					_exit(1);
				close(c2);
			}
		}
		char c;
		ASSERT_EQ(read(ready[0], &c, 1), 1);
		ASSERT_EQ(sh("ip link set fst1 netns " + std::to_string(server_)), 0);
		ASSERT_EQ(write(go[1], &c, 1), 1);
		ASSERT_EQ(read(ready[0], &c, 1), 1) << "backend setup failed";
		for (int fd : {ready[0], ready[1], go[0], go[1]})
			close(fd);
	}

	// Connects from source port `port`, sends, reads the reply to the end;
	// the CPU that processed it (SO_INCOMING_CPU), or -1.
	static int reply_cpu(unsigned port)
	{
		int s = socket(AF_INET, SOCK_STREAM, 0), one = 1, cpu = -1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		timeval tv{3, 0};
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_port = htons(static_cast<uint16_t>(port));
		inet_pton(AF_INET, "10.79.0.1", &a.sin_addr);
		sockaddr_in b{};
		b.sin_family = AF_INET;
		b.sin_port = htons(9000);
		inet_pton(AF_INET, "10.79.0.2", &b.sin_addr);
		char buf[4096];
		socklen_t len = sizeof(cpu);
		if (bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0 &&
		    connect(s, reinterpret_cast<sockaddr *>(&b), sizeof(b)) == 0 && write(s, "hi", 2) == 2) {
			long total = 0, n;
			while ((n = read(s, buf, sizeof(buf))) > 0)
				total += n;
			if (total != 2000 || getsockopt(s, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len) != 0)
				cpu = -1;
		}
		close(s);
		return cpu;
	}

	static RfdSteering config()
	{
		RfdSteering c;
		c.r = rfd_ring_size();
		c.port_lo = 1024;
		c.port_hi = 65535;
		for (long i = 0; i < sysconf(_SC_NPROCESSORS_ONLN); i++)
			c.cpus.push_back(static_cast<unsigned>(i));
		return c;
	}

	pid_t server_ = -1;
};

TEST_F(Veth, AttachQueryDetachOnlyOurs)
{
	XdpInfo info;
	std::string err;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_FALSE(info.attached);

	uint32_t id = 0;
	bool unsupported = false;
	if (!xdp_attach_rfd("fst0", config(), &id, &err, &unsupported))
		GTEST_SKIP() << "this kernel refuses native XDP on veth: " << err;
	EXPECT_GT(id, 0u);
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_TRUE(info.ours());
	EXPECT_EQ(info.prog_id, id);
	EXPECT_EQ(info.prog_name, kRfdProgName);

	// Never replaces an attached program, ours or not.
	uint32_t id2 = 0;
	EXPECT_FALSE(xdp_attach_rfd("fst0", config(), &id2, &err, &unsupported));
	EXPECT_FALSE(unsupported) << err;

	// Detaching another program id leaves the attached one alone.
	EXPECT_TRUE(xdp_detach("fst0", id + 1000, &err)) << err;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_EQ(info.prog_id, id);

	EXPECT_TRUE(xdp_detach("fst0", id, &err)) << err;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_FALSE(info.attached);
	EXPECT_TRUE(xdp_detach("fst0", id, &err)) << "detaching twice is not an error: " << err;
	EXPECT_TRUE(xdp_detach("no-such-if", id, &err)) << "a vanished interface took its program along";
}

TEST_F(Veth, RefusesBadSteeringParameters)
{
	RfdSteering c = config();
	c.r = 3; // not a power of two
	uint32_t id = 0;
	bool unsupported = false;
	std::string err;
	EXPECT_FALSE(xdp_attach_rfd("fst0", c, &id, &err, &unsupported));
	EXPECT_NE(err.find("invalid"), std::string::npos) << err;
	XdpInfo info;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_FALSE(info.attached) << "nothing may be attached after a refusal";
}

TEST_F(Veth, RepliesProcessedOnThePortsCpu)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		GTEST_SKIP() << "one CPU: every reply is local anyway";
	start_server();
	uint32_t id = 0;
	bool unsupported = false;
	std::string err;
	if (!xdp_attach_rfd("fst0", config(), &id, &err, &unsupported))
		GTEST_SKIP() << "this kernel refuses native XDP on veth: " << err;
	const unsigned r = rfd_ring_size(), n = 40;
	unsigned local = 0, answered = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned port = 42000 + i;
		int cpu = reply_cpu(port);
		answered += cpu >= 0;
		local += cpu >= 0 && static_cast<unsigned>(cpu) == port % r;
	}
	EXPECT_EQ(answered, n);
	EXPECT_EQ(local, n) << "replies processed on CPU port % " << r;
	EXPECT_TRUE(xdp_detach("fst0", id, &err)) << err;
}

} // namespace
} // namespace fsock

int main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);
	// A private network namespace: the veth pair and the program vanish with
	// the process, whatever happens.
	if (geteuid() != 0)
		fsock::g_why = "needs root (network namespace, bpf)";
	else if (unshare(CLONE_NEWNET) != 0)
		fsock::g_why = "unshare(CLONE_NEWNET) failed";
	else if (fsock::sh("ip link add fsprobe0 type veth peer name fsprobe1") != 0)
		fsock::g_why = "no veth support (or no ip command)";
	else
		fsock::g_netns = fsock::sh("ip link del fsprobe0") == 0;
	return RUN_ALL_TESTS();
}
