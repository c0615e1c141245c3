// Host tests of libfsocket's receive flow deliver (source port per CPU) and
// fast epoll (no-op EPOLL_CTL_MOD skipped), through rfd-probe under
// LD_PRELOAD.  The host cannot load the module: the library runs its
// user-space back end (kernel >= 6.1), RFD switched on with FASTSOCKET_RFD.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "proc_util.h"

using fstest::field;

namespace {

struct Out {
	int rc;
	std::string out, err;
};

Out probe(const std::vector<std::string> &args, std::map<std::string, std::string> env)
{
	Out o;
	std::vector<std::string> argv{RFD_PROBE};
	argv.insert(argv.end(), args.begin(), args.end());
	env["LD_PRELOAD"] = FSLIB_PATH;
	o.rc = fstest::run(argv, env, &o.out, &o.err, 120);
	return o;
}

long num(const std::string &line, const std::string &key)
{
	std::string v = field(line, key);
	EXPECT_FALSE(v.empty()) << key << " missing in: " << line;
	return v.empty() ? -1 : std::atol(v.c_str());
}

void skip_without_backend()
{
	if (!fstest::kernel_at_least(6, 1) && access("/dev/fastsocket", R_OK | W_OK) != 0)
		GTEST_SKIP() << "no module and kernel < 6.1: the library passes through";
}

}  // namespace

TEST(Rfd, SourcePortEncodesTheWorkerCpuIPv4AndIPv6)
{
	skip_without_backend();
	for (const char *fam : {"", "-6"}) {
		std::vector<std::string> a{"-n", "150"};
		if (*fam)
			a.push_back(fam);
		Out o = probe(a, {{"FASTSOCKET_RFD", "1"}});
		ASSERT_EQ(o.rc, 0) << o.err;
		long conns = num(o.out, "conns");
		EXPECT_GT(conns, 0) << o.out;
		EXPECT_EQ(num(o.out, "failures"), 0) << o.out;
		EXPECT_EQ(num(o.out, "rule_ok"), conns) << fam << " " << o.out;
		EXPECT_EQ(num(o.out, "in_range"), conns) << o.out;
	}
}

TEST(Rfd, OffByDefaultWithoutTheModuleParameter)
{
	skip_without_backend();
	if (access("/sys/module/fastsocket", F_OK) == 0)
		GTEST_SKIP() << "module loaded: its parameter decides";
	std::string dir = fstest::make_tempdir("rfd");
	Out o = probe({"-n", "150"}, {{"FASTSOCKET_RFD", ""},
				      {"FASTSOCKET_STATS_FILE", dir + "/stats"}});
	ASSERT_EQ(o.rc, 0) << o.err;
	EXPECT_EQ(num(fstest::slurp(dir + "/stats"), "rfd_bound"), 0);
}

TEST(Rfd, ExplicitBindIsHonoured)
{
	skip_without_backend();
	std::string dir = fstest::make_tempdir("rfd");
	Out o = probe({"-n", "100", "-b"}, {{"FASTSOCKET_RFD", "1"},
					   {"FASTSOCKET_STATS_FILE", dir + "/stats"}});
	ASSERT_EQ(o.rc, 0) << o.err;
	std::string st = fstest::slurp(dir + "/stats");
	EXPECT_EQ(num(st, "rfd_bound"), 0) << st;
	EXPECT_EQ(num(st, "rfd_explicit"), num(o.out, "conns")) << st << o.out;
}

TEST(FastEpoll, NoOpModIsSkippedAndSemanticsKept)
{
	skip_without_backend();
	std::string dir = fstest::make_tempdir("fe");
	Out o = probe({"-e"}, {{"FASTSOCKET_STATS_FILE", dir + "/stats"}});
	ASSERT_EQ(o.rc, 0) << o.err;
	EXPECT_EQ(num(o.out, "ready"), 1) << o.out;
	EXPECT_EQ(num(o.out, "reused_mod_rc"), -1) << o.out;
	EXPECT_EQ(num(o.out, "reused_mod_errno"), 2) << o.out; /* ENOENT */
	std::string st = fstest::slurp(dir + "/stats");
	EXPECT_EQ(num(st, "epoll_skip"), 1001) << st;
	EXPECT_EQ(num(st, "epoll_mod"), 15) << st;

	o = probe({"-e"}, {{"FASTSOCKET_STATS_FILE", dir + "/stats2"},
			   {"FASTSOCKET_FAST_EPOLL", "0"}});
	ASSERT_EQ(o.rc, 0) << o.err;
	st = fstest::slurp(dir + "/stats2");
	EXPECT_EQ(num(st, "epoll_skip"), 0) << st;
}
