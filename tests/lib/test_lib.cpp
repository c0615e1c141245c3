// Host tests of libfsocket.so: the start-up line, pass-through of fds the
// library does not accelerate, fork safety, and real servers (our own epoll
// server, Debian's nginx and haproxy) under LD_PRELOAD on loopback.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "proc_util.h"

using namespace fstest;
using Env = std::map<std::string, std::string>;

namespace {

const std::string kLib = FSLIB_PATH;
const std::string kServer = FSBENCH_SERVER;
const std::string kLoad = FSBENCH_LOAD;
const std::string kProbe = FSOCK_PROBE;

bool module_present() { return access("/dev/fastsocket", F_OK) == 0; }
bool fallback_possible() { return !module_present() && kernel_at_least(6, 1); }
int ncpus() { return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)); }
bool have(const std::string &path) { return access(path.c_str(), X_OK) == 0; }

// A fresh run directory for the slot locks of one test.
std::string rundir()
{
	return make_tempdir("fsock-run");
}

Env preload(const std::string &run, Env extra = {})
{
	// Workers that drop privileges (nginx: nobody) open the slot locks here.
	chmod(run.c_str(), 0755);
	extra["LD_PRELOAD"] = kLib;
	extra["FASTSOCKET_RUNDIR"] = run;
	// Most tests are about local listeners: mode 2 (the library pins the
	// workers) unless the test asks otherwise; the default has its own test.
	if (!extra.count("FASTSOCKET_LISTEN_SPAWN"))
		extra["FASTSOCKET_LISTEN_SPAWN"] = "2";
	// The start-up line is only written to stderr when asked for.
	if (!extra.count("FASTSOCKET_VERBOSE"))
		extra["FASTSOCKET_VERBOSE"] = "1";
	return extra;
}

std::vector<std::string> fs_lines(const std::string &err)
{
	return lines_with(err, "fastsocket: ");
}

// "KEY=VALUE" of a probe's output ("?" if missing).
std::string probe_value(const std::string &out, const std::string &k)
{
	for (const auto &l : lines_with(out, k + "="))
		return field(l, k);
	return "?";
}

struct LoadResult {
	long conns = -1, failures = -1;
	double rate = 0;
	std::string line;
};

LoadResult load(int port, const std::string &how, int threads = 0)
{
	std::string out, err;
	std::vector<std::string> argv = {kLoad, "-p", std::to_string(port)};
	if (how[0] == 'd')
		argv.insert(argv.end(), {"-d", how.substr(1)});
	else
		argv.insert(argv.end(), {"-n", how});
	if (threads)
		argv.insert(argv.end(), {"-t", std::to_string(threads)});
	run(argv, {{"LD_PRELOAD", ""}}, &out, &err, 300);
	LoadResult r;
	auto l = lines_with(out, "conns=");
	if (l.empty())
		return r;
	r.line = l[0];
	r.conns = atol(field(l[0], "conns").c_str());
	r.failures = atol(field(l[0], "failures").c_str());
	r.rate = atof(field(l[0], "rate").c_str());
	return r;
}

struct ServerRun {
	LoadResult load;
	double locality = -1;
	long accepted = -1;
	std::string err;
	std::string stats;
};

// Our own server: workers, under the library or not, n connections.
ServerRun own_server(bool with_lib, const Env &extra, int conns, std::vector<std::string> args = {})
{
	std::string dir = make_tempdir("fsock-srv");
	std::string portfile = dir + "/port";
	std::vector<std::string> argv = {kServer, "-w", std::to_string(ncpus()), "-f", portfile};
	argv.insert(argv.end(), args.begin(), args.end());
	Env env = with_lib ? preload(dir, extra) : Env{{"LD_PRELOAD", ""}};
	Proc p = start(argv, env, dir, "server");
	ServerRun r;
	int port = 0;
	for (int i = 0; i < 500 && port <= 0; i++) {
		port = atoi(slurp(portfile).c_str());
		if (port <= 0)
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	if (port > 0 && wait_port(port)) {
		std::this_thread::sleep_for(std::chrono::milliseconds(200)); // workers up
		r.load = load(port, std::to_string(conns));
	}
	stop(p);
	std::string out = slurp(p.out_path);
	auto l = lines_with(out, "accepted=");
	if (!l.empty()) {
		r.stats = l[0];
		r.accepted = atol(field(l[0], "accepted").c_str());
		r.locality = atof(field(l[0], "locality").c_str());
	}
	r.err = slurp(p.err_path);
	return r;
}

}  // namespace

// ---- the start-up line ----------------------------------------------------

TEST(StartupLine, UserSpaceFallbackWhenModuleAbsent)
{
	if (!fallback_possible())
		GTEST_SKIP() << "module present or kernel < 6.1";
	std::string out, err;
	ASSERT_EQ(run({kProbe, "nothing"}, preload(rundir()), &out, &err), 0);
	auto l = fs_lines(err);
	ASSERT_EQ(l.size(), 1u) << err;
	EXPECT_EQ(err, l[0] + "\n") << "exactly one line on stderr";
	EXPECT_EQ(l[0].rfind("fastsocket: module not loaded (/dev/fastsocket: No such file or directory); "
			     "using user-space listen spawn",
			     0),
		  0u)
		<< l[0];
}

TEST(StartupLine, ModeOffIsPassThrough)
{
	std::string err;
	ASSERT_EQ(run({kProbe, "nothing"}, preload(rundir(), {{"FASTSOCKET_MODE", "off"}}), nullptr, &err), 0);
	EXPECT_EQ(err, "fastsocket: FASTSOCKET_MODE=off; pass-through\n");
}

TEST(StartupLine, ModuleOnlyWithoutModuleIsPassThrough)
{
	if (module_present())
		GTEST_SKIP() << "/dev/fastsocket exists";
	std::string err;
	ASSERT_EQ(run({kProbe, "nothing"}, preload(rundir(), {{"FASTSOCKET_MODE", "module"}}), nullptr, &err), 0);
	EXPECT_EQ(err, "fastsocket: module not loaded (/dev/fastsocket: No such file or directory); "
		       "FASTSOCKET_MODE=module, pass-through\n");
}

TEST(StartupLine, OldKernelIsPassThrough)
{
	if (module_present())
		GTEST_SKIP() << "/dev/fastsocket exists";
	std::string err;
	ASSERT_EQ(run({kProbe, "nothing"},
		      preload(rundir(), {{"FASTSOCKET_KERNEL_RELEASE", "5.10.0-46-amd64"}}), nullptr, &err),
		  0);
	auto l = fs_lines(err);
	ASSERT_EQ(l.size(), 1u) << err;
	EXPECT_NE(l[0].find("kernel 5.10.0-46-amd64 < 6.1"), std::string::npos) << l[0];
	EXPECT_NE(l[0].find("; pass-through"), std::string::npos) << l[0];
}

TEST(StartupLine, ListenSpawnZeroIsPassThrough)
{
	std::string err;
	ASSERT_EQ(run({kProbe, "nothing"}, preload(rundir(), {{"FASTSOCKET_LISTEN_SPAWN", "0"}}), nullptr, &err),
		  0);
	EXPECT_EQ(err, "fastsocket: FASTSOCKET_LISTEN_SPAWN=0; pass-through\n");
}

TEST(StartupLine, BadValuesAreNamedOnTheSameLine)
{
	std::string err;
	ASSERT_EQ(run({kProbe, "nothing"},
		      preload(rundir(), {{"FASTSOCKET_MODE", "turbo"},
					 {"FASTSOCKET_LISTEN_SPAWN", "7"},
					 {"FASTSOCKET_CPUS", "x-y"}}),
		      nullptr, &err),
		  0);
	auto l = fs_lines(err);
	ASSERT_EQ(l.size(), 1u) << err;
	EXPECT_NE(l[0].find("ignored FASTSOCKET_MODE=turbo"), std::string::npos) << l[0];
	EXPECT_NE(l[0].find("ignored FASTSOCKET_LISTEN_SPAWN=7"), std::string::npos) << l[0];
	EXPECT_NE(l[0].find("ignored FASTSOCKET_CPUS=x-y"), std::string::npos) << l[0];
}

TEST(StartupLine, NothingOnTheApplicationsFdsUnlessAsked)
{
	std::string out, err;
	std::string dir = make_tempdir("fsock-log");
	ASSERT_EQ(run({kProbe, "nothing"}, {{"LD_PRELOAD", kLib}}, &out, &err), 0);
	EXPECT_EQ(err, "") << "no FASTSOCKET_VERBOSE: nothing written to fd 2";
	ASSERT_EQ(run({kProbe, "nothing"}, {{"LD_PRELOAD", kLib}, {"FASTSOCKET_LOG_FILE", dir + "/log"}},
		      &out, &err),
		  0);
	EXPECT_EQ(err, "") << "FASTSOCKET_LOG_FILE: diagnostics go there, not to fd 2";
	EXPECT_EQ(fs_lines(slurp(dir + "/log")).size(), 1u) << slurp(dir + "/log");
}

TEST(StartupLine, CpuListIsApplied)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP();
	std::string err;
	ASSERT_EQ(run({kProbe, "nothing"}, preload(rundir(), {{"FASTSOCKET_CPUS", "1"}}), nullptr, &err), 0);
	EXPECT_NE(err.find("CPUs 1, mode 2"), std::string::npos) << err;
}

// Without the module and without FASTSOCKET_LISTEN_SPAWN the mode is 1: the
// library pins nobody (a pinned worker cannot leave a CPU it shares with a
// busy process: docs/benchmarks.md), an unpinned worker keeps the shared
// listener, a worker the application pinned gets its local listener.
TEST(StartupLine, DefaultModeWithoutTheModuleIsOne)
{
	if (!fallback_possible())
		GTEST_SKIP();
	std::string err;
	ASSERT_EQ(run({kProbe, "nothing"}, preload(rundir(), {{"FASTSOCKET_LISTEN_SPAWN", ""}}), nullptr, &err), 0);
	EXPECT_NE(err.find(", mode 1)"), std::string::npos) << err;
}

TEST(OwnServer, DefaultModePinsNoWorker)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP();
	std::string out, err;
	ASSERT_EQ(run({kProbe, "epollops"}, preload(rundir(), {{"FASTSOCKET_LISTEN_SPAWN", ""}}), &out, &err, 60), 0)
		<< out << err;
	EXPECT_NE(out.find("pinned=0\n"), std::string::npos) << "default: the library does not pin\n" << out;
	ServerRun unpinned = own_server(true, {{"FASTSOCKET_LISTEN_SPAWN", ""}}, 2000);
	EXPECT_EQ(unpinned.load.failures, 0) << unpinned.load.line;
	EXPECT_EQ(unpinned.err.find("local listener"), std::string::npos) << unpinned.err;
	ServerRun pinned = own_server(true, {{"FASTSOCKET_LISTEN_SPAWN", ""}}, 2000, {"-P"});
	EXPECT_EQ(pinned.load.failures, 0) << pinned.load.line;
	EXPECT_GE(pinned.locality, 99.0) << pinned.stats;
}

// ---- pass-through ---------------------------------------------------------

TEST(PassThrough, UdpUnixPipeFdsUntouched)
{
	std::string stock, with, err;
	ASSERT_EQ(run({kProbe, "passthrough"}, {{"LD_PRELOAD", ""}}, &stock, nullptr), 0);
	ASSERT_EQ(run({kProbe, "passthrough"}, preload(rundir()), &with, &err), 0) << err;
	EXPECT_EQ(with, stock) << "identical observations with and without the library";
	for (const char *k : {"udp_reuseport=0", "unix_reuseport=0", "epoll_unix=0", "epoll_pipe=0",
			      "epoll_udp=0", "pipe_io=1", "dup2_pipe=1", "extra_fds=0"})
		EXPECT_NE(with.find(k), std::string::npos) << k << " in\n" << with;
	EXPECT_EQ(fs_lines(err).size(), 1u) << err;
}

// ---- fork safety ----------------------------------------------------------

TEST(Fork, ChildDoesNotOwnParentsSlotOrLocalListener)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP() << "needs the user-space fallback and 2 CPUs";
	std::string out, err;
	ASSERT_EQ(run({kProbe, "fork"}, preload(rundir()), &out, &err), 0) << out << err;
	auto get = [&](const std::string &k) { return probe_value(out, k); };
	// Slots are POSIX locks on the listening socket itself (no lock file or
	// memfd), owned by a process: the child does not own the parent's
	// (checked below).
	EXPECT_EQ(get("parent_lock_fds"), "0") << out;
	EXPECT_EQ(get("child_lock_fds"), "0") << out;
	EXPECT_EQ(atoi(get("child_socket_fds").c_str()), atoi(get("parent_socket_fds").c_str()) - 1)
		<< "the child closed its copy of the parent's local listener\n" << out;
	EXPECT_NE(get("child_cpu"), get("parent_cpu")) << "the child took a CPU of its own\n" << out;
	EXPECT_EQ(get("both_slots_taken"), "1") << out;
	EXPECT_EQ(get("parent_slot_after_child_death"), "1") << out;
	EXPECT_EQ(get("child_slot_after_child_death"), "0") << "slot freed by the kernel\n" << out;
	EXPECT_EQ(get("connect_after"), "1") << out;
	EXPECT_EQ(get("accept_after"), "1") << out;
	EXPECT_EQ(fs_lines(err).size(), 1u) << "one start-up line, not one per process\n" << err;
}

// Two listeners, mode 2: a worker the library pins needs its CPU for both.
// Before: P1 took A:0 while H1 held B:0, then P2 took B:0; both pinned to CPU
// 0 with half of it each, as nginx's new workers after a binary upgrade
// (78-92% locality in the VM).  Now a CPU is taken for every listener or none.
TEST(Fork, NoTwoWorkersPinnedToHalvesOfOneCpu)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP() << "needs the user-space fallback and 2 CPUs";
	std::string out, err;
	ASSERT_EQ(run({kProbe, "split"},
		      preload(rundir(), {{"FASTSOCKET_LISTEN_SPAWN", "2"}, {"FASTSOCKET_CPUS", "0,1"},
					 {"FASTSOCKET_VERBOSE", "1"}}),
		      &out, &err, 60), 0) << out << err;
	auto get = [&](const std::string &k) { return probe_value(out, k); };
	EXPECT_EQ(get("h1_cpus"), "1") << out;
	EXPECT_EQ(get("h2_cpus"), "1") << out;
	EXPECT_EQ(get("p1_cpus"), "2") << "P1 could not have CPU 0 for both listeners: not pinned\n" << out << err;
	EXPECT_EQ(get("p2_cpus"), "1") << out;
	EXPECT_EQ(get("p2_cpu"), "0") << out;
	const std::string p1 = "fastsocket[" + get("p1_pid") + "]: ";
	const std::string p2 = "fastsocket[" + get("p2_pid") + "]: ";
	size_t p2_local = 0;
	for (const auto &l : lines_with(err, "fastsocket[")) {
		EXPECT_FALSE(l.rfind(p1, 0) == 0 && l.find("local listener") != std::string::npos) << l;
		if (l.rfind(p2, 0) == 0 && l.find("local listener") != std::string::npos &&
		    l.find("on CPU 0") != std::string::npos)
			p2_local++;
	}
	EXPECT_EQ(p2_local, 2u) << "P2 has CPU 0 for both listeners\n" << err;
	EXPECT_EQ(get("a0_taken"), "1") << out;
	EXPECT_EQ(get("b0_taken"), "1") << out;
}

TEST(Epoll, ModDelReAddAndBlockingAcceptOnSpawnedListener)
{
	if (!fallback_possible())
		GTEST_SKIP() << "needs the user-space fallback";
	std::string out, err;
	ASSERT_EQ(run({kProbe, "epollops"}, preload(rundir()), &out, &err, 60), 0) << out << err;
	std::string stock;
	ASSERT_EQ(run({kProbe, "epollops"}, {{"LD_PRELOAD", ""}}, &stock, nullptr, 60), 0) << stock;
	for (const char *k : {"add=0", "pinned=1", "mod=0", "events_after_mod=1", "del=0", "events_after_del=0",
			      "readd=0", "event_after_readd=44", "accept_after_readd=1", "dup_add_eexist=1",
			      "events_after_dup_add=1", "blocking_accept=1", "close=0", "connect_after_close=0"})
		EXPECT_NE(out.find(std::string(k) + "\n"), std::string::npos) << k << " in\n" << out;
	// Same observable behaviour as without the library, except the pinning.
	EXPECT_EQ(stock.find("pinned=1"), std::string::npos);
}

TEST(Epoll, CpuListChoosesTheWorkersCpu)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP();
	std::string out, err;
	ASSERT_EQ(run({kProbe, "epollops"}, preload(rundir(), {{"FASTSOCKET_CPUS", "1"}}), &out, &err, 60), 0)
		<< out << err;
	EXPECT_NE(out.find("pinned=1\n"), std::string::npos) << out;
	EXPECT_NE(out.find("cpu=1\n"), std::string::npos) << "FASTSOCKET_CPUS=1 pins to CPU 1\n" << out;
}

TEST(Epoll, Mode2KeepsTheCpuTheApplicationChose)
{
	if (!fallback_possible() || ncpus() < 2 || !have("/usr/bin/taskset"))
		GTEST_SKIP();
	std::string out, err;
	ASSERT_EQ(run({"/usr/bin/taskset", "-c", "1", kProbe, "epollops"}, preload(rundir()), &out, &err, 60), 0)
		<< out << err;
	EXPECT_NE(out.find("cpu=1\n"), std::string::npos) << "slot 0 is free, but the worker was on CPU 1\n" << out;
}

TEST(Epoll, Mode1UnpinnedWorkerKeepsTheGlobalListener)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP();
	std::string out, err;
	ASSERT_EQ(run({kProbe, "epollops"}, preload(rundir(), {{"FASTSOCKET_LISTEN_SPAWN", "1"}}), &out, &err, 60),
		  0)
		<< out << err;
	EXPECT_NE(out.find("pinned=0\n"), std::string::npos) << "mode 1: the library does not pin\n" << out;
	EXPECT_NE(out.find("events_after_mod=1\n"), std::string::npos) << out;
	EXPECT_NE(out.find("blocking_accept=1\n"), std::string::npos) << out;
}

// ---- our own epoll server -------------------------------------------------

TEST(OwnServer, LocalityWithUserSpaceFallback)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP() << "needs the user-space fallback (kernel >= 6.1) and 2 CPUs";
	ServerRun stock = own_server(false, {}, 6000);
	ServerRun fs = own_server(true, {}, 6000);
	std::cout << "[ stock ] " << stock.load.line << " | " << stock.stats << "\n"
		  << "[ fsock ] " << fs.load.line << " | " << fs.stats << "\n";
	EXPECT_EQ(stock.load.failures, 0) << stock.load.line;
	EXPECT_EQ(fs.load.conns, 6000) << fs.load.line;
	EXPECT_EQ(fs.load.failures, 0) << fs.load.line;
	EXPECT_GE(fs.accepted, 6000) << fs.stats; // + the readiness probe
	EXPECT_GE(fs.locality, 99.0) << fs.stats;
	EXPECT_EQ(fs_lines(fs.err).size(), 1u) << fs.err;
}

TEST(OwnServer, Mode1ApplicationPinsItsWorkers)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP();
	ServerRun fs = own_server(true, {{"FASTSOCKET_LISTEN_SPAWN", "1"}}, 4000, {"-P"});
	EXPECT_EQ(fs.load.failures, 0) << fs.load.line;
	EXPECT_GE(fs.locality, 99.0) << fs.stats;
}

TEST(OwnServer, KillWorkerUnderLoad)
{
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP();
	std::string dir = make_tempdir("fsock-kill");
	std::string portfile = dir + "/port";
	Proc p = start({kServer, "-w", std::to_string(ncpus()), "-f", portfile}, preload(dir), dir, "server");
	int port = 0;
	for (int i = 0; i < 500 && port <= 0; i++) {
		port = atoi(slurp(portfile).c_str());
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	ASSERT_TRUE(port > 0 && wait_port(port));
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	auto workers = children_of(p.pid);
	ASSERT_EQ(static_cast<int>(workers.size()), ncpus());
	LoadResult during;
	std::thread t([&] { during = load(port, "d3"); });
	std::this_thread::sleep_for(std::chrono::milliseconds(1000));
	kill(workers[0], SIGKILL);
	t.join();
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	LoadResult after = load(port, "3000");
	auto now = children_of(p.pid);
	std::set<std::string> cpus;
	for (pid_t w : now)
		cpus.insert(cpus_allowed(w));
	stop(p);
	std::cout << "[ during kill ] " << during.line << "\n[ after ] " << after.line << "\n"
		  << "[ server ] " << slurp(p.out_path);
	EXPECT_GT(during.conns, 0);
	EXPECT_LE(during.failures, during.conns / 100 + 5) << "few connections lost with the dead worker";
	EXPECT_EQ(after.failures, 0) << after.line;
	EXPECT_EQ(after.conns, 3000);
	EXPECT_EQ(static_cast<int>(now.size()), ncpus());
	EXPECT_EQ(static_cast<int>(cpus.size()), ncpus()) << "the respawned worker took the free CPU";
}

// ---- nginx ----------------------------------------------------------------

namespace {
// nginx with 2 workers, accept_mutex off, everything under dir; returns the port.
int write_nginx_conf(const std::string &dir)
{
	int port = free_port();
	mkdir((dir + "/logs").c_str(), 0755);
	std::ofstream(dir + "/nginx.conf")
		<< "daemon off;\nmaster_process on;\nworker_processes 2;\n"
		<< "pid " << dir << "/nginx.pid;\nerror_log " << dir << "/logs/error.log notice;\n"
		<< "events { accept_mutex off; worker_connections 1024; }\n"
		<< "http {\n  access_log off;\n"
		<< "  client_body_temp_path " << dir << "/body;\n  proxy_temp_path " << dir << "/proxy;\n"
		<< "  fastcgi_temp_path " << dir << "/fastcgi;\n  uwsgi_temp_path " << dir << "/uwsgi;\n"
		<< "  scgi_temp_path " << dir << "/scgi;\n"
		<< "  server { listen 127.0.0.1:" << port << "; location / { return 200 \"ok\\n\"; } }\n}\n";
	return port;
}
}  // namespace

// Runs in a private network namespace (see ReloadUnderLoadZeroFailures).
TEST(NginxInNetns, ReloadBody)
{
	if (!getenv("FSTEST_RELOAD_NETNS"))
		GTEST_SKIP() << "run by Nginx.ReloadUnderLoadZeroFailures";
	std::string dir = make_tempdir("fsock-nginx-hup");
	int port = write_nginx_conf(dir);
	Proc p = start({"/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf"}, preload(dir), dir, "nginx");
	ASSERT_TRUE(wait_port(port)) << slurp(p.err_path) << slurp(dir + "/logs/error.log");
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	long total = 0, failed = 0;
	for (int round = 0; round < 3; round++) {
		auto before = children_of(p.pid);
		LoadResult during;
		std::thread t([&] { during = load(port, "d3"); });
		std::this_thread::sleep_for(std::chrono::milliseconds(1000));
		kill(p.pid, SIGHUP);  // new workers start, the old ones close their listeners
		t.join();
		std::cout << "[ reload " << round << " ] " << during.line << "\n";
		total += during.conns;
		failed += during.failures;
	}
	LoadResult after = load(port, "3000");
	std::set<std::string> cpus;
	for (pid_t w : children_of(p.pid))
		cpus.insert(cpus_allowed(w));
	stop(p, SIGQUIT);
	EXPECT_GT(total, 0);
	EXPECT_EQ(failed, 0) << "connections lost across 3 reloads";
	EXPECT_EQ(after.failures, 0) << after.line;
	EXPECT_EQ(cpus.size(), 2u) << "the new workers took the CPUs the old ones released";
}

TEST(Nginx, ReloadUnderLoadZeroFailures)
{
	if (!have("/usr/sbin/nginx"))
		GTEST_SKIP() << "nginx not installed";
	if (!fallback_possible() || ncpus() < 2)
		GTEST_SKIP() << "needs the user-space fallback and 2 CPUs";
	if (getuid() != 0 || !have("/usr/bin/unshare") || access("/proc/sys/net/ipv4/tcp_migrate_req", F_OK))
		GTEST_SKIP() << "needs root, unshare and net.ipv4.tcp_migrate_req (>= 5.14)";
	// Old workers shut their local listeners down on reload; the connections
	// queued there move to another listener of the group only with
	// net.ipv4.tcp_migrate_req=1 (per network namespace): set it in a
	// private namespace instead of on the machine.
	if (run({"/usr/bin/unshare", "-n", "/bin/sh", "-c", "ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=1"},
		{}, nullptr, nullptr, 30) != 0)
		GTEST_SKIP() << "cannot make a network namespace here (unshare -n / ip / sysctl)";
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_GT(n, 0);
	self[n] = 0;
	std::string out, err;
	int rc = run({"/usr/bin/unshare", "-n", "/bin/sh", "-c",
		      "ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=1 && exec \"$0\" "
		      "--gtest_filter=NginxInNetns.ReloadBody",
		      self},
		     {{"FSTEST_RELOAD_NETNS", "1"}}, &out, &err, 120);
	std::cout << out;
	EXPECT_EQ(rc, 0) << out << err;
	EXPECT_NE(out.find("[  PASSED  ] 1 test"), std::string::npos) << out;
}

TEST(Nginx, TwoWorkersUnderLibraryZeroFailures)
{
	if (!have("/usr/sbin/nginx"))
		GTEST_SKIP() << "nginx not installed (scripts/install-deps.sh)";
	std::string dir = make_tempdir("fsock-nginx");
	int port = write_nginx_conf(dir);
	Proc p = start({"/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf"}, preload(dir), dir, "nginx");
	ASSERT_TRUE(wait_port(port)) << slurp(p.err_path) << slurp(dir + "/logs/error.log");
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	LoadResult r = load(port, "5000");
	auto workers = children_of(p.pid);
	std::set<std::string> cpus;
	for (pid_t w : workers)
		cpus.insert(cpus_allowed(w));
	stop(p, SIGQUIT);
	std::string err = slurp(p.err_path);
	std::cout << "[ nginx ] " << r.line << "\n";
	EXPECT_EQ(r.conns, 5000) << r.line;
	EXPECT_EQ(r.failures, 0) << r.line;
	ASSERT_EQ(fs_lines(err).size(), 1u) << err;
	if (fallback_possible() && ncpus() >= 2) {
		EXPECT_NE(err.find("using user-space listen spawn"), std::string::npos) << err;
		EXPECT_EQ(workers.size(), 2u);
		EXPECT_EQ(cpus.size(), 2u) << "each worker pinned to its own CPU";
		for (const auto &c : cpus)
			EXPECT_EQ(c.find_first_of(",-"), std::string::npos) << "pinned to one CPU: " << c;
	}
}

// ---- haproxy --------------------------------------------------------------

TEST(Haproxy, ProxyUnderLibraryZeroFailures)
{
	if (!have("/usr/sbin/haproxy"))
		GTEST_SKIP() << "haproxy not installed (scripts/install-deps.sh)";
	std::string dir = make_tempdir("fsock-haproxy");
	Proc be = start({kServer, "-w", "1", "-f", dir + "/be.port"}, {{"LD_PRELOAD", ""}}, dir, "backend");
	int be_port = 0;
	for (int i = 0; i < 500 && be_port <= 0; i++) {
		be_port = atoi(slurp(dir + "/be.port").c_str());
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	ASSERT_TRUE(be_port > 0 && wait_port(be_port));
	int port = free_port();
	std::ofstream(dir + "/haproxy.cfg")
		<< "global\n  nbthread " << ncpus() << "\n"
		<< "defaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"
		<< "frontend fe\n  bind 127.0.0.1:" << port << "\n  default_backend be\n"
		<< "backend be\n  server s1 127.0.0.1:" << be_port << "\n";
	Proc p = start({"/usr/sbin/haproxy", "-f", dir + "/haproxy.cfg", "-db"}, preload(dir), dir, "haproxy");
	ASSERT_TRUE(wait_port(port)) << slurp(p.err_path);
	std::this_thread::sleep_for(std::chrono::milliseconds(300));
	LoadResult r = load(port, "5000");
	std::set<std::string> cpus;
	{
		DIR *d = opendir(("/proc/" + std::to_string(p.pid) + "/task").c_str());
		while (d && true) {
			dirent *e = readdir(d);
			if (!e)
				break;
			if (e->d_name[0] != '.')
				cpus.insert(cpus_allowed(p.pid, atoi(e->d_name)));
		}
		if (d)
			closedir(d);
	}
	stop(p);
	stop(be);
	std::string err = slurp(p.err_path);
	std::cout << "[ haproxy ] " << r.line << "\n";
	EXPECT_EQ(r.conns, 5000) << r.line;
	EXPECT_EQ(r.failures, 0) << r.line;
	EXPECT_EQ(fs_lines(err).size(), 1u) << err;
	if (fallback_possible() && ncpus() >= 2) {
		EXPECT_EQ(static_cast<int>(cpus.size()), ncpus()) << "each thread pinned to its own CPU";
	}
}
