// SPDX-License-Identifier: GPL-2.0
#include <iostream>

#include "commands/commands.h"
#include "profile/schema.h"

namespace fsock {

void register_validate(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("validate", "Check profiles against the schema; nothing is read from the system");
	auto profiles = std::make_shared<std::vector<std::string>>();
	auto schema = std::make_shared<bool>(false);
	auto quiet = std::make_shared<bool>(false);
	sub->add_option("profile", *profiles, "Profile files or names (NAME = NAME.yaml in the profile directories)");
	sub->add_flag("--schema", *schema, "Print every key a profile may contain, with allowed values, and exit");
	sub->add_flag("-q,--quiet", *quiet, "Print only errors");
	sub->footer(R"(Each problem is printed as
  FILE:LINE:COL: key.path: problem (found VALUE; allowed: VALUES); did you mean 'KEY'?

Examples:
  fastsocket validate /etc/fastsocket/profiles/proxy.yaml
  fastsocket validate web-server proxy
  fastsocket validate --schema

Profiles are untrusted input: size, nesting, node and include limits, one
document, no anchors/aliases/tags, values on one line (docs/profiles.md).
At most 20 errors are printed per profile.

Exit codes: 0 every profile is valid, 2 a profile is invalid (or over a
limit), 1 a profile cannot be read (the reason is printed).)");
	sub->callback([&g, profiles, schema, quiet]() {
		if (*schema) {
			std::cout << schema_reference();
			g.exit_code = kExitOk;
			return;
		}
		if (profiles->empty()) {
			std::cerr << "error: validate: give at least one profile (see fastsocket validate --help)\n";
			g.exit_code = kExitInvalid;
			return;
		}
		Root root(g.root);
		int rc = kExitOk;
		for (const auto &p : *profiles) {
			Profile prof;
			int r = load_checked(root, p, &prof, std::cerr);
			if (r == kExitOk && !*quiet) {
				std::cout << prof.file << ": valid profile '" << prof.name << "'";
				if (prof.files.size() > 1) {
					std::cout << " (includes";
					for (std::size_t i = 1; i < prof.files.size(); i++)
						std::cout << " " << prof.files[i];
					std::cout << ")";
				}
				std::cout << "\n";
			}
			if (r > rc)
				rc = r;
		}
		g.exit_code = rc;
	});
}

} // namespace fsock
