// SPDX-License-Identifier: GPL-2.0
#include <iostream>

#include "commands/commands.h"
#include "commands/plan_json.h"
#include "tuning/executor.h"
#include "tuning/rfd_steering.h"
#include "tuning/tuning.h"

namespace fsock {

void print_plan(const Plan &plan, const Root &root, bool show_all, std::ostream &out)
{
	out << "profile " << plan.profile_name << " (" << plan.profile_file << ")";
	if (!root.is_host_root())
		out << ", root " << root.dir();
	out << "\n";
	out << "cpus: online " << plan.topo.online.to_list() << ", nr_cpu_ids " << plan.topo.nr_cpu_ids << "\n";
	if (!plan.interfaces.empty()) {
		out << "interfaces:";
		for (const auto &i : plan.interfaces)
			out << " " << i.name << " (" << i.rx.size() << " rx, " << i.tx.size() << " tx)";
		out << "\n";
	}
	std::size_t pending = plan.pending_count();
	out << "changes (" << pending << " of " << plan.changes.size() + plan.xdp.size() << " values differ):\n";
	for (const auto &c : plan.changes) {
		if (!c.pending() && !show_all)
			continue;
		out << "  " << (c.pending() ? "" : "= ") << describe_change(c) << "\n";
		if (c.pending() && c.kind == ValueKind::File)
			out << "      " << root.path(c.path) << "\n";
	}
	for (const auto &x : plan.xdp)
		if (x.pending() || show_all)
			out << "  " << (x.pending() ? "" : "= ") << describe_xdp(x) << "\n";
	if (pending == 0)
		out << "  (none)\n";
	const ModulePlan &m = plan.module;
	if (m.managed) {
		out << "module: fastsocket.ko " << (m.loaded ? "loaded" : "not loaded");
		if (m.loaded && m.refcnt)
			out << " (refcnt " << *m.refcnt << ")";
		switch (m.action) {
		case ModulePlan::Action::Load:
			out << "; will be loaded (modprobe fastsocket)";
			break;
		case ModulePlan::Action::Reload:
			out << "; will be reloaded for:";
			for (const auto &d : m.differing)
				out << " " << d << ";";
			if (m.refcnt.value_or(0) > 0)
				out << " IN USE: apply will refuse unless --defer-reload";
			break;
		case ModulePlan::Action::None:
			out << (m.load ? "; parameters already in effect" : "; module.load is false: not (re)loaded");
			break;
		}
		out << "\n";
	}
	for (const auto &w : plan.warnings)
		out << "warning: " << w << "\n";
	for (const auto &n : plan.notes)
		out << "note: " << n << "\n";
	if (plan.nothing_to_do())
		out << "no changes: the system already matches this profile\n";
}

void register_plan(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("plan", "Show exactly what apply would change; nothing is written");
	auto profile = std::make_shared<std::string>();
	auto all = std::make_shared<bool>(false);
	sub->add_option("profile", *profile, "Profile file or name")->required();
	auto json_out = std::make_shared<bool>(false);
	sub->add_flag("-a,--all", *all, "Also list values that already match (prefixed with '=')");
	sub->add_flag("--json", *json_out, "Machine-readable JSON: every change {area, target, path, old, new, pending} and \"changed\"");
	sub->footer(R"(Each line is "[area] target: current -> new".  `apply` executes this same plan.

Examples:
  fastsocket plan /etc/fastsocket/profiles/proxy.yaml
  fastsocket plan web-server --all
  fastsocket plan web-server --root /tmp/fake-root   # a directory shaped like /
  fastsocket plan proxy --json | jq .changed         # Ansible check mode

Exit codes: 0 plan printed, 2 the profile is invalid, 1 the system cannot be read or
the profile does not fit it (e.g. CPUs that are not online).)");
	sub->callback([&g, profile, all, json_out]() {
		with_plan(g, *profile, "", [&](const Root &root, const Plan &plan, ModuleControl &) {
			if (*json_out)
				std::cout << plan_json(plan).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
					  << "\n";
			else
				print_plan(plan, root, *all, std::cout);
			return static_cast<int>(kExitOk);
		});
	});
}

} // namespace fsock
