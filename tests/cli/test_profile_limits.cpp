// SPDX-License-Identifier: GPL-2.0
// What the loader promises besides the hostile corpus (hostile/MANIFEST):
// values written as the kernel reads them back, files read only when they
// are regular, messages that quote short excerpts.
#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>
#include <sys/stat.h>

#include "commands/commands.h"
#include "fake_root.h"
#include "profile/excerpt.h"
#include "profile/validate.h"
#include "system/file_read.h"
#include "system/module_control.h"
#include "system/state_store.h"
#include "tuning/executor.h"
#include "tuning/tuning.h"

using namespace fsock;

namespace {

const Change *find_change(const Plan &plan, const std::string &target)
{
	for (const auto &c : plan.changes)
		if (c.target == target)
			return &c;
	return nullptr;
}

} // namespace

// Issue 11 item 7: "010" validated as 10 but was written as 010 (the kernel
// reads octal 8); "+1024" validated and the kernel refused it.
TEST(ProfileValues, PlanShowsAndApplyWritesCanonicalDecimal)
{
	test::FakeRoot fr(2);
	fr.write("proc/sys/net/core/somaxconn", "4096\n");
	fr.write("proc/sys/net/core/netdev_max_backlog", "1000\n");
	fr.write("proc/sys/net/ipv4/ip_local_port_range", "32768\t60999\n");
	fr.write("profile.yaml", "version: 1\nsysctl:\n  net.core.somaxconn: 010\n"
				 "  net.core.netdev_max_backlog: +1024\n"
				 "  net.ipv4.ip_local_port_range: \"01024   065535\"\n");
	Root root(fr.dir());
	Profile p;
	std::ostringstream err;
	ASSERT_EQ(load_checked(root, fr.dir() + "/profile.yaml", &p, err), kExitOk) << err.str();
	SysfsModuleControl mod(root);
	Plan plan = build_plan(root, p, mod);
	const Change *somaxconn = find_change(plan, "net.core.somaxconn");
	const Change *backlog = find_change(plan, "net.core.netdev_max_backlog");
	const Change *ports = find_change(plan, "net.ipv4.ip_local_port_range");
	ASSERT_TRUE(somaxconn && backlog && ports);
	EXPECT_EQ(somaxconn->next, "10\n");
	EXPECT_EQ(backlog->next, "1024\n");
	EXPECT_EQ(ports->next, "1024 65535\n");

	StateStore store(root);
	std::ostringstream out;
	ASSERT_EQ(apply_plan(root, plan, mod, store, ExecOptions(), out, err), kExitOk) << err.str();
	EXPECT_EQ(fr.read("proc/sys/net/core/somaxconn"), "10\n");
	EXPECT_EQ(fr.read("proc/sys/net/core/netdev_max_backlog"), "1024\n");
	EXPECT_EQ(fr.read("proc/sys/net/ipv4/ip_local_port_range"), "1024 65535\n");
}

TEST(FileRead, ReadsRegularFilesOnlyAndSaysWhy)
{
	test::FakeRoot fr(2);
	fr.write("small", "hello\n");
	fr.write("big", std::string(100, 'x'));
	std::string fifo = fr.dir() + "/fifo";
	ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);

	std::string e;
	int n = -1;
	auto ok = read_regular_file(fr.dir() + "/small", 100, &e, &n);
	ASSERT_TRUE(ok);
	EXPECT_EQ(*ok, "hello\n");
	EXPECT_EQ(n, 0);

	struct Case {
		std::string path;
		std::string reason;
		int error_number;
	} cases[] = {
		{fifo, "is a FIFO", EINVAL}, // must not block
		{fr.dir(), "is a directory", EISDIR},
		{"/dev/null", "is a device", EINVAL},
		{fr.dir() + "/big", "larger than 99 bytes", EFBIG},
		{fr.dir() + "/none", "No such file or directory", ENOENT},
		{"/proc/self/mem", "Input/output error", EIO}, // regular, but read() fails
	};
	for (const auto &c : cases) {
		std::size_t cap = c.error_number == EFBIG ? 99 : 4096;
		EXPECT_FALSE(read_regular_file(c.path, cap, &e, &n)) << c.path;
		EXPECT_EQ(e, c.path + ": " + c.reason);
		EXPECT_EQ(n, c.error_number) << c.path;
	}
}

TEST(Excerpt, ShortOneLineAndWholeCharacters)
{
	EXPECT_EQ(excerpt("eth0"), "eth0");
	EXPECT_EQ(excerpt("a\nb\tc\x1b"), "a\\nb\\tc\\x1b");
	EXPECT_EQ(excerpt(std::string(100, 'k')), std::string(80, 'k') + "... (100 bytes)");
	// 81 two-byte characters: 80 of them, none cut in half.
	std::string e = "";
	for (int i = 0; i < 81; i++)
		e += "\xc3\xa9";
	EXPECT_EQ(excerpt(e), e.substr(0, 160) + "... (162 bytes)");
	EXPECT_EQ(path_excerpt("/etc/p.yaml"), "/etc/p.yaml");
	EXPECT_EQ(path_excerpt("/" + std::string(300, 'd') + "/p.yaml", 20), "..." + std::string(13, 'd') + "/p.yaml");
}
