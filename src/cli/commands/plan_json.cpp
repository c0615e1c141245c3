// SPDX-License-Identifier: GPL-2.0
#include "commands/plan_json.h"

#include "system/byte_string.h"
#include "tuning/rfd_steering.h"

namespace fsock {

namespace {

const char *module_action_name(ModulePlan::Action a)
{
	switch (a) {
	case ModulePlan::Action::Load:
		return "load";
	case ModulePlan::Action::Reload:
		return "reload";
	case ModulePlan::Action::None:
		break;
	}
	return "none";
}

} // namespace

nlohmann::json change_json(const Change &c)
{
	using nlohmann::json;
	return {{"area", c.area},
		{"target", utf8_for_display(c.target)},
		{"path", utf8_for_display(c.path)},
		{"old", c.existed ? json(utf8_for_display(show_value(c.kind, c.current))) : json(nullptr)},
		{"new", utf8_for_display(show_value(c.kind, c.next))},
		{"pending", c.pending()}};
}

nlohmann::json plan_json(const Plan &plan)
{
	using nlohmann::json;
	json changes = json::array();
	for (const auto &c : plan.changes)
		changes.push_back(change_json(c));
	json xdp = json::array();
	for (const auto &x : plan.xdp)
		xdp.push_back({{"interface", x.iface}, {"pending", x.pending()}, {"blocked", x.blocked()},
			       {"text", describe_xdp(x)}});
	json differing = plan.module.differing;
	return {{"profile", plan.profile_name},
		{"file", utf8_for_display(plan.profile_file)},
		{"changed", !plan.nothing_to_do()},
		{"pending", plan.pending_count()},
		{"changes", changes},
		{"xdp", xdp},
		{"module",
		 {{"managed", plan.module.managed},
		  {"loaded", plan.module.loaded},
		  {"action", module_action_name(plan.module.action)},
		  {"differing", differing}}},
		{"warnings", plan.warnings},
		{"notes", plan.notes}};
}

nlohmann::json apply_json(const Plan &plan, const ApplyReport &report, int rc)
{
	using nlohmann::json;
	json changes = json::array();
	for (const auto &c : report.written) {
		json j = change_json(c);
		j.erase("pending");
		changes.push_back(j);
	}
	return {{"profile", plan.profile_name},
		{"file", utf8_for_display(plan.profile_file)},
		{"changed", report.changed},
		{"failed", rc != 0},
		{"changes", changes},
		{"module_action", report.module_action.empty() ? json(nullptr) : json(report.module_action)},
		{"xdp_attached", report.xdp_attached},
		{"warnings", plan.warnings},
		{"notes", plan.notes}};
}

} // namespace fsock
