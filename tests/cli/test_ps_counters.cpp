// SPDX-License-Identifier: GPL-2.0
// `fastsocket ps` with the library's per-process counters files
// (src/lib/fsock_counters.h) crafted under a fake root: live files merged
// into the process view, stale ones removed, hostile ones rejected.
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "../../src/lib/fsock_counters.h"
#include "commands/ps.h"
#include "fake_root.h"
#include "system/lib_counters.h"

namespace fs = std::filesystem;
using namespace fsock;
using fsock::test::FakeRoot;

namespace {

const char *const kLib = "7f00-7f01 r-xp 0 08:01 2 /usr/lib/x86_64-linux-gnu/fastsocket/libfsocket.so\n";

// /proc/PID/stat with start time `start` (field 22) and a comm with spaces
// and a ')' as a process may name itself.
std::string stat_line(int pid, unsigned long long start)
{
	std::string s = std::to_string(pid) + " (a) b) S 1";
	for (int f = 5; f <= 21; f++)
		s += " 0";
	return s + " " + std::to_string(start) + " 0 0\n";
}

struct Crafted {
	fs_pc_header h{};
	fs_pc_listener l[FS_PC_MAX_LISTENERS]{};

	Crafted(int pid, unsigned long long start)
	{
		std::memcpy(h.magic, FS_PC_MAGIC, 8);
		h.version = FS_PC_VERSION;
		h.header_size = sizeof(h);
		h.listener_size = sizeof(fs_pc_listener);
		h.max_listeners = FS_PC_MAX_LISTENERS;
		h.pid = pid;
		h.backend = 2;
		h.start_time = start;
		h.listeners_total = 3;
		h.closed_accepts_local = 100;
		h.closed_accepts_global = 1;
	}
	std::string bytes() const
	{
		std::string b(reinterpret_cast<const char *>(&h), sizeof(h));
		b.append(reinterpret_cast<const char *>(l), sizeof(l));
		return b;
	}
};

// A process that maps the library and its counters file.
void add_lib_process(FakeRoot &fr, int pid, unsigned long long start, const std::string &file)
{
	fr.add_process(pid, "nginx");
	fr.write("proc/" + std::to_string(pid) + "/stat", stat_line(pid, start));
	fr.write("proc/" + std::to_string(pid) + "/maps",
		 std::string(kLib) + "7f10-7f13 rw-s 0 00:1a 7 " + file + "\n");
}

Crafted two_listeners(int pid, unsigned long long start)
{
	Crafted c(pid, start);
	c.l[0].in_use = 1;
	c.l[0].family = AF_INET;
	c.l[0].port = 80;
	c.l[0].path = FS_PC_PATH_FALLBACK;
	c.l[0].accepts_local = 41;
	c.l[0].accepts_global = 2;
	c.l[0].cpus[0] = 0x5; // CPUs 0 and 2
	c.l[0].cpus[1] = 0x1; // CPU 64
	inet_pton(AF_INET, "10.0.0.1", c.l[0].addr);
	c.l[5].in_use = 1;
	c.l[5].family = AF_INET6;
	c.l[5].port = 443;
	c.l[5].path = FS_PC_PATH_MODULE;
	c.l[5].accepts_local = 7;
	inet_pton(AF_INET6, "::1", c.l[5].addr);
	return c;
}

} // namespace

TEST(PsCounters, LiveFileMergedIntoProcessView)
{
	FakeRoot fr(2);
	add_lib_process(fr, 700, 12345, "/run/fastsocket/lib/700");
	fr.write("run/fastsocket/lib/700", two_listeners(700, 12345).bytes());
	PsReport r = build_ps(Root(fr.dir()));
	ASSERT_EQ(r.processes.size(), 1u);
	ASSERT_TRUE(r.processes[0].counters.has_value()) << (r.warnings.empty() ? "" : r.warnings[0]);
	const LibCounters &c = *r.processes[0].counters;
	ASSERT_EQ(c.listeners.size(), 2u);
	EXPECT_EQ(c.listeners[0].endpoint(), "10.0.0.1:80");
	EXPECT_EQ(c.listeners[0].path, "fallback");
	EXPECT_EQ(c.listeners[0].cpus, "0,2,64");
	EXPECT_EQ(c.listeners[1].endpoint(), "[::1]:443");
	EXPECT_EQ(c.listeners[1].path, "module");
	EXPECT_EQ(c.accepts_local, 100u + 41 + 7); // closed listeners' + live ones'
	EXPECT_EQ(c.accepts_global, 1u + 2);
	std::ostringstream text;
	render_ps_text(r, text);
	EXPECT_NE(text.str().find("library listener: 10.0.0.1:80 fallback accepts local 41 global 2 cpus 0,2,64"),
		  std::string::npos)
		<< text.str();
	EXPECT_NE(text.str().find("library: userspace, 3 listener(s) accelerated, accepts local 148 global 3"),
		  std::string::npos)
		<< text.str();
	nlohmann::json j = ps_json(r);
	EXPECT_EQ(j["processes"][0]["library_counters"]["listeners"][1]["accepts_local"], 7);
	EXPECT_EQ(j["processes"][0]["library_counters"]["file"], "/run/fastsocket/lib/700");
	EXPECT_TRUE(r.warnings.empty());
	EXPECT_TRUE(fs::exists(fr.dir() + "/run/fastsocket/lib/700"));
}

TEST(PsCounters, UserRuntimeDirectoryToo)
{
	FakeRoot fr(2);
	add_lib_process(fr, 701, 5, "/run/user/1000/fastsocket/701");
	fr.write("run/user/1000/fastsocket/701", two_listeners(701, 5).bytes());
	fr.write("run/user/notauid/fastsocket/701", "junk"); // not a uid: never read
	PsReport r = build_ps(Root(fr.dir()));
	ASSERT_EQ(r.processes.size(), 1u);
	ASSERT_TRUE(r.processes[0].counters.has_value());
	EXPECT_EQ(r.processes[0].counters->file, "/run/user/1000/fastsocket/701");
	EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
}

TEST(PsCounters, StaleFilesRemoved)
{
	FakeRoot fr(2);
	const std::string d = "run/fastsocket/lib/";
	fr.write(d + "800", two_listeners(800, 1).bytes()); // pid gone
	fr.write(d + ".801.tmp", "half");		     // a dead process's temporary file
	add_lib_process(fr, 802, 99, "/run/fastsocket/lib/802");
	fr.write(d + "802", two_listeners(802, 98).bytes()); // pid reused: start time differs
	fr.add_process(803, "sh");			     // exec'd: no longer maps its file
	fr.write("proc/803/stat", stat_line(803, 7));
	fr.write("proc/803/maps", "55d0-55d1 r-xp 0 08:01 1 /bin/sh\n");
	fr.write(d + "803", two_listeners(803, 7).bytes());
	add_lib_process(fr, 804, 3, "/run/fastsocket/lib/804");
	fr.write(d + ".804.tmp", "being made"); // a live process's: left alone
	PsReport r = build_ps(Root(fr.dir()));
	EXPECT_FALSE(fs::exists(fr.dir() + "/" + d + "800"));
	EXPECT_FALSE(fs::exists(fr.dir() + "/" + d + ".801.tmp"));
	EXPECT_FALSE(fs::exists(fr.dir() + "/" + d + "802"));
	EXPECT_FALSE(fs::exists(fr.dir() + "/" + d + "803"));
	EXPECT_TRUE(fs::exists(fr.dir() + "/" + d + ".804.tmp"));
	ASSERT_EQ(r.counters_removed.size(), 4u);
	std::ostringstream text;
	render_ps_text(r, text);
	EXPECT_NE(text.str().find("removed stale library counters file /run/fastsocket/lib/802 (pid 802 is another "
				  "process now)"),
		  std::string::npos)
		<< text.str();
	EXPECT_NE(text.str().find("/run/fastsocket/lib/803 (pid 803 no longer maps it)"), std::string::npos);
	for (const auto &p : r.processes)
		EXPECT_FALSE(p.counters.has_value()) << p.pid;
}

// Hostile input: every file below is rejected with a short reason, nothing
// crashes, and the process is listed without counters.
TEST(PsCounters, HostileFilesRejected)
{
	struct Case {
		const char *name;
		std::function<std::string(Crafted &)> make;
		const char *why;
	};
	const std::vector<Case> cases = {
		{"empty", [](Crafted &) { return std::string(); }, "truncated (0 bytes)"},
		{"truncated header", [](Crafted &c) { return c.bytes().substr(0, 40); }, "truncated (40 bytes)"},
		{"truncated entries", [](Crafted &c) { return c.bytes().substr(0, 1000); }, "truncated (1000 bytes"},
		{"oversized", [](Crafted &c) { return c.bytes() + "x"; }, "oversized"},
		{"over the read cap", [](Crafted &c) { return c.bytes() + std::string(70000, 'x'); }, "larger than"},
		{"garbage", [](Crafted &) { return std::string(FS_PC_FILE_SIZE, '\xff'); }, "bad magic"},
		{"version 2",
		 [](Crafted &c) {
			 c.h.version = 2;
			 return c.bytes();
		 },
		 "format version 2"},
		{"entry size",
		 [](Crafted &c) {
			 c.h.listener_size = 1u << 31;
			 return c.bytes();
		 },
		 "unexpected layout"},
		{"max listeners",
		 [](Crafted &c) {
			 c.h.max_listeners = 0xffffffff;
			 return c.bytes();
		 },
		 "unexpected layout"},
		{"other pid",
		 [](Crafted &c) {
			 c.h.pid = -1;
			 return c.bytes();
		 },
		 "names pid -1"},
		{"backend",
		 [](Crafted &c) {
			 c.h.backend = 9;
			 return c.bytes();
		 },
		 "unknown backend 9"},
		{"family",
		 [](Crafted &c) {
			 c.l[3].in_use = 1;
			 c.l[3].family = 1;
			 c.l[3].path = 1;
			 return c.bytes();
		 },
		 "listener 3: unknown address family 1"},
		{"path",
		 [](Crafted &c) {
			 c.l[63].in_use = 1;
			 c.l[63].family = AF_INET;
			 c.l[63].path = 77;
			 return c.bytes();
		 },
		 "listener 63: unknown path 77"},
		{"in_use",
		 [](Crafted &c) {
			 c.l[0].in_use = 0xdeadbeef;
			 return c.bytes();
		 },
		 "listener 0: bad in_use"},
	};
	for (const auto &k : cases) {
		FakeRoot fr(2);
		add_lib_process(fr, 900, 4, "/run/fastsocket/lib/900");
		Crafted c(900, 4);
		fr.write("run/fastsocket/lib/900", k.make(c));
		PsReport r = build_ps(Root(fr.dir()));
		ASSERT_EQ(r.processes.size(), 1u) << k.name;
		EXPECT_FALSE(r.processes[0].counters.has_value()) << k.name;
		ASSERT_EQ(r.warnings.size(), 1u) << k.name;
		EXPECT_NE(r.warnings[0].find(k.why), std::string::npos) << k.name << ": " << r.warnings[0];
		EXPECT_LT(r.warnings[0].size(), 200u) << k.name;
		// Rejected, not removed: the process lives.
		EXPECT_TRUE(fs::exists(fr.dir() + "/run/fastsocket/lib/900")) << k.name;
	}
}

TEST(PsCounters, HostileNamesAndFileTypes)
{
	FakeRoot fr(2);
	add_lib_process(fr, 901, 4, "/run/fastsocket/lib/901");
	fr.write("run/fastsocket/lib/0123", "x");
	fr.write("run/fastsocket/lib/99999999999", "x");
	fr.write("run/fastsocket/lib/..tmp", "x");
	fr.write("run/fastsocket/lib/\x1b[31mred", "x");
	ASSERT_EQ(::symlink("/etc/passwd", (fr.dir() + "/run/fastsocket/lib/901").c_str()), 0);
	fr.add_process(902, "x");
	fr.write("proc/902/stat", stat_line(902, 4));
	ASSERT_EQ(::mkfifo((fr.dir() + "/run/fastsocket/lib/902").c_str(), 0600), 0); // never blocks
	fs::create_directories(fr.dir() + "/run/fastsocket/lib/1");			 // pid 1 gone here: rmdir fails
	PsReport r = build_ps(Root(fr.dir()));
	ASSERT_EQ(r.processes.size(), 1u);
	EXPECT_FALSE(r.processes[0].counters.has_value());
	std::string all;
	for (const auto &w : r.warnings)
		all += w + "\n";
	EXPECT_NE(all.find("/run/fastsocket/lib/0123: not a pid"), std::string::npos) << all;
	EXPECT_NE(all.find("/run/fastsocket/lib/99999999999: not a pid"), std::string::npos) << all;
	EXPECT_NE(all.find("/run/fastsocket/lib/901: is a symbolic link"), std::string::npos) << all;
	EXPECT_NE(all.find("902: is a FIFO"), std::string::npos) << all;
	EXPECT_EQ(all.find('\x1b'), std::string::npos) << all; // shown escaped
}
