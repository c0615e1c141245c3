// SPDX-License-Identifier: GPL-2.0
// `fastsocket off` and `fastsocket on [--mode 1|2]`: the module's runtime
// switch (system/listen_switch.h).
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands/commands.h"
#include "system/listen_switch.h"
#include "system/module_control.h"
#include "system/state_lock.h"

namespace fsock {

namespace {

nlohmann::json number_or_string(const std::string &v)
{
	if (v.empty())
		return nullptr;
	if (v.find_first_not_of("0123456789") == std::string::npos && v.size() < 10)
		return std::stoi(v);
	return v;
}

int run_switch(Globals &g, const char *action, int mode, bool json_out, double wait)
{
	Root root(g.root);
	// The same lock as apply/revert: an apply reloading fastsocket.ko must not
	// interleave with a switch of its parameter.
	StateLock lock(root);
	if (!lock_state(g, root, &lock, wait))
		return g.exit_code;
	SysfsModuleControl mod(root);
	ListenSwitch s = switch_listen_spawn(root, mod, mode);
	if (json_out) {
		nlohmann::json j = {{"action", action},
				    {"ok", s.ok},
				    {"parameter", root.path(s.path)},
				    {"previous", number_or_string(s.previous)},
				    {"now", number_or_string(s.now)},
				    {"changed", s.changed},
				    {"error", s.ok ? nlohmann::json(nullptr) : nlohmann::json(s.error)}};
		std::cout << j.dump(2) << "\n";
	} else if (!s.ok) {
		std::cerr << "error: " << s.error << "\n";
	} else if (!s.changed) {
		std::cout << "fastsocket is already " << action << " (enable_listen_spawn = " << s.now << ")\n";
	} else {
		std::cout << "enable_listen_spawn: " << s.previous << " -> " << s.now << "; "
			  << (mode == 0 ? "per-CPU steering off, the listeners keep accepting with plain "
					  "SO_REUSEPORT hashing"
					: "per-CPU steering on")
			  << " (until fastsocket.ko is reloaded)\n";
	}
	return s.ok ? kExitOk : kExitFailure;
}

const char *const kFooter = R"(
Writes /sys/module/fastsocket/parameters/enable_listen_spawn (under --root) and reads
it back.  Off detaches the module's steering from every listen group at once: no
connection is dropped, the same listening sockets share new connections by plain
SO_REUSEPORT hashing.  On (mode 2: the module picks a CPU per worker; mode 1: workers
pinned by the application) steers again.  The change lasts until the module is
reloaded: the load options (`fastsocket apply`, /etc/modprobe.d/fastsocket.conf) decide
the value at load time.

Exit codes: 0 switched (or already so), 1 the module is not loaded or the parameter
cannot be written (a module with ABI v1 has it read-only), or an apply or revert holds
/run/fastsocket/lock.)";

} // namespace

void register_off(CLI::App &app, Globals &g)
{
	auto *off = app.add_subcommand("off", "Switch the module's per-CPU steering off at run time (enable_listen_spawn=0)");
	auto off_json = std::make_shared<bool>(false);
	off->add_flag("--json", *off_json, "Machine-readable JSON");
	auto off_wait = std::make_shared<double>(0);
	add_wait_option(off, off_wait.get());
	off->footer(std::string(kFooter) + "\n\nExamples:\n  fastsocket off\n  fastsocket off --json | jq .previous");
	off->callback([&g, off_json, off_wait]() { g.exit_code = run_switch(g, "off", 0, *off_json, *off_wait); });
}

void register_on(CLI::App &app, Globals &g)
{
	auto *on = app.add_subcommand("on", "Switch the module's per-CPU steering on again at run time");
	auto on_json = std::make_shared<bool>(false);
	auto mode = std::make_shared<int>(2);
	on->add_option("--mode", *mode, "enable_listen_spawn value: 2 (module picks CPUs) or 1 (pinned workers)")
		->check(CLI::IsMember({1, 2}))
		->capture_default_str();
	on->add_flag("--json", *on_json, "Machine-readable JSON");
	auto on_wait = std::make_shared<double>(0);
	add_wait_option(on, on_wait.get());
	on->footer(std::string(kFooter) + "\n\nExamples:\n  fastsocket on\n  fastsocket on --mode 1 --json");
	on->callback([&g, on_json, mode, on_wait]() { g.exit_code = run_switch(g, "on", *mode, *on_json, *on_wait); });
}

} // namespace fsock
