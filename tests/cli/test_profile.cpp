// SPDX-License-Identifier: GPL-2.0
// Profiles: the shipped ones, include order and cycles, /etc overriding the
// shipped directory, and the corpus of bad profiles with exact messages.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fstream>
#include <sstream>

#include "commands/commands.h"
#include "fake_root.h"
#include "profile/schema.h"
#include "profile/validate.h"

using namespace fsock;

namespace {

std::string slurp(const std::string &p)
{
	std::ifstream in(p);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

std::string replace_all(std::string s, const std::string &from, const std::string &to)
{
	for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
		s.replace(p, from.size(), to);
	return s;
}

long param(const Profile &p, const std::string &name)
{
	for (const auto &kv : p.module.params)
		if (kv.first == name)
			return kv.second;
	return -1;
}

std::string sysctl(const Profile &p, const std::string &name)
{
	for (const auto &kv : p.sysctl)
		if (kv.first == name)
			return kv.second;
	return "";
}

} // namespace

TEST(Profiles, ShippedProfilesAreValid)
{
	Root root("/");
	for (const char *name : {"web-server", "proxy"}) {
		Profile p;
		std::ostringstream err;
		ASSERT_EQ(load_checked(root, std::string(PROFILE_DIR) + "/" + name + ".yaml", &p, err), kExitOk)
			<< err.str();
		EXPECT_EQ(p.name, name);
		// 1: the safe default; 2 pins workers (docs/benchmarks.md).
		EXPECT_EQ(param(p, "enable_listen_spawn"), 1);
		EXPECT_TRUE(p.rps.enabled);
		EXPECT_TRUE(p.rfs.enabled);
	}
}

TEST(Profiles, ProxyIncludesWebServerAndItsValuesWin)
{
	Root root("/");
	Profile p;
	std::ostringstream err;
	ASSERT_EQ(load_checked(root, std::string(PROFILE_DIR) + "/proxy.yaml", &p, err), kExitOk) << err.str();
	EXPECT_EQ(param(p, "enable_receive_flow_deliver"), 1); // proxy's own
	EXPECT_EQ(param(p, "enable_fast_epoll"), 1);	       // from web-server
	EXPECT_EQ(p.rfs.flow_entries, 65536);		       // proxy wins
	EXPECT_EQ(sysctl(p, "net.core.somaxconn"), "65535");   // inherited
	EXPECT_EQ(sysctl(p, "net.ipv4.ip_local_port_range"), "1024 65535");
	ASSERT_EQ(p.files.size(), 2u);
}

TEST(Profiles, LaterIncludeWinsAndOwnValuesWinOverIncludes)
{
	test::FakeRoot fr(2);
	fr.write("p/a.yaml", "version: 1\nrfs:\n  flow_entries: 1024\nsysctl:\n  net.core.somaxconn: 1\n");
	fr.write("p/b.yaml", "version: 1\nrfs:\n  flow_entries: 2048\n");
	fr.write("p/top.yaml", "version: 1\ninclude: [a.yaml, b.yaml]\nsysctl:\n  net.core.somaxconn: 3\n");
	Root root(fr.dir());
	Profile p;
	std::ostringstream err;
	ASSERT_EQ(load_checked(root, fr.dir() + "/p/top.yaml", &p, err), kExitOk) << err.str();
	EXPECT_EQ(p.rfs.flow_entries, 2048);
	EXPECT_EQ(sysctl(p, "net.core.somaxconn"), "3");
}

TEST(Profiles, IncludeCycleIsReported)
{
	test::FakeRoot fr(2);
	fr.write("p/a.yaml", "version: 1\ninclude: b.yaml\n");
	fr.write("p/b.yaml", "version: 1\ninclude: c.yaml\n");
	fr.write("p/c.yaml", "version: 1\ninclude: a.yaml\n");
	Root root(fr.dir());
	Profile p;
	std::ostringstream err;
	EXPECT_EQ(load_checked(root, fr.dir() + "/p/a.yaml", &p, err), kExitInvalid);
	EXPECT_EQ(replace_all(err.str(), fr.dir() + "/p/", ""),
		  "c.yaml:2:10: include: include cycle: a.yaml -> b.yaml -> c.yaml -> a.yaml\n");
}

TEST(Profiles, EtcOverridesShippedProfileOfTheSameName)
{
	test::FakeRoot fr(2);
	Root root(fr.dir());
	ProfileLoader loader(root);
	// The shipped directory (the build's datadir) inside the root.
	std::string shipped = loader.search_dirs().back();
	fr.write(shipped.substr(fr.dir().size() + 1) + "/web.yaml", "version: 1\ndescription: shipped\n");
	Profile p;
	std::ostringstream e;
	ASSERT_EQ(load_checked(root, "web", &p, e), kExitOk) << e.str();
	EXPECT_EQ(p.description, "shipped");
	// The user's copy extends the shipped one by including its own name.
	fr.write("etc/fastsocket/profiles/web.yaml", "version: 1\ninclude: web\ndescription: mine\n");
	ASSERT_EQ(load_checked(root, "web", &p, e), kExitOk) << e.str();
	EXPECT_EQ(p.description, "mine");
	EXPECT_EQ(p.files.size(), 2u);
}

TEST(Profiles, MissingProfileIsAnOperationalError)
{
	test::FakeRoot fr(2);
	Root root(fr.dir());
	Profile p;
	std::ostringstream err;
	EXPECT_EQ(load_checked(root, "no-such-profile", &p, err), kExitFailure);
	EXPECT_NE(err.str().find("no profile named 'no-such-profile'"), std::string::npos) << err.str();
}

TEST(Profiles, NearestKeySuggestion)
{
	EXPECT_EQ(nearest("enable_listen_spwn", {"enable_listen_spawn", "enable_fast_epoll"}), "enable_listen_spawn");
	EXPECT_EQ(nearest("tcp_tw_reuse", {"net.ipv4.tcp_tw_reuse", "net.core.somaxconn"}), "net.ipv4.tcp_tw_reuse");
	EXPECT_EQ(nearest("zzzzzz", {"rps", "rfs"}), "");
	EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

// Every tests/cli/bad-profiles/X.yaml must fail with exactly the lines of
// X.expected (file names relative to that directory).
TEST(Profiles, BadProfileCorpus)
{
	std::string dir = BAD_PROFILE_DIR;
	DIR *d = opendir(dir.c_str());
	ASSERT_NE(d, nullptr);
	std::vector<std::string> names;
	while (auto *e = readdir(d)) {
		std::string n = e->d_name;
		if (n.size() > 5 && n.substr(n.size() - 5) == ".yaml" && n.rfind("inc-", 0) != 0)
			names.push_back(n);
	}
	closedir(d);
	ASSERT_GE(names.size(), 10u);
	Root root("/");
	for (const auto &n : names) {
		SCOPED_TRACE(n);
		std::string expected_file = dir + "/" + n.substr(0, n.size() - 5) + ".expected";
		std::string expected = slurp(expected_file);
		ASSERT_FALSE(expected.empty()) << "missing " << expected_file;
		Profile p;
		std::ostringstream err;
		EXPECT_EQ(load_checked(root, dir + "/" + n, &p, err), kExitInvalid);
		EXPECT_EQ(replace_all(err.str(), dir + "/", ""), expected);
	}
}
