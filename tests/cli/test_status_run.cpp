// SPDX-License-Identifier: GPL-2.0
// status (drift, JSON, Prometheus, counters) and the run launcher helpers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "commands/commands.h"
#include "commands/run.h"
#include "commands/status.h"
#include "fake_root.h"
#include "system/stats.h"
#include "tuning/executor.h"
#include "tuning/tuning.h"

using namespace fsock;
using fsock::test::FakeNic;
using fsock::test::FakeRoot;

namespace {

const char *kStats = "cpu local_accepts global_accepts spawns steer_hits steer_misses\n"
		     "cpu0 10 2 1 7 0\n"
		     "cpu1 12 0 1 9 1\n"
		     "total 22 2 2 16 1\n";

void apply_profile(FakeRoot &fr, Root &root, const std::string &yaml)
{
	fr.write("profile.yaml", yaml);
	Profile p;
	std::ostringstream err, out;
	ASSERT_EQ(load_checked(root, fr.dir() + "/profile.yaml", &p, err), kExitOk) << err.str();
	SysfsModuleControl mod(root);
	StateStore store(root);
	Plan plan = build_plan(root, p, mod);
	ASSERT_EQ(apply_plan(root, plan, mod, store, ExecOptions(), out, err), 0) << err.str();
}

} // namespace

TEST(Stats, ParsesHeaderCpuRowsAndTotal)
{
	ModuleStats s = parse_stats(kStats);
	EXPECT_TRUE(s.error.empty()) << s.error;
	EXPECT_EQ(s.columns.size(), 5u);
	EXPECT_EQ(s.columns[0], "local_accepts");
	ASSERT_EQ(s.cpus.size(), 2u);
	EXPECT_EQ(s.cpus[1].first, 1u);
	EXPECT_EQ(s.cpus[1].second[3], 9u);
	EXPECT_EQ(s.total[0], 22u);
	// Without the "cpu" label in the header.
	EXPECT_TRUE(parse_stats("a b\ncpu0 1 2\ntotal 1 2\n").error.empty());
	EXPECT_FALSE(parse_stats("a b\ncpu0 1\n").error.empty());
	EXPECT_FALSE(parse_stats("a b\nbogus 1 2\n").error.empty());
}

TEST(Status, ReportsDriftAfterAManualChange)
{
	FakeRoot fr(4);
	fr.add_nic(FakeNic());
	fr.load_module(FakeRoot::default_params());
	fr.write("proc/fastsocket/stats", kStats);
	Root root(fr.dir());
	root.set_command_runner(fr.modprobe_runner());
	apply_profile(fr, root, "version: 1\nrps: {cpus: all}\nmodule: {parameters: {enable_listen_spawn: 2}}\n");
	SysfsModuleControl mod(root);
	StateStore store(root);
	StatusReport r = build_status(root, mod, store, nullptr);
	EXPECT_TRUE(r.module_loaded);
	EXPECT_EQ(r.module_version.value_or(""), "0.1.0");
	EXPECT_TRUE(r.drift.empty());
	EXPECT_EQ(r.profile, "profile");

	fr.write("sys/class/net/eth0/queues/rx-2/rps_cpus", "1\n");
	fr.write("sys/module/fastsocket/parameters/enable_listen_spawn", "0\n");
	r = build_status(root, mod, store, nullptr);
	ASSERT_EQ(r.drift.size(), 2u);
	EXPECT_EQ(r.drift[0].target, "eth0 rx-2");
	EXPECT_EQ(r.drift[0].want, "f");
	EXPECT_EQ(r.drift[0].now, "1");
	EXPECT_EQ(r.drift[1].area, "module");

	std::ostringstream text, js, prom;
	render_text(r, text);
	EXPECT_NE(text.str().find("drift: 2 value(s) differ"), std::string::npos) << text.str();
	render_json(r, js);
	auto j = nlohmann::json::parse(js.str());
	EXPECT_EQ(j["module"]["loaded"], true);
	EXPECT_EQ(j["drift"].size(), 2u);
	EXPECT_EQ(j["parameters"]["enable_listen_spawn"]["live"], "0");
	EXPECT_EQ(j["parameters"]["enable_listen_spawn"]["applied"], "2");
	EXPECT_EQ(j["counters"]["cpus"]["1"]["steer_hits"], 9);
	EXPECT_EQ(j["interfaces"][0]["name"], "eth0");
	EXPECT_EQ(j["interfaces"][0]["irqs"][0]["name"], "virtio0-input.0");
	render_prometheus(r, prom);
	std::string p = prom.str();
	EXPECT_NE(p.find("# HELP fastsocket_module_loaded "), std::string::npos);
	EXPECT_NE(p.find("# TYPE fastsocket_module_loaded gauge\nfastsocket_module_loaded 1\n"), std::string::npos);
	EXPECT_NE(p.find("fastsocket_parameter{name=\"enable_listen_spawn\"} 0\n"), std::string::npos);
	EXPECT_NE(p.find("fastsocket_drift_values 2\n"), std::string::npos);
	EXPECT_NE(p.find("# TYPE fastsocket_steer_hits_total counter\n"), std::string::npos);
	EXPECT_NE(p.find("fastsocket_steer_hits_total{cpu=\"1\"} 9\n"), std::string::npos);
	// Every sample line belongs to a family announced by HELP and TYPE.
	std::istringstream lines(p);
	std::string line, family;
	while (std::getline(lines, line)) {
		if (line.rfind("# TYPE ", 0) == 0) {
			family = line.substr(7, line.find(' ', 7) - 7);
		} else if (line[0] != '#') {
			EXPECT_EQ(line.rfind(family, 0), 0u) << line;
		}
	}
}

TEST(Status, ComparesWithAProfileWithoutSavedState)
{
	FakeRoot fr(2);
	fr.add_nic(FakeNic());
	Root root(fr.dir());
	fr.write("p.yaml", "version: 1\nsysctl: {net.core.somaxconn: 4096, net.ipv4.tcp_fin_timeout: 30}\n");
	Profile p;
	std::ostringstream err;
	ASSERT_EQ(load_checked(root, fr.dir() + "/p.yaml", &p, err), kExitOk);
	SysfsModuleControl mod(root);
	StateStore store(root);
	StatusReport r = build_status(root, mod, store, &p);
	ASSERT_EQ(r.drift.size(), 1u);
	EXPECT_EQ(r.drift[0].target, "net.ipv4.tcp_fin_timeout");
	EXPECT_FALSE(r.module_loaded);
}

TEST(Run, PreloadIsPrependedOnce)
{
	EXPECT_EQ(prepend_preload("", "/l/libfsocket.so"), "/l/libfsocket.so");
	EXPECT_EQ(prepend_preload("/x/a.so", "/l/libfsocket.so"), "/l/libfsocket.so:/x/a.so");
	EXPECT_EQ(prepend_preload("/x/a.so:/l/libfsocket.so", "/l/libfsocket.so"), "/x/a.so:/l/libfsocket.so");
	EXPECT_EQ(prepend_preload("/l/libfsocket.so /x/a.so", "/l/libfsocket.so"), "/l/libfsocket.so /x/a.so");
}

TEST(Run, EffectLine)
{
	RunRequest req;
	ModuleProbe none{false, "module not usable (/dev/fastsocket: No such file or directory)"};
	ModuleProbe mod{true, "module 0.1.0 (abi 1, 4 CPUs, listen_spawn 2)", 2};
	EXPECT_EQ(effect_line(req, "/l.so", mod, "6.1.0-26-amd64"),
		  "fastsocket run: preloading /l.so, mode auto: kernel module, module 0.1.0 (abi 1, 4 CPUs, "
		  "listen_spawn 2), listen spawn 2");
	EXPECT_NE(effect_line(req, "/l.so", none, "6.1.0").find("user-space listen spawn"), std::string::npos);
	// Not given: the module's parameter, else 1 (the library pins nobody).
	EXPECT_NE(effect_line(req, "/l.so", none, "6.1.0").find(", listen spawn 1"), std::string::npos);
	ModuleProbe mod1{true, "module 0.1.0 (abi 1, 4 CPUs, listen_spawn 1)", 1};
	EXPECT_NE(effect_line(req, "/l.so", mod1, "6.1.0").find(", listen spawn 1"), std::string::npos);
	req.listen_spawn = 2;
	EXPECT_NE(effect_line(req, "/l.so", none, "6.1.0").find(", listen spawn 2"), std::string::npos);
	req.listen_spawn = -1;
	EXPECT_NE(effect_line(req, "/l.so", none, "5.10.0-30-amd64").find("pass-through (kernel 5.10.0-30-amd64 < 6.1"),
		  std::string::npos);
	req.mode = "off";
	EXPECT_NE(effect_line(req, "/l.so", mod, "6.1").find("pass-through, nothing accelerated"), std::string::npos);
}

TEST(Run, ProbeWithoutDevice)
{
	FakeRoot fr(2);
	Root root(fr.dir());
	ModuleProbe p = probe_module(root);
	EXPECT_FALSE(p.usable);
	EXPECT_NE(p.text.find("No such file or directory"), std::string::npos);
}
