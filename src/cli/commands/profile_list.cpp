// SPDX-License-Identifier: GPL-2.0
// `fastsocket profile list`: the profiles a NAME can mean (profile/catalog.h).
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands/commands.h"
#include "profile/catalog.h"
#include "system/byte_string.h"

namespace fsock {

namespace {

void render_text(const Catalog &c, std::ostream &out)
{
	std::size_t w = 4;
	for (const auto &e : c.entries)
		w = std::max(w, e.name.size());
	out << "  " << std::left << std::setw(static_cast<int>(w)) << "NAME" << "  " << std::setw(8) << "SOURCE"
	    << "  DESCRIPTION\n";
	for (const auto &e : c.entries) {
		out << (e.active ? "* " : "  ") << std::setw(static_cast<int>(w)) << e.name << "  " << std::setw(8)
		    << e.source << "  ";
		if (!e.error.empty())
			out << "INVALID: " << e.error;
		else
			out << (e.description.empty() ? "-" : e.description);
		if (e.overridden)
			out << " (overridden by an earlier directory)";
		out << "\n      " << e.file << "\n";
	}
	if (c.entries.empty())
		out << "  (no profiles found)\n";
	if (!c.state_error.empty())
		out << "active: unknown (" << c.state_error << ")\n";
	else if (c.active_profile.empty())
		out << "active: none (nothing applied)\n";
	else
		out << "active: " << c.active_profile << " (" << c.active_file << ", applied " << c.applied_at << ")\n";
	if (c.truncated)
		out << "warning: more than " << kMaxCatalogEntries << " profiles in a directory; the rest are not listed\n";
}

nlohmann::json to_json(const Catalog &c)
{
	using nlohmann::json;
	json list = json::array();
	for (const auto &e : c.entries)
		list.push_back({{"name", e.name},
				{"file", utf8_for_display(e.file)},
				{"source", e.source},
				{"description", e.description.empty() ? json(nullptr) : json(e.description)},
				{"error", e.error.empty() ? json(nullptr) : json(e.error)},
				{"overridden", e.overridden},
				{"active", e.active}});
	json active = nullptr;
	if (!c.active_profile.empty())
		active = {{"name", c.active_profile}, {"file", c.active_file}, {"applied_at", c.applied_at}};
	return {{"profiles", list},
		{"active", active},
		{"state_error", c.state_error.empty() ? json(nullptr) : json(c.state_error)},
		{"truncated", c.truncated}};
}

} // namespace

void register_profile(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("profile", "Profiles: list them");
	sub->require_subcommand(1);
	auto *list = sub->add_subcommand("list", "List the profiles, where each comes from and which one is active");
	auto json_out = std::make_shared<bool>(false);
	list->add_flag("--json", *json_out, "Machine-readable JSON");
	const char *footer = R"(SOURCE: path ($FASTSOCKET_PROFILE_PATH), etc (/etc/fastsocket/profiles, yours),
shipped (/usr/share/fastsocket/profiles), boot (/etc/fastsocket/profile.yaml, the
one fastsocket.service applies).  A NAME means the first of them that has NAME.yaml;
the others are marked overridden.  '*' marks the profile of the last apply
(/var/lib/fastsocket/saved.json).

Examples:
  fastsocket profile list
  fastsocket profile list --json | jq -r '.profiles[] | select(.active) | .name'

Exit codes: 0 listed, 1 the saved state cannot be read (the list is still printed).)";
	sub->footer(footer);
	list->footer(footer);
	list->callback([&g, json_out]() {
		Root root(g.root);
		Catalog c = list_profiles(root);
		if (*json_out)
			std::cout << to_json(c).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
		else
			render_text(c, std::cout);
		g.exit_code = c.state_error.empty() ? kExitOk : kExitFailure;
	});
}

} // namespace fsock
