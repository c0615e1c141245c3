// SPDX-License-Identifier: GPL-2.0
// plan / apply / revert on fake trees: masks for 2, 48 and 130 CPUs with 1, 8
// and 64 queues, idempotence, rollback byte for byte, IRQs the kernel
// refuses, module reloads and their refusal while in use.
#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>

#include "commands/commands.h"
#include "fake_root.h"
#include "profile/validate.h"
#include "system/state_store.h"
#include "tuning/executor.h"
#include "tuning/tuning.h"

using namespace fsock;
using fsock::test::FakeNic;
using fsock::test::FakeRoot;

namespace {

Profile load(FakeRoot &fr, const std::string &yaml)
{
	fr.write("profile.yaml", yaml);
	Root root(fr.dir());
	Profile p;
	std::ostringstream err;
	EXPECT_EQ(load_checked(root, fr.dir() + "/profile.yaml", &p, err), kExitOk) << err.str();
	return p;
}

const char *kFull = R"(version: 1
interfaces: all-physical
rps: {cpus: all}
rfs: {flow_entries: 32768}
xps: {cpus: all}
irq: {cpus: all}
sysctl:
  net.core.somaxconn: 65535
  net.ipv4.ip_local_port_range: "1024 65535"
)";

struct Outcome {
	int rc;
	std::string out, err;
};

Outcome apply(FakeRoot &fr, const Profile &p, Root &root, bool defer = false)
{
	SysfsModuleControl mod(root);
	StateStore store(root);
	std::ostringstream out, err;
	Plan plan = build_plan(root, p, mod);
	ExecOptions opt;
	opt.defer_reload = defer;
	int rc = apply_plan(root, plan, mod, store, opt, out, err);
	(void)fr;
	return {rc, out.str(), err.str()};
}

Outcome revert(Root &root)
{
	SysfsModuleControl mod(root);
	StateStore store(root);
	std::ostringstream out, err;
	int rc = revert_state(root, mod, store, ExecOptions(), out, err);
	return {rc, out.str(), err.str()};
}

std::string q(const std::string &ifname, const std::string &queue, const std::string &file)
{
	return "sys/class/net/" + ifname + "/queues/" + queue + "/" + file;
}

} // namespace

struct Shape {
	unsigned cpus;
	unsigned queues;
	const char *all_mask; // rps_cpus for "all"
};

class Shapes : public ::testing::TestWithParam<Shape> {};

TEST_P(Shapes, PlanAndApplyWriteExactMasks)
{
	Shape s = GetParam();
	FakeRoot fr(s.cpus);
	FakeNic nic;
	nic.rx = nic.tx = s.queues;
	nic.style = "txrx";
	fr.add_nic(nic);
	Profile p = load(fr, kFull);
	Root root(fr.dir());
	Outcome r = apply(fr, p, root);
	ASSERT_EQ(r.rc, 0) << r.err;
	for (unsigned i = 0; i < s.queues; i++) {
		EXPECT_EQ(fr.read(q("eth0", "rx-" + std::to_string(i), "rps_cpus")), std::string(s.all_mask) + "\n");
		// auto flow_cnt = 32768 / queues, rounded up to a power of two
		unsigned long cnt = 32768 / s.queues;
		unsigned long pw = 1;
		while (pw < cnt)
			pw <<= 1;
		EXPECT_EQ(fr.read(q("eth0", "rx-" + std::to_string(i), "rps_flow_cnt")), std::to_string(pw) + "\n");
	}
	// XPS: tx queue i gets CPUs i, i+n, ... (or one CPU when queues > CPUs).
	for (unsigned i = 0; i < s.queues; i++) {
		CpuSet want;
		if (s.cpus >= s.queues)
			for (unsigned c = i; c < s.cpus; c += s.queues)
				want.set(c);
		else
			want.set(i % s.cpus);
		EXPECT_EQ(fr.read(q("eth0", "tx-" + std::to_string(i), "xps_cpus")), want.to_mask(s.cpus) + "\n")
			<< "tx-" << i;
	}
	// IRQ of queue i -> CPU i mod cpus (first NIC IRQ is 24).
	for (unsigned i = 0; i < s.queues; i++)
		EXPECT_EQ(fr.read("proc/irq/" + std::to_string(24 + i) + "/smp_affinity_list"),
			  std::to_string(i % s.cpus) + "\n");
	EXPECT_EQ(fr.read("proc/sys/net/core/rps_sock_flow_entries"), "32768\n");
	EXPECT_EQ(fr.read("proc/sys/net/ipv4/ip_local_port_range"), "1024 65535\n");
	// lo (no device) untouched.
	EXPECT_EQ(fr.read(q("lo", "rx-0", "rps_cpus")), CpuSet().to_mask(s.cpus) + "\n");
}

INSTANTIATE_TEST_SUITE_P(CpusAndQueues, Shapes,
			 ::testing::Values(Shape{2, 1, "3"}, Shape{2, 8, "3"}, Shape{2, 64, "3"},
					   Shape{48, 1, "ffff,ffffffff"}, Shape{48, 8, "ffff,ffffffff"},
					   Shape{48, 64, "ffff,ffffffff"},
					   Shape{130, 1, "3,ffffffff,ffffffff,ffffffff,ffffffff"},
					   Shape{130, 8, "3,ffffffff,ffffffff,ffffffff,ffffffff"},
					   Shape{130, 64, "3,ffffffff,ffffffff,ffffffff,ffffffff"}));

TEST(Plan, CpuListsAndNumaLocal)
{
	FakeRoot fr(8);
	fr.add_numa_node(0, "0-3");
	fr.add_numa_node(1, "4-7");
	FakeNic nic;
	nic.numa_node = 1;
	fr.add_nic(nic);
	Profile p = load(fr, "version: 1\nrps: {cpus: numa-local}\nxps: {cpus: '0-1,6'}\n");
	Root root(fr.dir());
	SysfsModuleControl mod(root);
	Plan plan = build_plan(root, p, mod);
	ASSERT_FALSE(plan.changes.empty());
	EXPECT_EQ(plan.changes[0].next, "f0\n"); // node 1 = CPUs 4-7
	// 3 CPUs over 4 tx queues: one CPU each, round-robin.
	std::vector<std::string> xps;
	for (const auto &c : plan.changes)
		if (c.area == "xps")
			xps.push_back(c.next);
	EXPECT_EQ(xps, (std::vector<std::string>{"01\n", "02\n", "40\n", "01\n"}));
}

TEST(Plan, OfflineCpusAreAnError)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	Profile p = load(fr, "version: 1\nrps: {cpus: '2-5'}\n");
	Root root(fr.dir());
	SysfsModuleControl mod(root);
	try {
		build_plan(root, p, mod);
		FAIL() << "no error";
	} catch (const PlanError &e) {
		EXPECT_NE(std::string(e.what()).find("rps.cpus: CPUs 4-5 are not online (online: 0-3)"),
			  std::string::npos)
			<< e.what();
	}
}

TEST(Plan, VirtioIrqsByName)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic()); // virtio0-config = 24, input.0 = 25, output.0 = 26, ...
	Root root(fr.dir());
	Interface i;
	ASSERT_TRUE(read_interface(root, "eth0", &i));
	EXPECT_EQ(i.device, "virtio0");
	auto irqs = find_queue_irqs(root, i);
	ASSERT_EQ(irqs.size(), 8u);
	EXPECT_EQ(irqs[0].irq, 25u);
	EXPECT_EQ(irqs[0].name, "virtio0-input.0");
	EXPECT_EQ(irqs[7].queue, 3u);
}

TEST(Plan, MsiIrqsWhenNamesAreUnknown)
{
	FakeRoot fr(4);
	FakeNic nic;
	nic.style = "msi";
	nic.device = "0000:00:03.0";
	fr.add_nic(nic);
	Root root(fr.dir());
	Interface i;
	ASSERT_TRUE(read_interface(root, "eth0", &i));
	auto irqs = find_queue_irqs(root, i);
	ASSERT_EQ(irqs.size(), 4u);
	EXPECT_EQ(irqs[3].queue, 3u);
	EXPECT_EQ(irqs[3].name, "msi");
}

TEST(Apply, SecondApplyChangesNothingAndRevertRestores)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	auto before = fr.snapshot();
	Profile p = load(fr, kFull);
	before = fr.snapshot(); // includes profile.yaml
	Root root(fr.dir());
	Outcome r1 = apply(fr, p, root);
	ASSERT_EQ(r1.rc, 0) << r1.err;
	EXPECT_NE(fr.snapshot(), before);
	EXPECT_TRUE(fr.exists("var/lib/fastsocket/saved.json"));
	Outcome r2 = apply(fr, p, root);
	EXPECT_EQ(r2.rc, 0);
	EXPECT_EQ(r2.out, "no changes: the system already matches profile profile\n");
	Outcome rv = revert(root);
	ASSERT_EQ(rv.rc, 0) << rv.err;
	EXPECT_EQ(fr.snapshot(), before); // byte for byte
	EXPECT_FALSE(fr.exists("var/lib/fastsocket/saved.json"));
	Outcome rv2 = revert(root);
	EXPECT_EQ(rv2.rc, 0);
	EXPECT_NE(rv2.out.find("nothing to revert"), std::string::npos);
}

TEST(Apply, TwoAppliesThenRevertRestoresTheFirstOriginals)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	Profile a = load(fr, "version: 1\nsysctl: {net.core.somaxconn: 1000}\n");
	auto before = fr.snapshot();
	Root root(fr.dir());
	ASSERT_EQ(apply(fr, a, root).rc, 0);
	Profile b = load(fr, "version: 1\nsysctl: {net.core.somaxconn: 2000}\n");
	before = fr.snapshot();
	before["proc/sys/net/core/somaxconn"] = "4096\n";
	ASSERT_EQ(apply(fr, b, root).rc, 0);
	EXPECT_EQ(fr.read("proc/sys/net/core/somaxconn"), "2000\n");
	ASSERT_EQ(revert(root).rc, 0);
	EXPECT_EQ(fr.snapshot(), before);
}

// A directory in place of rx-5/rps_cpus: the write fails with EISDIR after
// the sysctls and rx-0..4 were written; everything must be put back.
TEST(Apply, FailureMidwayRollsBackEveryEarlierWriteByteForByte)
{
	FakeRoot fr(8);
	FakeNic nic;
	nic.rx = nic.tx = 8;
	fr.add_nic(nic);
	std::string bad = q("eth0", "rx-5", "rps_cpus");
	Profile p = load(fr, kFull);
	// Odd but valid originals, to prove bytes (not meanings) are restored.
	fr.write(q("eth0", "rx-0", "rps_cpus"), "00000000\n");
	fr.write("proc/sys/net/ipv4/ip_local_port_range", "32768   60999\n");
	Root root(fr.dir());
	SysfsModuleControl mod(root);
	Plan plan = build_plan(root, p, mod);
	std::filesystem::remove(std::filesystem::path(fr.dir()) / bad);
	std::filesystem::create_directory(std::filesystem::path(fr.dir()) / bad);
	auto before = fr.snapshot();
	StateStore store(root);
	std::ostringstream out, err;
	int rc = apply_plan(root, plan, mod, store, ExecOptions(), out, err);
	EXPECT_EQ(rc, 1);
	EXPECT_NE(err.str().find("rps_cpus: Is a directory"), std::string::npos) << err.str();
	EXPECT_NE(err.str().find("rolled back 8 change(s) in reverse order"), std::string::npos) << err.str();
	EXPECT_EQ(fr.snapshot(), before);
	EXPECT_FALSE(fr.exists("var/lib/fastsocket/saved.json"));
}

TEST(Apply, IrqRefusedWithEioIsSkippedNotRolledBack)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	Profile p = load(fr, "version: 1\nirq: {cpus: all}\nrps: {cpus: all}\n");
	Root root(fr.dir());
	root.set_fault_injector([](const std::string &path, const std::string &) {
		return path == "/proc/irq/27/smp_affinity_list" ? EIO : 0;
	});
	Outcome r = apply(fr, p, root);
	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_NE(r.err.find("eth0 irq 27 (virtio0-input.1): the kernel refused the affinity"), std::string::npos)
		<< r.err;
	EXPECT_EQ(fr.read("proc/irq/27/smp_affinity_list"), "0-3\n");
	EXPECT_EQ(fr.read("proc/irq/25/smp_affinity_list"), "0\n");
	EXPECT_EQ(fr.read("proc/irq/29/smp_affinity_list"), "2\n");
	EXPECT_EQ(fr.read(q("eth0", "rx-3", "rps_cpus")), "f\n");
	EXPECT_NE(r.out.find("1 IRQ(s) skipped"), std::string::npos);
}

TEST(Apply, VerifiesByReadingBack)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	Profile p = load(fr, "version: 1\nsysctl: {net.core.somaxconn: 100, net.ipv4.tcp_fin_timeout: 10}\n");
	Root root(fr.dir());
	auto before = fr.snapshot();
	// The "kernel" ignores tcp_fin_timeout: the write succeeds, the value stays.
	root.set_fault_injector([](const std::string &path, const std::string &) {
		return path == "/proc/sys/net/ipv4/tcp_fin_timeout" ? -1 : 0;
	});
	Outcome r = apply(fr, p, root);
	EXPECT_EQ(r.rc, 1);
	EXPECT_NE(r.err.find("tcp_fin_timeout but it reads back as 60"), std::string::npos) << r.err;
	EXPECT_EQ(fr.snapshot(), before);
}

TEST(Apply, IrqbalanceWarning)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	fr.add_process(812, "irqbalance");
	Profile p = load(fr, "version: 1\nirq: {cpus: all}\n");
	Root root(fr.dir());
	Outcome r = apply(fr, p, root);
	EXPECT_EQ(r.rc, 0);
	EXPECT_NE(r.err.find("irqbalance is running"), std::string::npos) << r.err;
	EXPECT_NE(r.err.find("--banirq=25"), std::string::npos) << r.err;
	EXPECT_NE(r.err.find("IRQBALANCE_BANNED_CPULIST"), std::string::npos);
}

TEST(Module, WritesOptionsAndLoadsWhenNotLoaded)
{
	FakeRoot fr(4);
	Profile p = load(fr, "version: 1\nmodule:\n  parameters:\n    enable_listen_spawn: 1\n"
			     "    enable_receive_flow_deliver: 1\n");
	Root root(fr.dir());
	root.set_command_runner(fr.modprobe_runner());
	Outcome r = apply(fr, p, root);
	ASSERT_EQ(r.rc, 0) << r.err;
	EXPECT_NE(fr.read("etc/modprobe.d/fastsocket.conf")
			  .find("\noptions fastsocket enable_listen_spawn=1 enable_receive_flow_deliver=1\n"),
		  std::string::npos);
	EXPECT_EQ(fr.commands, std::vector<std::string>{"modprobe fastsocket"});
	EXPECT_EQ(fr.read("sys/module/fastsocket/parameters/enable_listen_spawn"), "1\n");
	// Same profile again: nothing at all.
	fr.commands.clear();
	Outcome r2 = apply(fr, p, root);
	EXPECT_EQ(r2.rc, 0);
	EXPECT_NE(r2.out.find("no changes"), std::string::npos);
	EXPECT_TRUE(fr.commands.empty());
	// Revert: the module was not loaded before, so it is unloaded; the
	// options file did not exist, so it is removed.
	Outcome rv = revert(root);
	ASSERT_EQ(rv.rc, 0) << rv.err;
	EXPECT_EQ(fr.commands, std::vector<std::string>{"modprobe -r fastsocket"});
	EXPECT_FALSE(fr.exists("etc/modprobe.d/fastsocket.conf"));
	EXPECT_FALSE(fr.exists("sys/module/fastsocket"));
}

TEST(Module, ReloadsOnlyWhenParametersChange)
{
	FakeRoot fr(4);
	fr.load_module(FakeRoot::default_params());
	Root root(fr.dir());
	root.set_command_runner(fr.modprobe_runner());
	// Defaults only: the module is already right, only the file is written.
	Profile same = load(fr, "version: 1\nmodule:\n  parameters:\n    enable_listen_spawn: 2\n");
	ASSERT_EQ(apply(fr, same, root).rc, 0);
	EXPECT_TRUE(fr.commands.empty());
	Profile other = load(fr, "version: 1\nmodule:\n  parameters:\n    enable_fast_epoll: 0\n");
	Outcome r = apply(fr, other, root);
	ASSERT_EQ(r.rc, 0) << r.err;
	EXPECT_EQ(fr.commands, (std::vector<std::string>{"modprobe -r fastsocket", "modprobe fastsocket"}));
	EXPECT_EQ(fr.read("sys/module/fastsocket/parameters/enable_fast_epoll"), "0\n");
	fr.commands.clear();
	Outcome rv = revert(root);
	ASSERT_EQ(rv.rc, 0) << rv.err;
	EXPECT_EQ(fr.commands, (std::vector<std::string>{"modprobe -r fastsocket", "modprobe fastsocket"}));
	EXPECT_EQ(fr.read("sys/module/fastsocket/parameters/enable_fast_epoll"), "1\n");
	EXPECT_FALSE(fr.exists("etc/modprobe.d/fastsocket.conf"));
}

TEST(Module, RefusesToReloadWhileInUseUnlessDeferred)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	fr.load_module(FakeRoot::default_params(), 3);
	Root root(fr.dir());
	root.set_command_runner(fr.modprobe_runner());
	Profile p = load(fr, "version: 1\nrps: {cpus: all}\nmodule:\n  parameters:\n    enable_listen_spawn: 1\n");
	auto before = fr.snapshot();
	Outcome r = apply(fr, p, root);
	EXPECT_EQ(r.rc, 1);
	EXPECT_NE(r.err.find("it is in use (refcnt 3"), std::string::npos) << r.err;
	EXPECT_NE(r.err.find("--defer-reload"), std::string::npos);
	EXPECT_EQ(fr.snapshot(), before);
	EXPECT_TRUE(fr.commands.empty());

	Outcome d = apply(fr, p, root, true);
	ASSERT_EQ(d.rc, 0) << d.err;
	EXPECT_TRUE(fr.commands.empty());
	EXPECT_NE(d.out.find("take effect at its next load"), std::string::npos) << d.out;
	EXPECT_NE(fr.read("etc/modprobe.d/fastsocket.conf").find("enable_listen_spawn=1"), std::string::npos);
	EXPECT_EQ(fr.read("sys/module/fastsocket/parameters/enable_listen_spawn"), "2\n");
	EXPECT_EQ(fr.read(q("eth0", "rx-0", "rps_cpus")), "f\n");
}

TEST(Module, FailedLoadRollsBackTheOptionsFile)
{
	FakeRoot fr(4);
	fr.write("etc/modprobe.d/fastsocket.conf", "options fastsocket enable_fastsocket_debug=5\n");
	Profile p = load(fr, "version: 1\nsysctl: {net.core.somaxconn: 7}\nmodule: {parameters: {enable_fast_epoll: 0}}\n");
	auto before = fr.snapshot();
	Root root(fr.dir());
	root.set_command_runner([](const std::vector<std::string> &, std::string *out) {
		*out = "modprobe: FATAL: Module fastsocket not found in directory /lib/modules/6.1.0";
		return 1;
	});
	Outcome r = apply(fr, p, root);
	EXPECT_EQ(r.rc, 1);
	EXPECT_NE(r.err.find("Module fastsocket not found"), std::string::npos) << r.err;
	EXPECT_EQ(fr.snapshot(), before);
}
