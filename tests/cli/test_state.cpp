// SPDX-License-Identifier: GPL-2.0
// The saved state and what reads it: raw bytes survive JSON, saved paths stay
// inside --root, the lock excludes a second holder, counters files of any
// shape parse without throwing, IRQs of several NICs get distinct CPUs.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "commands/commands.h"
#include "fake_root.h"
#include "system/byte_string.h"
#include "system/saved_path.h"
#include "system/state_lock.h"
#include "system/state_store.h"
#include "system/stats.h"
#include "tuning/tuning.h"

using namespace fsock;
using fsock::test::FakeNic;
using fsock::test::FakeRoot;

TEST(Bytes, Base64RoundTripsEveryByte)
{
	std::string all;
	for (int i = 0; i < 256; i++)
		all += static_cast<char>(i);
	for (std::size_t n = 0; n <= all.size(); n += 37) {
		std::string s = all.substr(0, n);
		EXPECT_EQ(base64_decode(base64_encode(s)).value_or("<bad>"), s) << n;
	}
	EXPECT_EQ(base64_encode("caf\xe9"), "Y2Fm6Q==");
	EXPECT_FALSE(base64_decode("a=bc").has_value());
	EXPECT_FALSE(base64_decode("abc").has_value());
}

TEST(Bytes, Utf8Validity)
{
	EXPECT_TRUE(is_valid_utf8("r\xc3\xa9glages"));
	EXPECT_FALSE(is_valid_utf8("r\xe9glages"));
	EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));	 // overlong '/'
	EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80")); // surrogate
	EXPECT_EQ(utf8_for_display("a\xffz"), "a\xef\xbf\xbdz");
}

TEST(StateStore, KeepsNonUtf8BytesExactly)
{
	FakeRoot fr(2);
	Root root(fr.dir());
	StateStore store(root);
	SavedState s;
	s.profile = "caf\xe9";
	s.originals.push_back({"modprobe", "fastsocket options", "/etc/modprobe.d/fastsocket.conf", ValueKind::File,
			       true, "# r\xe9glages\noptions fastsocket enable_fast_epoll=1\n\xff"});
	s.module_params_before["enable_listen_spawn"] = "\xfe";
	ASSERT_EQ(store.save(s), 0);
	auto back = store.load();
	ASSERT_TRUE(back.has_value());
	EXPECT_EQ(back->profile, s.profile);
	EXPECT_EQ(back->originals[0].value, s.originals[0].value);
	EXPECT_EQ(back->module_params_before, s.module_params_before);
	struct stat st;
	ASSERT_EQ(::stat((fr.dir() + StateStore::kDefaultPath).c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(StateStore, ReadsFormat1)
{
	SavedState s = from_json(R"({"format": 1, "profile": "p", "originals": [{"path": "/proc/sys/x",
		"value": "1\n"}], "applied": [], "module": {"params_before": {"a": "1"}}})");
	EXPECT_EQ(s.originals.at(0).value, "1\n");
	EXPECT_EQ(s.module_params_before.at("a"), "1");
}

TEST(SavedPath, ConfinedToTheRootAndTheTunedTrees)
{
	FakeRoot fr(2);
	Root root(fr.dir());
	EXPECT_EQ(check_saved_path(root, "/proc/sys/net/core/somaxconn"), "");
	EXPECT_EQ(check_saved_path(root, "/proc/irq/0/smp_affinity_list"), "");
	EXPECT_NE(check_saved_path(root, "/proc/sys/../../etc/passwd"), "");
	EXPECT_NE(check_saved_path(root, "/proc/sys/net/./core/somaxconn"), "");
	EXPECT_NE(check_saved_path(root, "/proc/sys//net/core/somaxconn"), "");
	EXPECT_NE(check_saved_path(root, "proc/sys/net/core/somaxconn"), "");
	EXPECT_NE(check_saved_path(root, "/etc/shadow"), "");
	fr.write("proc/sys/net/core/x", "");
	ASSERT_EQ(::symlink("/etc", (fr.dir() + "/proc/sys/net/esc").c_str()), 0);
	ASSERT_EQ(::symlink("/etc/hostname", (fr.dir() + "/proc/sys/net/core/f").c_str()), 0);
	EXPECT_NE(check_saved_path(root, "/proc/sys/net/esc/hostname"), "");
	EXPECT_NE(check_saved_path(root, "/proc/sys/net/core/f"), "");
}

TEST(StateLock, SecondHolderIsRefusedWithThePid)
{
	FakeRoot fr(2);
	Root root(fr.dir());
	StateLock a(root);
	std::string why;
	ASSERT_TRUE(a.acquire(0, &why)) << why;
	// flock locks belong to the open file: a second open in this process
	// conflicts like another process would.
	StateLock b(root);
	EXPECT_FALSE(b.acquire(0.1, &why));
	EXPECT_NE(why.find("(pid " + std::to_string(::getpid()) + ")"), std::string::npos) << why;
	struct stat st;
	ASSERT_EQ(::stat((fr.dir() + StateLock::kPath).c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(StateLock, StaleTempFilesAreRemoved)
{
	FakeRoot fr(2);
	fr.write("var/lib/fastsocket/saved.json.tmp.12345", "x");
	fr.write("etc/modprobe.d/fastsocket.conf.tmp.99", "x");
	fr.write("etc/modprobe.d/other.conf.tmp.99", "not ours");
	remove_stale_temp_files(Root(fr.dir()));
	EXPECT_FALSE(fr.exists("var/lib/fastsocket/saved.json.tmp.12345"));
	EXPECT_FALSE(fr.exists("etc/modprobe.d/fastsocket.conf.tmp.99"));
	EXPECT_TRUE(fr.exists("etc/modprobe.d/other.conf.tmp.99"));
}

TEST(Stats, MalformedFilesNeverThrow)
{
	for (const char *text : {"cpu a\ncpu0 99999999999999999999999\n", "cpu a\ncpu99999999999999999999 1\n",
				 "cpu a\ncpu0 -1\n", "cpu a\ncpu0 1\ncpu0 2\n", "\xff\xfe\n\x01 2\n", "cpu a b\ncpu0 1\n"}) {
		ModuleStats s;
		EXPECT_NO_THROW(s = parse_stats(text)) << text;
		EXPECT_FALSE(s.error.empty()) << text;
	}
	ModuleStats ok = parse_stats("cpu a\ncpu0 18446744073709551615\n");
	EXPECT_EQ(ok.error, "");
	EXPECT_EQ(ok.cpus.at(0).second.at(0), 18446744073709551615ull);
}

TEST(Stats, DuplicateColumnsAreNumbered)
{
	ModuleStats s = parse_stats("cpu spawn spawn rfd_hit spawn\ncpu0 1 2 3 4\n");
	EXPECT_EQ(s.error, "");
	EXPECT_EQ(s.columns, (std::vector<std::string>{"spawn", "spawn_2", "rfd_hit", "spawn_3"}));
	EXPECT_EQ(s.duplicates.size(), 2u);
}

TEST(Irq, TwoNicsOnTwoNodesGetDistinctLocalCpus)
{
	FakeRoot fr(48);
	fr.add_numa_node(0, "0-23");
	fr.add_numa_node(1, "24-47");
	FakeNic a;
	a.name = "eth0";
	a.rx = a.tx = 8;
	a.style = "txrx";
	a.numa_node = 0;
	fr.add_nic(a);
	FakeNic b = a;
	b.name = "eth1";
	b.device = "virtio1";
	b.first_irq = 60;
	b.numa_node = 1;
	fr.add_nic(b);
	fr.write("profile.yaml", "version: 1\ninterfaces: all-physical\nirq: {cpus: all}\n");
	Root root(fr.dir());
	Profile p;
	std::ostringstream err;
	ASSERT_EQ(load_checked(root, fr.dir() + "/profile.yaml", &p, err), kExitOk) << err.str();
	SysfsModuleControl mod(root);
	Plan plan = build_plan(root, p, mod);
	std::map<std::string, std::vector<unsigned>> by_nic;
	std::set<unsigned> used;
	for (const auto &c : plan.changes)
		if (c.area == "irq") {
			unsigned cpu = static_cast<unsigned>(std::stoul(c.next));
			by_nic[c.target.substr(0, 4)].push_back(cpu);
			used.insert(cpu);
		}
	ASSERT_EQ(by_nic["eth0"].size(), 8u);
	ASSERT_EQ(by_nic["eth1"].size(), 8u);
	EXPECT_EQ(used.size(), 16u);
	for (unsigned c : by_nic["eth0"])
		EXPECT_LT(c, 24u);
	for (unsigned c : by_nic["eth1"])
		EXPECT_GE(c, 24u);
}

TEST(Irq, AllocatorSpillsToRemoteCpusOnlyWhenLocalOnesAreBusy)
{
	IrqCpuAllocator alloc;
	CpuSet all, local;
	std::string e;
	ASSERT_TRUE(CpuSet::parse_list("0-3", &all, &e));
	ASSERT_TRUE(CpuSet::parse_list("2-3", &local, &e));
	std::vector<unsigned> got;
	for (int i = 0; i < 6; i++)
		got.push_back(alloc.pick(all, local));
	EXPECT_EQ(got, (std::vector<unsigned>{2, 3, 0, 1, 2, 3}));
}
