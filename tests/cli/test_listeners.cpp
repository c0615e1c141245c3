// SPDX-License-Identifier: GPL-2.0
// /proc/fastsocket/listeners in `fastsocket status` (text, JSON, Prometheus)
// and the runtime switch of `fastsocket off` / `fastsocket on`.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "commands/listeners_view.h"
#include "commands/status.h"
#include "fake_root.h"
#include "system/listen_switch.h"
#include "system/listeners.h"

using namespace fsock;
using fsock::test::FakeRoot;

namespace {

// Three good groups (two netns, IPv6, unknown keys) among hostile lines.
std::string synthetic_listeners()
{
	return "# fastsocket listeners v1\n"
	       "netns=4026531840 addr=0.0.0.0:80 pids=101,102 backlog=511 queued=3 cpus=0-1 cpu0=5 cpu1=7 "
	       "local=11 remote=1 foo=bar\n"
	       "garbage without equals\n"
	       "netns=4026532000 addr=[::1]:8080 pids=- backlog=128 queued=0 cpus= newcounter=42 cpu3=9\n"
	       "netns=1 addr=10.0.0.1:443 addr=10.0.0.2:443\n" // duplicate key
	       "netns=2 addr=1.2.3.4:5 bad\x1b[31m=x\n"	 // control characters
	       "netns=3 addr=\"quoted\":1\n"			 // a quote would break labels
	       "netns=4 queued=1\n"				 // no addr
	       "netns=4026531840 addr=0.0.0.0:80 queued=9\n"	 // same group twice
	       + std::string("netns=5 addr=9.9.9.9:9 pad=") + std::string(70000, 'x') + "\n" +
	       "netns=4026531840 addr=127.0.0.1:8443 pids=7 note=" + std::string(5000, 'n') + "\n";
}

StatusReport status_of(FakeRoot &fr)
{
	Root root(fr.dir());
	SysfsModuleControl mod(root);
	StateStore store(root);
	return build_status(root, mod, store, nullptr);
}

// The text exposition format's rules that matter to a scraper: one HELP and
// one TYPE per name, before its samples, samples of a name contiguous,
// names/labels well-formed, no series twice.
void expect_valid_exposition(const std::string &text)
{
	std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*",?)*\})? [0-9.e+-]+$)");
	std::map<std::string, int> help, type;
	std::set<std::string> series, closed;
	std::string current;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line)) {
		std::smatch m;
		if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
			std::string name = line.substr(7, line.find(' ', 7) - 7);
			(line[2] == 'H' ? help : type)[name]++;
			if (name != current && !current.empty())
				closed.insert(current);
			EXPECT_FALSE(closed.count(name)) << "family " << name << " declared after it was closed";
			current = name;
			continue;
		}
		ASSERT_TRUE(std::regex_match(line, m, sample)) << "bad sample line: " << line;
		std::string name = m[1];
		std::string base = name;
		EXPECT_EQ(base, current) << "sample of " << name << " outside its family";
		EXPECT_TRUE(series.insert(line.substr(0, line.rfind(' '))).second) << "duplicate series: " << line;
	}
	for (const auto &h : help)
		EXPECT_EQ(h.second, 1) << "HELP of " << h.first;
	for (const auto &t : type)
		EXPECT_EQ(t.second, 1) << "TYPE of " << t.first;
	EXPECT_EQ(help.size(), type.size());
}

} // namespace

TEST(Listeners, ExpositionCheckerCatchesBrokenOutput)
{
	EXPECT_NONFATAL_FAILURE(expect_valid_exposition("# HELP a x\n# HELP a x\n# TYPE a gauge\na 1\n"),
				"HELP of a");
	EXPECT_NONFATAL_FAILURE(expect_valid_exposition("# HELP a x\n# TYPE a gauge\na{l=\"1\"} 1\na{l=\"1\"} 2\n"),
				"duplicate series");
	EXPECT_NONFATAL_FAILURE(expect_valid_exposition("# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\na 1\n"),
				"outside its family");
	EXPECT_FATAL_FAILURE(expect_valid_exposition("# HELP a x\n# TYPE a gauge\na{l=\"\"\"} 1\n"), "bad sample line");
}

TEST(Listeners, ParsesGoodLinesAndSkipsHostileOnesWithOneWarning)
{
	ListenerTable t = parse_listeners(synthetic_listeners());
	ASSERT_EQ(t.groups.size(), 3u);
	EXPECT_EQ(*t.groups[0].get("addr"), "0.0.0.0:80");
	EXPECT_EQ(*t.groups[0].get("foo"), "bar");
	EXPECT_EQ(*t.groups[1].get("addr"), "[::1]:8080");
	EXPECT_EQ(*t.groups[1].get("netns"), "4026532000");
	EXPECT_EQ(*t.groups[1].get("cpus"), "");
	auto cpus = t.groups[0].per_cpu();
	ASSERT_EQ(cpus.size(), 2u);
	EXPECT_EQ(cpus[1], std::make_pair(1u, std::string("7")));
	EXPECT_EQ(t.groups[2].get("note")->size(), kListenersMaxValue);
	// One warning for everything: 7 skipped lines, the first one quoted.
	EXPECT_NE(t.warning.find("skipped 7 malformed line(s), first line 3: not key=value: 'garbage'"),
		  std::string::npos)
		<< t.warning;
	EXPECT_NE(t.warning.find("1 value(s) cut to 4096 bytes"), std::string::npos) << t.warning;
	EXPECT_EQ(t.warning.find('\x1b'), std::string::npos);
	EXPECT_EQ(t.warning.find("\n"), std::string::npos);
}

TEST(Listeners, BoundedInLinesAndBytes)
{
	std::string many = "# fastsocket listeners v1\n";
	for (int i = 0; i < 5000; i++)
		many += "netns=1 addr=10.0.0.1:" + std::to_string(i) + "\n";
	ListenerTable t = parse_listeners(many);
	EXPECT_EQ(t.groups.size(), kListenersMaxLines - 1); // the header is line 1
	EXPECT_NE(t.warning.find("first 4096 lines only"), std::string::npos) << t.warning;

	FakeRoot fr(2);
	std::string big = "# fastsocket listeners v1\n";
	while (big.size() < kListenersMaxBytes + 100000)
		big += "netns=1 addr=10.0.0.1:1 pad=" + std::string(2000, 'p') + " n=" + std::to_string(big.size()) +
		       "\n";
	fr.write("proc/fastsocket/listeners", big);
	Root root(fr.dir());
	t = read_listeners(root);
	EXPECT_NE(t.warning.find("first 1048576 bytes only"), std::string::npos) << t.warning;
	// Only the first of the identical groups counts; nothing past 1 MiB was read.
	EXPECT_EQ(t.groups.size(), 1u);

	// Binary junk: no crash, no group, one warning.
	std::string junk;
	for (int i = 0; i < 4000; i++)
		junk += static_cast<char>((i * 131) & 0xff);
	t = parse_listeners(junk);
	EXPECT_TRUE(t.groups.empty());
	EXPECT_FALSE(t.warning.empty());
}

TEST(Listeners, StatusTextShowsEveryGroupAndTheWarning)
{
	FakeRoot fr(4);
	fr.write("proc/fastsocket/listeners", synthetic_listeners());
	StatusReport r = status_of(fr);
	std::ostringstream out;
	render_text(r, out);
	std::string s = out.str();
	EXPECT_NE(s.find("listeners (/proc/fastsocket/listeners): 3 group(s)"), std::string::npos) << s;
	EXPECT_NE(s.find("  0.0.0.0:80 (netns 4026531840): pids 101,102 backlog 511 queued 3 cpus 0-1 local 11 "
			 "remote 1\n    per CPU: cpu0=5 cpu1=7\n    other: foo=bar\n"),
		  std::string::npos)
		<< s;
	EXPECT_NE(s.find("  [::1]:8080 (netns 4026532000): pids - backlog 128 queued 0 cpus \n    per CPU: "
			 "cpu3=9\n    other: newcounter=42\n"),
		  std::string::npos)
		<< s;
	EXPECT_NE(s.find("warning: /proc/fastsocket/listeners: skipped 7 malformed line(s)"), std::string::npos) << s;
	EXPECT_TRUE(r.errors.empty());
}

TEST(Listeners, StatusJsonHasGroupsPerCpuAndUnknownKeys)
{
	FakeRoot fr(4);
	fr.write("proc/fastsocket/listeners", synthetic_listeners());
	std::ostringstream out;
	render_json(status_of(fr), out);
	auto j = nlohmann::json::parse(out.str());
	const auto &l = j["listeners"];
	EXPECT_TRUE(l["present"].get<bool>());
	ASSERT_EQ(l["groups"].size(), 3u);
	EXPECT_EQ(l["groups"][0]["netns"], "4026531840");
	EXPECT_EQ(l["groups"][0]["queued"], 3);
	EXPECT_EQ(l["groups"][0]["per_cpu"]["1"], 7);
	EXPECT_EQ(l["groups"][0]["foo"], "bar");
	EXPECT_EQ(l["groups"][1]["addr"], "[::1]:8080");
	EXPECT_EQ(l["groups"][1]["newcounter"], 42);
	EXPECT_EQ(l["groups"][1]["pids"], "-");
	EXPECT_TRUE(l["warning"].is_string());
	EXPECT_TRUE(l["error"].is_null());
}

TEST(Listeners, StatusPrometheusIsValidExposition)
{
	FakeRoot fr(4);
	fr.write("proc/fastsocket/listeners", synthetic_listeners());
	std::ostringstream out;
	render_prometheus(status_of(fr), out);
	std::string s = out.str();
	expect_valid_exposition(s);
	EXPECT_NE(s.find("\nfastsocket_listeners 3\n"), std::string::npos) << s;
	EXPECT_NE(s.find("fastsocket_listener_cpu_connections_total{netns=\"4026531840\",addr=\"0.0.0.0:80\",cpu=\"1\"} 7\n"),
		  std::string::npos)
		<< s;
	EXPECT_NE(s.find("fastsocket_listener_queued{netns=\"4026532000\",addr=\"[::1]:8080\"} 0\n"), std::string::npos)
		<< s;
	EXPECT_NE(s.find("fastsocket_listener_processes{netns=\"4026531840\",addr=\"0.0.0.0:80\"} 2\n"),
		  std::string::npos)
		<< s;
	EXPECT_NE(s.find("# TYPE fastsocket_listener_newcounter gauge\nfastsocket_listener_newcounter{"),
		  std::string::npos)
		<< s;
	EXPECT_EQ(s.find("fastsocket_listener_foo"), std::string::npos); // not a number
}

TEST(Listeners, AnUnknownKeyCannotAddSamplesToAKnownMetric)
{
	ListenerTable t = parse_listeners("# fastsocket listeners v1\n"
					  "netns=1 addr=a:1 local=5 local_total=6 cpu_connections_total=7 cpu01=8\n");
	std::ostringstream out;
	render_listeners_prometheus(t, out);
	expect_valid_exposition(out.str());
	EXPECT_NE(out.str().find("fastsocket_listener_local_total{netns=\"1\",addr=\"a:1\"} 5\n"), std::string::npos);
	EXPECT_EQ(out.str().find("} 6\n"), std::string::npos) << out.str();
	EXPECT_EQ(out.str().find("} 7\n"), std::string::npos) << out.str();
	EXPECT_NE(out.str().find("fastsocket_listener_cpu01{"), std::string::npos) << out.str();
}

// A line as fastsocket.ko (ABI v2, src/kernel/view.c) prints it.
TEST(Listeners, TheModulesOwnFormat)
{
	ListenerTable t = parse_listeners("# fastsocket listeners v1\n"
					  "netns=4026531840 addr=127.0.0.1:8080 pids=123,456 backlog=511 queued=0 "
					  "cpus=0,1 cpu0=5 cpu1=3 local=8 remote=0 steering=on\n"
					  "netns=4026532001 addr=[::]:443 pids=- backlog=128 queued=2 cpus=- local=0 "
					  "remote=0 steering=foreign\n");
	EXPECT_TRUE(t.warning.empty()) << t.warning;
	ASSERT_EQ(t.groups.size(), 2u);
	std::ostringstream text, prom;
	render_listeners_text(t, text);
	EXPECT_NE(text.str().find("  127.0.0.1:8080 (netns 4026531840): pids 123,456 backlog 511 queued 0 cpus 0,1 "
				  "local 8 remote 0\n    per CPU: cpu0=5 cpu1=3\n    other: steering=on\n"),
		  std::string::npos)
		<< text.str();
	render_listeners_prometheus(t, prom);
	expect_valid_exposition(prom.str());
	EXPECT_NE(prom.str().find("fastsocket_listener_processes{netns=\"4026532001\",addr=\"[::]:443\"} 0\n"),
		  std::string::npos)
		<< prom.str();
}

TEST(Listeners, AbsentFileIsNotAnError)
{
	FakeRoot fr(2);
	StatusReport r = status_of(fr);
	EXPECT_FALSE(r.listeners.present);
	std::ostringstream text, json, prom;
	render_text(r, text);
	EXPECT_NE(text.str().find("listeners: module not loaded or no listeners"), std::string::npos) << text.str();
	render_json(r, json);
	auto j = nlohmann::json::parse(json.str());
	EXPECT_FALSE(j["listeners"]["present"].get<bool>());
	EXPECT_TRUE(j["listeners"]["groups"].empty());
	render_prometheus(r, prom);
	expect_valid_exposition(prom.str());
	EXPECT_NE(prom.str().find("\nfastsocket_listeners 0\n"), std::string::npos);
	EXPECT_TRUE(r.errors.empty());
}

TEST(ListenSwitch, OffAndOnWriteTheParameter)
{
	FakeRoot fr(2);
	fr.load_module({{"enable_listen_spawn", "2"}});
	Root root(fr.dir());
	SysfsModuleControl mod(root);
	ListenSwitch s = switch_listen_spawn(root, mod, 0);
	ASSERT_TRUE(s.ok) << s.error;
	EXPECT_TRUE(s.changed);
	EXPECT_EQ(s.previous, "2");
	EXPECT_EQ(fr.read("sys/module/fastsocket/parameters/enable_listen_spawn"), "0");
	s = switch_listen_spawn(root, mod, 0);
	EXPECT_TRUE(s.ok && !s.changed);
	s = switch_listen_spawn(root, mod, 1);
	ASSERT_TRUE(s.ok) << s.error;
	EXPECT_EQ(s.previous, "0");
	EXPECT_EQ(s.now, "1");
	EXPECT_EQ(fr.read("sys/module/fastsocket/parameters/enable_listen_spawn"), "1");
}

TEST(ListenSwitch, ModuleAbsentOrParameterRefused)
{
	FakeRoot fr(2);
	Root root(fr.dir());
	SysfsModuleControl mod(root);
	ListenSwitch s = switch_listen_spawn(root, mod, 0);
	EXPECT_FALSE(s.ok);
	EXPECT_NE(s.error.find("fastsocket.ko is not loaded"), std::string::npos) << s.error;
	EXPECT_FALSE(fr.exists("sys/module/fastsocket/parameters/enable_listen_spawn"));

	fr.load_module({{"enable_listen_spawn", "2"}});
	root.set_fault_injector([](const std::string &, const std::string &) { return EACCES; });
	s = switch_listen_spawn(root, mod, 0);
	EXPECT_FALSE(s.ok);
	EXPECT_NE(s.error.find("Permission denied"), std::string::npos) << s.error;
	EXPECT_EQ(fr.read("sys/module/fastsocket/parameters/enable_listen_spawn"), "2\n");

	// A module that ignores the write: said so, not reported as done.
	root.set_fault_injector([](const std::string &, const std::string &) { return -1; });
	s = switch_listen_spawn(root, mod, 0);
	EXPECT_FALSE(s.ok);
	EXPECT_NE(s.error.find("reads back as '2'"), std::string::npos) << s.error;
}
