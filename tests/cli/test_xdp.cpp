// SPDX-License-Identifier: GPL-2.0
// The RFD reply steering on the host's own kernel (system/xdp.cpp): load,
// attach, query and detach the fs_rfd program on a veth pair, and check that
// replies to a source port p are processed on CPU p % R, alone and beside
// another XDP program.  The whole binary runs in private network and mount
// namespaces with /sys/fs/bpf unmounted (main() below), so the loader mounts
// its own bpffs; it needs root and a kernel with XDP, otherwise every test is
// skipped with the reason.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <xdp/libxdp.h>

#include "system/bpf_pins.h"
#include "system/xdp.h"
#include "tuning/rfd_steering.h"

namespace fsock {
namespace {

bool g_netns = false;
std::string g_why;

// Runs a shell command; a leading "ip " is iproute2's (a busybox shell
// prefers its own applet, which has no netns).
int sh(std::string cmd)
{
	if (cmd.compare(0, 3, "ip ") == 0 && access("/usr/sbin/ip", X_OK) == 0)
		cmd = "/usr/sbin/" + cmd;
	return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// stdout of a shell command.
std::string output_of(const std::string &cmd)
{
	std::string out;
	if (FILE *f = popen((cmd + " 2>&1").c_str(), "r")) {
		char buf[4096];
		std::size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			out.append(buf, n);
		pclose(f);
	}
	return out;
}

// Someone else's program (xdp_count.bpf.c): counts packets and passes them.
class Counter {
public:
	~Counter()
	{
		if (prog_)
			xdp_program__close(prog_);
		bpf_object__close(obj_); // an attached program stays until fst0 goes
	}
	// Through libxdp's dispatcher, as xdp-loader would.
	bool attach_with_libxdp(int ifindex, std::string *err)
	{
		setenv("LIBXDP_BPFFS_AUTOMOUNT", "1", 1);
		prog_ = xdp_program__open_file(XDP_COUNT_OBJ, "xdp", nullptr);
		if (libxdp_get_error(prog_)) {
			prog_ = nullptr;
			*err = "cannot open " XDP_COUNT_OBJ;
			return false;
		}
		int e = xdp_program__attach(prog_, ifindex, XDP_MODE_NATIVE, 0);
		*err = e ? "libxdp attach: " + std::string(strerror(-e)) : "";
		return e == 0;
	}
	// Directly (IFLA_XDP), as `ip link set dev X xdp obj ...` does.
	bool attach_plain(int ifindex, std::string *err)
	{
		obj_ = bpf_object__open_file(XDP_COUNT_OBJ, nullptr);
		if (!obj_ || bpf_object__load(obj_)) {
			*err = "cannot load " XDP_COUNT_OBJ;
			return false;
		}
		int fd = bpf_program__fd(bpf_object__find_program_by_name(obj_, "fst_count"));
		int e = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, nullptr);
		*err = e ? "bpf_xdp_attach: " + std::string(strerror(-e)) : "";
		return e == 0;
	}
	uint32_t id() const { return prog_ ? xdp_program__id(prog_) : 0; }
	uint64_t packets() const
	{
		bpf_object *obj = prog_ ? xdp_program__bpf_obj(prog_) : obj_;
		uint32_t key = 0;
		uint64_t n = 0;
		bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(obj, "fst_counts")), &key, &n);
		return n;
	}

private:
	xdp_program *prog_ = nullptr;
	bpf_object *obj_ = nullptr;
};

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
		ASSERT_EQ(sh("ip addr add 10.79.0.1/24 dev fst0") || sh("ip link set fst0 up") || sh("ip link set lo up"), 0);
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
			if (sh("ip addr add 10.79.0.2/24 dev fst1") || sh("ip link set fst1 up") || sh("ip link set lo up") ||
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

	// Replies to 40 connections from ports first.. processed on CPU port % R.
	static unsigned replies_on_port_cpu(unsigned first)
	{
		const unsigned r = rfd_ring_size(), n = 40;
		unsigned local = 0, answered = 0;
		for (unsigned i = 0; i < n; i++) {
			int cpu = reply_cpu(first + i);
			answered += cpu >= 0;
			local += cpu >= 0 && static_cast<unsigned>(cpu) == (first + i) % r;
		}
		EXPECT_EQ(answered, n);
		return local;
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
	EXPECT_TRUE(info.others.empty());
	// Everything of ours pinned under /sys/fs/bpf/fastsocket (0700); the
	// link too when fs_rfd runs alone (no dispatcher).
	struct stat st;
	ASSERT_EQ(stat(kBpfPinDir, &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0700u);
	EXPECT_EQ(rfd_pinned_prog_id("fst0", RfdPin::Prog), id);
	EXPECT_EQ(stat(rfd_pin_path("fst0", RfdPin::Cpus).c_str(), &st), 0);
	EXPECT_EQ(rfd_pinned_prog_id("fst0", RfdPin::Link), info.dispatcher ? 0u : id);

	// Never attached twice.
	uint32_t id2 = 0;
	EXPECT_FALSE(xdp_attach_rfd("fst0", config(), &id2, &err, &unsupported));
	EXPECT_NE(err.find("already attached"), std::string::npos) << err;
	EXPECT_FALSE(unsupported) << err;

	// Detaching another program id leaves the attached one alone.
	EXPECT_TRUE(xdp_detach("fst0", id + 1000, &err)) << err;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_EQ(info.prog_id, id);
	EXPECT_EQ(rfd_pinned_prog_id("fst0", RfdPin::Prog), id) << "and its pins";

	EXPECT_TRUE(xdp_detach("fst0", id, &err)) << err;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_FALSE(info.attached);
	EXPECT_NE(stat(kBpfPinDir, &st), 0) << "unpinned, and the empty directory removed";
	EXPECT_TRUE(xdp_detach("fst0", id, &err)) << "detaching twice is not an error: " << err;
	EXPECT_TRUE(xdp_detach("no-such-if", id, &err)) << "a vanished interface took its program along";
}

// What bpftool shows: the C source next to the instructions (BTF line info),
// the program in the dispatcher on the interface, and its link.
TEST_F(Veth, BpftoolShowsSourceAndLink)
{
	if (sh(std::string(BPFTOOL) + " version") != 0)
		GTEST_SKIP() << "no bpftool";
	uint32_t id = 0;
	bool unsupported = false;
	std::string err;
	if (!xdp_attach_rfd("fst0", config(), &id, &err, &unsupported))
		GTEST_SKIP() << "this kernel refuses native XDP on veth: " << err;
	std::string xlated = output_of(std::string(BPFTOOL) + " prog dump xlated id " + std::to_string(id));
	EXPECT_NE(xlated.find("; sk = bpf_sk_lookup_tcp(ctx, tuple, tuple_size, BPF_F_CURRENT_NETNS, 0);"),
		  std::string::npos)
		<< xlated.substr(0, 2000);
	EXPECT_NE(xlated.find("; if (port < port_lo || port > port_hi)"), std::string::npos);
	EXPECT_NE(xlated.find("call cpu_map_redirect"), std::string::npos) << xlated;
	std::string net = output_of(std::string(BPFTOOL) + " net show dev fst0");
	EXPECT_NE(net.find("fst0"), std::string::npos) << net;
	EXPECT_NE(net.find("driver"), std::string::npos) << net;
	XdpInfo info;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	// The link that joins ours to the dispatcher, or (alone) our XDP link,
	// which bpftool finds by its pin.
	std::string links = output_of(std::string(BPFTOOL) + " link show");
	EXPECT_NE(links.find("prog " + std::to_string(id)), std::string::npos) << links;
	if (!info.dispatcher) {
		std::string pinned =
			output_of(std::string(BPFTOOL) + " link show pinned " + rfd_pin_path("fst0", RfdPin::Link));
		EXPECT_NE(pinned.find("xdp"), std::string::npos) << pinned;
		EXPECT_NE(pinned.find("prog " + std::to_string(id)), std::string::npos) << pinned;
	}
	std::string prog = output_of(std::string(BPFTOOL) + " prog show pinned " + rfd_pin_path("fst0", RfdPin::Prog));
	EXPECT_NE(prog.find(std::to_string(id) + ":"), std::string::npos) << prog;
	EXPECT_TRUE(xdp_detach("fst0", id, &err)) << err;
}

// LIBXDP_SKIP_DISPATCHER=1 (libxdp's switch): fs_rfd runs alone, as a
// bpf_link pinned under /sys/fs/bpf/fastsocket, on any kernel; removing
// that pin detaches it; status reports missing pins as drift.
TEST_F(Veth, AloneAsAPinnedLinkAndDriftOfPins)
{
	setenv("LIBXDP_SKIP_DISPATCHER", "1", 1);
	uint32_t id = 0;
	bool unsupported = false;
	std::string err;
	bool attached = xdp_attach_rfd("fst0", config(), &id, &err, &unsupported);
	unsetenv("LIBXDP_SKIP_DISPATCHER");
	if (!attached)
		GTEST_SKIP() << "this kernel refuses native XDP on veth: " << err;
	XdpInfo info;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_TRUE(info.ours());
	EXPECT_FALSE(info.dispatcher);
	EXPECT_EQ(rfd_pinned_prog_id("fst0", RfdPin::Link), id);
	std::vector<SavedXdp> saved{{"fst0", id, rfd_ring_size(), 32768, 60999}};
	EXPECT_TRUE(rfd_steering_drift(saved).empty());

	ASSERT_EQ(unlink(rfd_pin_path("fst0", RfdPin::Cpus).c_str()), 0);
	auto drift = rfd_steering_drift(saved);
	ASSERT_EQ(drift.size(), 1u);
	EXPECT_EQ(drift[0].now, "missing " + rfd_pin_path("fst0", RfdPin::Cpus)) << drift[0].now;

	// The pin is what holds the link: without it fs_rfd is gone (the kernel
	// releases the last reference of a link from a workqueue: soon, not at once).
	ASSERT_EQ(unlink(rfd_pin_path("fst0", RfdPin::Link).c_str()), 0);
	for (int i = 0; i < 200 && xdp_query("fst0", &info, &err) && info.attached; i++)
		usleep(10000);
	EXPECT_FALSE(info.attached) << "removing the link pin detached the program (2 s)";
	drift = rfd_steering_drift(saved);
	ASSERT_EQ(drift.size(), 1u);
	EXPECT_EQ(drift[0].now, "none");
	EXPECT_TRUE(xdp_detach("fst0", id, &err)) << err;
	struct stat st;
	EXPECT_NE(stat(kBpfPinDir, &st), 0) << "the remaining pin removed with the directory";
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

// A program attached without the dispatcher is never replaced.
TEST_F(Veth, LeavesAPlainProgramAlone)
{
	Counter other;
	std::string err;
	if (!other.attach_plain(static_cast<int>(if_nametoindex("fst0")), &err))
		GTEST_SKIP() << "this kernel refuses native XDP on veth: " << err;
	XdpInfo before;
	ASSERT_TRUE(xdp_query("fst0", &before, &err)) << err;
	ASSERT_TRUE(before.attached);
	EXPECT_FALSE(before.dispatcher);
	EXPECT_EQ(before.prog_name, "fst_count");

	uint32_t id = 0;
	bool unsupported = false;
	EXPECT_FALSE(xdp_attach_rfd("fst0", config(), &id, &err, &unsupported));
	EXPECT_NE(err.find("left alone"), std::string::npos) << err;
	XdpInfo after;
	ASSERT_TRUE(xdp_query("fst0", &after, &err)) << err;
	EXPECT_EQ(after.prog_id, before.prog_id);
	EXPECT_FALSE(after.ours());

	// Detached by its id: how revert handles a saved.json record from a
	// fastsocket that attached fs_rfd alone (rtnetlink, no dispatcher).
	EXPECT_TRUE(xdp_detach("fst0", before.prog_id, &err)) << err;
	ASSERT_TRUE(xdp_query("fst0", &after, &err)) << err;
	EXPECT_FALSE(after.attached);
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
	EXPECT_EQ(replies_on_port_cpu(42000), 40u) << "replies processed on CPU port % " << rfd_ring_size();
	EXPECT_TRUE(xdp_detach("fst0", id, &err)) << err;
}

// Another program attached through libxdp first: both run (its counter
// grows, the replies still land on CPU port % R) and detaching ours leaves
// it attached and counting.
TEST_F(Veth, RunsBesideAnotherLibxdpProgram)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		GTEST_SKIP() << "one CPU: every reply is local anyway";
	start_server();
	Counter other;
	std::string err;
	if (!other.attach_with_libxdp(static_cast<int>(if_nametoindex("fst0")), &err))
		GTEST_SKIP() << "this kernel refuses native XDP on veth: " << err;
	XdpInfo info;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	if (!info.dispatcher)
		GTEST_SKIP() << "libxdp cannot use its dispatcher on this kernel (freplace programs refused)";
	uint32_t id = 0;
	bool unsupported = false;
	ASSERT_TRUE(xdp_attach_rfd("fst0", config(), &id, &err, &unsupported)) << err;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_TRUE(info.ours());
	EXPECT_TRUE(info.dispatcher);
	// In the dispatcher: our program and cpumap pinned, the link is libxdp's.
	EXPECT_EQ(rfd_pinned_prog_id("fst0", RfdPin::Prog), id);
	EXPECT_EQ(rfd_pinned_prog_id("fst0", RfdPin::Link), 0u);
	EXPECT_EQ(info.prog_id, id);
	ASSERT_EQ(info.others.size(), 1u);
	EXPECT_EQ(info.others[0], std::to_string(other.id()) + " 'fst_count'");

	uint64_t seen = other.packets();
	EXPECT_EQ(replies_on_port_cpu(43000), 40u) << "replies processed on CPU port % " << rfd_ring_size();
	EXPECT_GE(other.packets() - seen, 40u * 3) << "each connection brings at least 3 packets to fst0";

	ASSERT_TRUE(xdp_detach("fst0", id, &err)) << err;
	ASSERT_TRUE(xdp_query("fst0", &info, &err)) << err;
	EXPECT_TRUE(info.attached);
	EXPECT_FALSE(info.ours());
	ASSERT_EQ(info.others.size(), 1u) << "the other program stays";
	seen = other.packets();
	EXPECT_EQ(reply_cpu(44000) >= 0, true);
	EXPECT_GT(other.packets(), seen) << "and keeps running";
}

} // namespace
} // namespace fsock

int main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);
	// A private network namespace: the veth pair and the program vanish with
	// the process, whatever happens.  A private mount namespace without
	// /sys/fs/bpf: the loader mounts a bpffs of its own there, and libxdp's
	// pins stay out of the host's.
	if (geteuid() != 0)
		fsock::g_why = "needs root (network namespace, bpf)";
	else if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
		fsock::g_why = "unshare(CLONE_NEWNET | CLONE_NEWNS) failed";
	else if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
		fsock::g_why = "cannot make the mounts private";
	else if (fsock::sh("ip link add fsprobe0 type veth peer name fsprobe1") != 0)
		fsock::g_why = "no veth support (or no ip command)";
	else
		fsock::g_netns = fsock::sh("ip link del fsprobe0") == 0;
	while (umount2("/sys/fs/bpf", MNT_DETACH) == 0)
		;
	return RUN_ALL_TESTS();
}
