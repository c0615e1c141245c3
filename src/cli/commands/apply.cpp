// SPDX-License-Identifier: GPL-2.0
#include <iostream>
#include <sstream>

#include "commands/commands.h"
#include "commands/plan_json.h"
#include "system/state_lock.h"
#include "system/state_store.h"
#include "tuning/executor.h"
#include "tuning/tuning.h"

namespace fsock {

void register_apply(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("apply", "Apply a profile: sysctls, RPS/RFS/XPS, IRQ affinity, module options");
	auto profile = std::make_shared<std::string>();
	auto defer = std::make_shared<bool>(false);
	auto wait = std::make_shared<double>(0);
	auto json_out = std::make_shared<bool>(false);
	auto detailed = std::make_shared<bool>(false);
	add_wait_option(sub, wait.get());
	sub->add_flag("--json", *json_out,
		      "Print {changed, changes: [{path, old, new}], ...} as JSON on stdout; the progress lines go to stderr");
	sub->add_flag("--detailed-exitcode", *detailed,
		      "Exit 4 (not 0) when the system already matched and nothing was written");
	sub->add_option("profile", *profile, "Profile file or name")->required();
	sub->add_flag("--defer-reload", *defer,
		      "Do not reload fastsocket.ko when its parameters change: write the options for its next load");
	sub->footer(R"(Steps: load and validate the profile, plan (as `fastsocket plan` shows), save the
current values to /var/lib/fastsocket/saved.json (fsync'd), write each value and read it
back.  Any failure rolls back every earlier write, in reverse order; an IRQ the kernel
refuses to move (EIO) is reported and skipped.  Holds /run/fastsocket/lock throughout:
a second apply or revert fails at once naming the holder's pid, or waits with
--wait[=SECONDS].  fastsocket.ko is reloaded only when its
parameters change, and never while it is in use (refcnt > 0) unless --defer-reload.
Applying the same profile again changes nothing.

Examples:
  fastsocket apply /etc/fastsocket/profiles/proxy.yaml
  fastsocket apply web-server --defer-reload
  fastsocket apply --wait=60 proxy       # the boot unit: wait for an operator's apply

  fastsocket apply proxy --json --detailed-exitcode   # automation: 0 changed, 4 unchanged

Exit codes: 0 applied (or nothing to change), 2 the profile is invalid, 1 failed (the
system is rolled back; the message says what failed and whether the rollback was complete).
With --detailed-exitcode: 0 something was changed, 4 nothing to do.  --json prints
"changed": true/false either way (also on failure, with "failed": true; not when the
profile is invalid).)");
	sub->callback([&g, profile, defer, wait, json_out, detailed]() {
		Root lock_root(g.root);
		StateLock lock(lock_root);
		if (!lock_state(g, lock_root, &lock, *wait))
			return;
		with_plan(g, *profile, "\nNothing was changed.", [&](const Root &root, const Plan &plan, ModuleControl &mod) {
			StateStore store(root);
			ExecOptions opt;
			opt.defer_reload = *defer;
			ApplyReport report;
			opt.report = &report;
			int rc = apply_plan(root, plan, mod, store, opt, *json_out ? std::cerr : std::cout, std::cerr);
			if (*json_out)
				std::cout << apply_json(plan, report, rc).dump(2, ' ', false,
									       nlohmann::json::error_handler_t::replace)
					  << "\n";
			if (rc == 0 && *detailed && !report.changed)
				return kExitUnchanged;
			return rc;
		});
	});
}

} // namespace fsock
