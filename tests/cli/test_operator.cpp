// SPDX-License-Identifier: GPL-2.0
// The operator commands (issue 12 item 3) on fake trees: profile list,
// recommend, apply/plan JSON reports, status --output, ps, journald
// priorities, tuned overlap warnings, isolated CPUs left out of `all`.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "commands/commands.h"
#include "commands/journal_priority.h"
#include "commands/plan_json.h"
#include "commands/ps.h"
#include "commands/recommend.h"
#include "fake_root.h"
#include "profile/catalog.h"
#include "profile/loader.h"
#include "profile/validate.h"
#include "system/output_file.h"
#include "system/proc_net_tcp.h"
#include "system/state_store.h"
#include "system/tuned.h"
#include "tuning/executor.h"
#include "tuning/tuning.h"

using namespace fsock;
using fsock::test::FakeNic;
using fsock::test::FakeRoot;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

void ship_profiles(FakeRoot &fr)
{
	for (const char *n : {"web-server", "proxy"})
		fr.write(shipped_profile_dir().substr(1) + "/" + n + ".yaml",
			 slurp(std::string(PROFILE_DIR) + "/" + n + ".yaml"));
}

Profile load(FakeRoot &fr, const std::string &yaml, const std::string &file = "profile.yaml")
{
	fr.write(file, yaml);
	Root root(fr.dir());
	Profile p;
	std::ostringstream err;
	EXPECT_EQ(load_checked(root, fr.dir() + "/" + file, &p, err), kExitOk) << err.str();
	return p;
}

Plan plan_for(FakeRoot &fr, const Profile &p)
{
	Root root(fr.dir());
	SysfsModuleControl mod(root);
	return build_plan(root, p, mod);
}

int apply(FakeRoot &fr, const Profile &p, ApplyReport *report)
{
	Root root(fr.dir());
	root.set_command_runner(fr.modprobe_runner());
	SysfsModuleControl mod(root);
	StateStore store(root);
	Plan plan = build_plan(root, p, mod);
	ExecOptions opt;
	opt.report = report;
	std::ostringstream out, err;
	return apply_plan(root, plan, mod, store, opt, out, err);
}

const char *kSysctlOnly = "version: 1\ndescription: test\nsysctl:\n  net.core.somaxconn: 65535\n";

std::string joined(const std::vector<std::string> &v)
{
	std::string s;
	for (const auto &x : v)
		s += x + "\n";
	return s;
}

// The distinct values planned for the RPS masks.
std::set<std::string> rps_values(const Plan &plan)
{
	std::set<std::string> v;
	for (const auto &c : plan.changes)
		if (c.area == "rps")
			v.insert(c.next);
	return v;
}

} // namespace

// --- 1. profile list and description ---

TEST(ProfileList, SourcesOverridesBootProfileAndActive)
{
	FakeRoot fr(2);
	ship_profiles(fr);
	fr.write("etc/fastsocket/profiles/web-server.yaml",
		 "version: 1\ninclude: " + fr.dir() + "/" + shipped_profile_dir().substr(1) +
			 "/web-server.yaml\ndescription: Our web servers\n");
	fr.write("etc/fastsocket/profile.yaml", "version: 1\ninclude: proxy\n");
	fr.write("etc/fastsocket/profiles/broken.yaml", "version: 7\n");
	Root root(fr.dir());
	Profile p;
	std::ostringstream err;
	ASSERT_EQ(load_checked(root, "proxy", &p, err), kExitOk) << err.str();
	ApplyReport rep;
	ASSERT_EQ(apply(fr, p, &rep), 0);
	EXPECT_EQ(rep.module_action, "loaded");

	Catalog c = list_profiles(root);
	ASSERT_EQ(c.entries.size(), 5u);
	std::map<std::string, const CatalogEntry *> by;
	for (const auto &e : c.entries)
		by[e.source + ":" + e.name] = &e;
	ASSERT_TRUE(by.count("etc:web-server"));
	EXPECT_EQ(by["etc:web-server"]->description, "Our web servers");
	EXPECT_FALSE(by["etc:web-server"]->overridden);
	ASSERT_TRUE(by.count("shipped:web-server"));
	EXPECT_TRUE(by["shipped:web-server"]->overridden);
	EXPECT_EQ(by["shipped:proxy"]->description, "Reverse proxy, inbound and outbound short-lived connections");
	EXPECT_TRUE(by["shipped:proxy"]->active);
	EXPECT_FALSE(by["etc:web-server"]->active);
	EXPECT_FALSE(by["etc:broken"]->error.empty());
	ASSERT_TRUE(by.count("boot:profile"));
	EXPECT_EQ(c.active_profile, "proxy");
}

TEST(ProfileList, UnreadableStateIsReported)
{
	FakeRoot fr(2);
	fr.write("var/lib/fastsocket/saved.json", "{not json");
	Catalog c = list_profiles(Root(fr.dir()));
	EXPECT_FALSE(c.state_error.empty());
	EXPECT_TRUE(c.active_profile.empty());
}

TEST(ProfileDescription, ShippedProfilesHaveOne)
{
	for (const auto &e : fs::directory_iterator(PROFILE_DIR)) {
		Root root("/");
		ProfileLoader loader(root);
		loader.set_search_dirs({PROFILE_DIR});
		Profile p;
		std::vector<Diagnostic> d;
		ASSERT_TRUE(load_profile(loader, e.path().string(), &p, &d)) << e.path();
		EXPECT_FALSE(p.description.empty()) << e.path();
	}
}

TEST(ProfileDescription, BadValuesAreRefused)
{
	FakeRoot fr(2);
	Root root(fr.dir());
	for (const std::string &bad : std::vector<std::string>{"description: [a, b]\n", "description: {a: 1}\n",
							       "description: " + std::string(4097, 'x') + "\n"}) {
		fr.write("bad.yaml", "version: 1\n" + bad);
		Profile p;
		std::ostringstream err;
		EXPECT_EQ(load_checked(root, fr.dir() + "/bad.yaml", &p, err), kExitInvalid) << bad;
		EXPECT_TRUE(err.str().find("description") != std::string::npos ||
			    err.str().find("longer than 4096 bytes") != std::string::npos)
			<< err.str();
	}
}

TEST(ProfileList, DescriptionShownAsOneShortLine)
{
	FakeRoot fr(2);
	fr.write("etc/fastsocket/profiles/multi.yaml", "version: 1\ndescription: |\n  line one\n  line two\n");
	fr.write("etc/fastsocket/profiles/long.yaml", "version: 1\ndescription: " + std::string(4000, 'd') + "\n");
	fr.write("etc/fastsocket/profiles/ctl.yaml", "version: 1\ndescription: \"a\\tb\\x1b[31m\"\n");
	fr.write("etc/fastsocket/profiles/not-a-profile.txt", "x");
	Catalog c = list_profiles(Root(fr.dir()));
	ASSERT_EQ(c.entries.size(), 3u);
	EXPECT_EQ(c.entries[0].name, "ctl");
	EXPECT_EQ(c.entries[0].description, "a\\tb\\x1b[31m");
	EXPECT_EQ(c.entries[1].description, std::string(kMaxDescriptionShown, 'd') + "... (4000 bytes)");
	EXPECT_EQ(c.entries[2].description, "line one ...");
}

// --- 2. recommend ---

TEST(Recommend, ProxyWhenHaproxyRuns)
{
	FakeRoot fr(4);
	FakeNic n;
	n.rx = 1;
	fr.add_nic(n);
	fr.add_process(300, "haproxy");
	fr.add_process(301, "nginx");
	Recommendation r = recommend(Root(fr.dir()));
	EXPECT_EQ(r.profile, "proxy");
	std::string why = joined(r.reasons);
	EXPECT_NE(why.find("haproxy running"), std::string::npos) << why;
	EXPECT_NE(why.find("eth0 has 1 rx queue(s) for 4 online CPUs: RPS"), std::string::npos) << why;
	EXPECT_EQ(r.servers.size(), 2u);
	EXPECT_EQ(recommendation_json(r)["profile"], "proxy");
}

TEST(Recommend, WebServerForNginxAndNumaNote)
{
	FakeRoot fr(4);
	fr.add_numa_node(1, "2-3");
	FakeNic n;
	n.rx = 4;
	n.numa_node = 1;
	fr.add_nic(n);
	fr.add_process(300, "nginx");
	Recommendation r = recommend(Root(fr.dir()));
	EXPECT_EQ(r.profile, "web-server");
	std::string why = joined(r.reasons);
	EXPECT_NE(why.find("proxy_pass"), std::string::npos) << why;
	EXPECT_NE(why.find("2 NUMA nodes; NICs on node(s) 1"), std::string::npos) << why;
	EXPECT_NE(why.find("one queue IRQ per CPU"), std::string::npos) << why;
}

TEST(Recommend, NothingKnownRunsAndHostileProc)
{
	FakeRoot fr(2);
	fr.add_process(300, "nginx-not");
	fr.write("proc/12a/comm", "haproxy\n");		     // not a pid
	fr.write("proc/0400/comm", "haproxy\n");		     // not how the kernel writes pids
	fr.write("proc/301/comm", std::string(100, 'h') + "\n"); // longer than any comm: skipped
	fr.write("proc/99999999/comm", "haproxy\n");		     // above PID_MAX_LIMIT
	Recommendation r = recommend(Root(fr.dir()));
	EXPECT_EQ(r.profile, "web-server");
	EXPECT_TRUE(r.servers.empty());
	EXPECT_NE(joined(r.reasons).find("no physical NIC"), std::string::npos);
}

// --- 3. apply / plan JSON ---

TEST(ApplyReport, ChangedThenNothingToDo)
{
	FakeRoot fr(2);
	Profile p = load(fr, kSysctlOnly);
	ApplyReport first;
	ASSERT_EQ(apply(fr, p, &first), 0);
	EXPECT_TRUE(first.changed);
	ASSERT_EQ(first.written.size(), 1u);
	Plan plan = plan_for(fr, p);
	nlohmann::json j = apply_json(plan, first, 0);
	EXPECT_EQ(j["changed"], true);
	EXPECT_EQ(j["changes"][0]["path"], "/proc/sys/net/core/somaxconn");
	EXPECT_EQ(j["changes"][0]["old"], "4096");
	EXPECT_EQ(j["changes"][0]["new"], "65535");

	ApplyReport second;
	ASSERT_EQ(apply(fr, p, &second), 0);
	EXPECT_FALSE(second.changed);
	EXPECT_TRUE(second.written.empty());
	EXPECT_EQ(plan_json(plan)["changed"], false);
}

TEST(PlanJson, ListsPendingChanges)
{
	FakeRoot fr(2);
	Plan plan = plan_for(fr, load(fr, kSysctlOnly));
	nlohmann::json j = plan_json(plan);
	EXPECT_EQ(j["changed"], true);
	EXPECT_EQ(j["pending"], 1);
	ASSERT_EQ(j["changes"].size(), 1u);
	EXPECT_EQ(j["changes"][0]["target"], "net.core.somaxconn");
	EXPECT_EQ(j["changes"][0]["pending"], true);
}

// --- 4. status --output ---

TEST(OutputFile, AtomicMode0644WhateverTheUmask)
{
	FakeRoot fr(1);
	std::string f = fr.dir() + "/fastsocket.prom";
	mode_t old = ::umask(077);
	int e = write_output_file(f, "a 1\n");
	::umask(old);
	ASSERT_EQ(e, 0);
	EXPECT_EQ(fr.read("fastsocket.prom"), "a 1\n");
	struct stat st;
	ASSERT_EQ(::stat(f.c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0644u);
	ASSERT_EQ(write_output_file(f, "a 2\n"), 0);
	EXPECT_EQ(fr.read("fastsocket.prom"), "a 2\n");
	for (const auto &ent : fs::directory_iterator(fr.dir()))
		EXPECT_EQ(ent.path().filename().string().find(".tmp."), std::string::npos) << ent.path();
	EXPECT_EQ(write_output_file(fr.dir() + "/missing/x.prom", "x"), ENOENT);
	EXPECT_EQ(write_output_file(fr.dir() + "/", "x"), EISDIR);
	fr.write("file", "");
	EXPECT_EQ(write_output_file(fr.dir() + "/file/x.prom", "x"), ENOTDIR);
}

// --- 5. ps ---

TEST(ProcNetTcp, ParsesV4V6AndCountsBadLines)
{
	TcpTable t;
	parse_proc_net_tcp("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
			   "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0  0 4242 1 0 100 0 0 10 0\n"
			   "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0  0 12x4 1\n"
			   "   2: 0100007G:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0  0 5 1\n"
			   "   3: 0100007F:11F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0  0 5 1\n"
			   "garbage\n"
			   "   4: 0100007F:0050 00000000:0000 01 00000000:00000000 00:00000000 00000000  0  0 77 1\n",
			   false, &t);
	ASSERT_EQ(t.sockets.size(), 2u);
	EXPECT_EQ(t.bad_lines, 4u);
	EXPECT_EQ(t.sockets[0].endpoint(), "127.0.0.1:8080");
	EXPECT_EQ(t.sockets[0].state, kTcpListen);
	EXPECT_EQ(t.sockets[0].inode, 4242u);
	EXPECT_EQ(t.sockets[1].state, 1u);
	TcpTable t6;
	parse_proc_net_tcp("header\n   0: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A "
			   "00000000:00000000 00:00000000 00000000 0 0 9 1\n"
			   "   1: 0000000000000000000000000100000:01BB 00000000000000000000000000000000:0000 0A "
			   "00000000:00000000 00:00000000 00000000 0 0 9 1\n",
			   true, &t6);
	ASSERT_EQ(t6.sockets.size(), 1u);
	EXPECT_EQ(t6.sockets[0].endpoint(), "[::1]:443");
	EXPECT_EQ(t6.bad_lines, 1u);
}

TEST(Ps, ListsLibraryUsersTheirListenersAndModuleGroups)
{
	FakeRoot fr(2);
	fr.add_process(500, "haproxy");
	fr.write("proc/500/maps", "55d0-55d1 r-xp 0 08:01 1 /usr/sbin/haproxy\n"
				  "7f00-7f01 r-xp 0 08:01 2 /usr/lib/x86_64-linux-gnu/libfsocket.so (deleted)\n");
	fs::create_directories(fr.dir() + "/proc/500/fd");
	ASSERT_EQ(::symlink("socket:[4242]", (fr.dir() + "/proc/500/fd/5").c_str()), 0);
	ASSERT_EQ(::symlink("socket:[5555]", (fr.dir() + "/proc/500/fd/6").c_str()), 0); // established
	ASSERT_EQ(::symlink("socket:[12x]", (fr.dir() + "/proc/500/fd/7").c_str()), 0);	// hostile
	ASSERT_EQ(::symlink("/dev/null", (fr.dir() + "/proc/500/fd/0").c_str()), 0);
	fr.add_process(501, "nginx"); // no library: not listed
	fr.write("proc/501/maps", "7f00-7f01 r-xp 0 08:01 2 /usr/lib/libfsocket.so.bak\n");
	const std::string hdr = "  sl  local_address rem_address   st\n";
	fr.write("proc/net/tcp", hdr + "   0: 00000000:0050 00000000:0000 0A 0:0 0:0 0 0 0 4242 1\n"
				     "   1: 0100007F:0050 0100007F:9C40 01 0:0 0:0 0 0 0 5555 1\n");
	fr.write("proc/net/tcp6", hdr);
	fr.write("proc/fastsocket/listeners", "# fastsocket listeners v1\n"
					      "netns=4026531840 addr=0.0.0.0:80 pids=499,500 backlog=511 queued=0 cpus=0-1 "
					      "cpu0=5 cpu1=7\n"
					      "netns=4026531840 addr=0.0.0.0:81 pids=5000 backlog=511 queued=0 cpus=0\n");
	PsReport r = build_ps(Root(fr.dir()));
	ASSERT_EQ(r.processes.size(), 1u);
	const PsProcess &p = r.processes[0];
	EXPECT_EQ(p.pid, 500u);
	EXPECT_EQ(p.library, "/usr/lib/x86_64-linux-gnu/libfsocket.so");
	ASSERT_EQ(p.listening.size(), 1u);
	EXPECT_EQ(p.listening[0].endpoint(), "0.0.0.0:80");
	ASSERT_EQ(p.module_groups.size(), 1u);
	std::ostringstream text;
	render_ps_text(r, text);
	EXPECT_NE(text.str().find("module: 0.0.0.0:80 pids 499,500 cpus 0-1 cpu0=5 cpu1=7"), std::string::npos)
		<< text.str();
	EXPECT_NE(text.str().find("library: no counters file"), std::string::npos);
	nlohmann::json j = ps_json(r);
	EXPECT_EQ(j["processes"][0]["module_listeners"][0]["per_cpu"]["1"], 7);
	EXPECT_EQ(j["module_loaded"], true);
}

TEST(Ps, OneSocketTablePerNetworkNamespace)
{
	FakeRoot fr(2);
	const std::string hdr = "  sl  local_address rem_address   st\n";
	fr.write("proc/net/tcp", hdr + "   0: 00000000:0050 00000000:0000 0A 0:0 0:0 0 0 0 11 1\n   1: junk\n");
	fr.write("proc/600/net/tcp", hdr + "   0: 00000000:1F90 00000000:0000 0A 0:0 0:0 0 0 0 12 1\n");
	for (int pid : {500, 501, 600}) {
		fr.add_process(pid, "nginx");
		fr.write("proc/" + std::to_string(pid) + "/maps", "7f00-7f01 r-xp 0 08:01 2 /usr/lib/libfsocket.so\n");
		fs::create_directories(fr.dir() + "/proc/" + std::to_string(pid) + "/fd");
		std::string ino = pid == 600 ? "12" : "11";
		ASSERT_EQ(::symlink(("socket:[" + ino + "]").c_str(),
				    (fr.dir() + "/proc/" + std::to_string(pid) + "/fd/3").c_str()),
			  0);
	}
	fs::create_directories(fr.dir() + "/proc/600/ns");
	ASSERT_EQ(::symlink("net:[4026532001]", (fr.dir() + "/proc/600/ns/net").c_str()), 0);
	PsReport r = build_ps(Root(fr.dir()));
	ASSERT_EQ(r.processes.size(), 3u);
	EXPECT_EQ(r.processes[0].listening.at(0).endpoint(), "0.0.0.0:80");
	EXPECT_EQ(r.processes[1].listening.at(0).endpoint(), "0.0.0.0:80");
	EXPECT_EQ(r.processes[2].listening.at(0).endpoint(), "0.0.0.0:8080"); // its own namespace
	ASSERT_EQ(r.warnings.size(), 1u) << joined(r.warnings);		 // read once for 500 and 501
	EXPECT_NE(r.warnings[0].find("1 malformed line(s) in /proc/net/tcp{,6}"), std::string::npos);
}

TEST(Ps, PidListsAreMatchedExactly)
{
	EXPECT_TRUE(pid_list_contains("1,500,7", 500));
	EXPECT_FALSE(pid_list_contains("5000,50", 500));
	EXPECT_FALSE(pid_list_contains("-", 500));
	EXPECT_FALSE(pid_list_contains("500x,99999999999999999999", 500));
	EXPECT_FALSE(pid_list_contains("", 0));
}

// --- 6. journald priorities ---

TEST(Journal, StreamMustMatchTheFdExactly)
{
	FakeRoot fr(1);
	std::string f = fr.dir() + "/stream";
	int fd = ::open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	struct stat st;
	ASSERT_EQ(::fstat(fd, &st), 0);
	std::string good = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
	EXPECT_TRUE(journal_stream_matches(good.c_str(), fd));
	for (const std::string &bad : std::vector<std::string>{"", ":", std::to_string(st.st_dev) + ":",
				       std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1),
				       "-" + good, good + " ", "99999999999999999999999:1", std::string(100, '1') + ":1"})
		EXPECT_FALSE(journal_stream_matches(bad.c_str(), fd)) << bad;
	EXPECT_FALSE(journal_stream_matches(nullptr, fd));
	::close(fd);
}

TEST(Journal, WarningAndErrorLinesGetPriorities)
{
	std::ostringstream sink;
	{
		JournalPriorityFilter f(sink);
		sink << "warning: tuned also sets x\nplain line\n"
		     << "error: cannot write\n"
		     << "a warning: in the middle\nerror: no newline";
	}
	EXPECT_EQ(sink.str(), "<4>warning: tuned also sets x\nplain line\n<3>error: cannot write\n"
			      "a warning: in the middle\n<3>error: no newline");
	sink << "after\n"; // the original buffer is back
	EXPECT_NE(sink.str().find("after\n"), std::string::npos);
}

// --- 7. tuned ---

namespace {

void run_tuned(FakeRoot &fr, const std::string &profile, const std::string &conf)
{
	fr.write("etc/tuned/active_profile", profile + "\n");
	fr.write("run/tuned/tuned.pid", "777\n");
	fr.add_process(777, "tuned");
	fr.write("usr/lib/tuned/" + profile + "/tuned.conf", conf);
}

} // namespace

TEST(Tuned, WarnsAboutSharedSysctlsIrqAndRps)
{
	FakeRoot fr(2);
	fr.add_nic(FakeNic());
	run_tuned(fr, "throughput-performance",
		  "[main]\nsummary=Broadly applicable tuning\ninclude=base-net\n\n[cpu]\ngovernor=performance\n"
		  "[sysctl]\nnet/core/somaxconn=2048\nkernel.sched_min_granularity_ns=10000000\n");
	fr.write("etc/tuned/base-net/tuned.conf",
		 "[my_irqs]\ntype=irqbalance\nbanned_cpus=0\n[sysfs]\n/sys/class/net/*/queues/rx-*/rps_cpus=3\n");
	Plan plan = plan_for(fr, load(fr, "version: 1\nrps: {cpus: all}\nirq: {cpus: all}\nsysctl:\n"
					   "  net.core.somaxconn: 65535\n  net.ipv4.tcp_fin_timeout: 15\n"));
	std::string w = joined(plan.warnings);
	EXPECT_NE(w.find("tuned runs profile throughput-performance which also sets net.core.somaxconn "
			 "(/usr/lib/tuned/throughput-performance/tuned.conf)"),
		  std::string::npos)
		<< w;
	EXPECT_EQ(w.find("tcp_fin_timeout"), std::string::npos) << w;
	EXPECT_NE(w.find("also sets IRQ affinity (/etc/tuned/base-net/tuned.conf)"), std::string::npos) << w;
	EXPECT_NE(w.find("also writes RPS/XPS/RFS queue files (/etc/tuned/base-net/tuned.conf)"), std::string::npos)
		<< w;
}

TEST(Tuned, NoWarningWhenNotRunningOrNoOverlap)
{
	FakeRoot fr(2);
	fr.write("etc/tuned/active_profile", "virtual-guest\n");
	fr.write("usr/lib/tuned/virtual-guest/tuned.conf", "[sysctl]\nnet.core.somaxconn=2048\n");
	Profile p = load(fr, kSysctlOnly);
	EXPECT_EQ(joined(plan_for(fr, p).warnings).find("tuned"), std::string::npos); // not running
	fr.add_process(778, "tuned");
	EXPECT_NE(joined(plan_for(fr, p).warnings).find("tuned runs profile virtual-guest"), std::string::npos);
	fr.write("usr/lib/tuned/virtual-guest/tuned.conf", "[sysctl]\nvm.dirty_ratio=30\n");
	EXPECT_EQ(joined(plan_for(fr, p).warnings).find("tuned"), std::string::npos); // no overlap
}

TEST(Tuned, HostileNamesIncludeLoopsAndBigFiles)
{
	FakeRoot fr(2);
	run_tuned(fr, "a", "[main]\ninclude=b, ../../../etc\n[sysctl]\nnet.core.somaxconn=1\n");
	fr.write("usr/lib/tuned/b/tuned.conf", "[main]\ninclude=a\n[broken\n");
	fr.write("etc/tuned/active_profile", "a ../x " + std::string(65, 'n') + "\n");
	Plan plan = plan_for(fr, load(fr, kSysctlOnly));
	std::string w = joined(plan.warnings);
	EXPECT_NE(w.find("'../x' is not a tuned profile name"), std::string::npos) << w;
	EXPECT_NE(w.find("tuned include '../../../etc' is not a profile name"), std::string::npos) << w;
	EXPECT_NE(w.find("'[broken' is not a section header"), std::string::npos) << w;
	EXPECT_NE(w.find("also sets net.core.somaxconn"), std::string::npos) << w; // the a <-> b loop ends
	fr.write("usr/lib/tuned/a/tuned.conf", "[sysctl]\n" + std::string(kTunedMaxConfBytes, '#') + "\n");
	w = joined(plan_for(fr, load(fr, kSysctlOnly)).warnings);
	EXPECT_NE(w.find("larger than"), std::string::npos) << w;
	EXPECT_TRUE(valid_tuned_name("network-latency"));
	EXPECT_FALSE(valid_tuned_name(".."));
	EXPECT_FALSE(valid_tuned_name("a/b"));
	EXPECT_FALSE(valid_tuned_name(""));
}

// --- 8. isolated / nohz_full CPUs ---

TEST(Isolated, LeftOutOfAllWithAPlanNote)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	fr.write("sys/devices/system/cpu/isolated", "2\n");
	fr.write("sys/devices/system/cpu/nohz_full", "3\n");
	Plan plan = plan_for(fr, load(fr, "version: 1\nrps: {cpus: all}\n"));
	EXPECT_EQ(rps_values(plan), std::set<std::string>{"3\n"}); // CPUs 0-1
	std::string n = joined(plan.notes);
	EXPECT_NE(n.find("cpus: isolated/nohz_full CPUs 2-3 (/sys/devices/system/cpu/isolated, "
			 "/sys/devices/system/cpu/nohz_full) are left out of `all` and `numa-local`: using 0-1"),
		  std::string::npos)
		<< n;
	// An explicit list is the operator's choice: kept.
	Plan listed = plan_for(fr, load(fr, "version: 1\nrps: {cpus: 0-3}\n"));
	EXPECT_EQ(rps_values(listed), std::set<std::string>{"f\n"});
	EXPECT_TRUE(listed.notes.empty());
}

TEST(Isolated, CmdlineFallbackAndBadValues)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	fr.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz ro isolcpus=domain,managed_irq,1 quiet\n");
	Profile p = load(fr, "version: 1\nrps: {cpus: all}\n");
	EXPECT_EQ(rps_values(plan_for(fr, p)), std::set<std::string>{"d\n"}); // 0,2,3
	fr.write("proc/cmdline", "isolcpus=domain nohz_full=1-x\n");
	Plan plan = plan_for(fr, p);
	EXPECT_EQ(rps_values(plan), std::set<std::string>{"f\n"});
	std::string w = joined(plan.warnings);
	EXPECT_NE(w.find("isolcpus='domain' names no CPU"), std::string::npos) << w;
	EXPECT_NE(w.find("'1-x' is not a CPU number"), std::string::npos) << w;
	// sysfs wins over the command line; "(null)" is nohz_full's "none".
	fr.write("proc/cmdline", "isolcpus=1\n");
	fr.write("sys/devices/system/cpu/nohz_full", "(null)\n");
	EXPECT_EQ(rps_values(plan_for(fr, p)), std::set<std::string>{"f\n"});
	// Every CPU isolated: `all` keeps them, with a warning.
	fr.write("sys/devices/system/cpu/isolated", "0-3\n");
	plan = plan_for(fr, p);
	EXPECT_NE(joined(plan.warnings).find("every online CPU is isolated"), std::string::npos);
}
