// SPDX-License-Identifier: GPL-2.0
#include <cstdlib>
#include <iostream>

#include "commands/commands.h"
#include "profile/excerpt.h"
#include "profile/limits.h"
#include "profile/validate.h"
#include "system/module_control.h"
#include "system/state_lock.h"
#include "tuning/tuning.h"

namespace fsock {

int load_checked(const Root &root, const std::string &spec, Profile *out, std::ostream &err)
{
	if (spec.empty()) {
		err << "error: empty profile name (give a profile file or name)\n";
		return kExitInvalid;
	}
	ProfileLoader loader(root);
	std::vector<Diagnostic> diags;
	if (load_profile(loader, spec, out, &diags))
		return kExitOk;
	bool unreadable = false;
	for (std::size_t i = 0; i < diags.size(); i++) {
		const Diagnostic &d = diags[i];
		if (d.origin.line == 0)
			unreadable = true;
		if (i == kMaxErrorsShown) {
			err << "... and " << diags.size() - i << " more errors\n";
			break;
		}
		if (d.origin.line == 0)
			err << "error: " << path_excerpt(d.origin.file) << ": " << d.message << "\n";
		else
			err << d.str() << "\n";
	}
	return unreadable && diags.size() == 1 ? kExitFailure : kExitInvalid;
}

void add_wait_option(CLI::App *sub, double *wait)
{
	// A flag (not an option with an optional value), so `apply --wait proxy`
	// does not take "proxy" as the seconds; CLI11 gives "true" for a bare
	// --wait and the text after '=' otherwise.
	sub->add_flag("--wait", "When another apply or revert is running, wait for it (at most SECONDS with "
				"--wait=SECONDS) instead of failing")
		->type_name("[=SECONDS]")
		->check([](const std::string &v) -> std::string {
			if (v == "true")
				return "";
			char *end = nullptr;
			double d = std::strtod(v.c_str(), &end);
			if (v.empty() || *end || !(d >= 0 && d <= 86400))
				return "--wait=SECONDS: a number of seconds from 0 to 86400, not '" + v.substr(0, 20) + "'";
			return "";
		})
		->each([wait](const std::string &v) { *wait = v == "true" ? -1 : std::strtod(v.c_str(), nullptr); });
}

bool lock_state(Globals &g, const Root &root, StateLock *lock, double wait)
{
	std::string why;
	if (!lock->acquire(wait, &why)) {
		std::cerr << "error: " << why << "\nNothing was changed.\n";
		g.exit_code = kExitFailure;
		return false;
	}
	remove_stale_temp_files(root);
	return true;
}

void with_plan(Globals &g, const std::string &spec, const char *plan_error_tail,
	       const std::function<int(const Root &, const Plan &, ModuleControl &)> &use)
{
	Root root(g.root);
	Profile p;
	int rc = load_checked(root, spec, &p, std::cerr);
	if (rc != kExitOk) {
		g.exit_code = rc;
		return;
	}
	SysfsModuleControl mod(root);
	try {
		Plan plan = build_plan(root, p, mod);
		g.exit_code = use(root, plan, mod);
	} catch (const PlanError &e) {
		std::cerr << "error: " << e.what() << plan_error_tail << "\n";
		g.exit_code = kExitFailure;
	}
}

} // namespace fsock
