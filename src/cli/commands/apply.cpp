// SPDX-License-Identifier: GPL-2.0
#include <iostream>

#include "commands/commands.h"
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
	add_wait_option(sub, wait.get());
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

Exit codes: 0 applied (or nothing to change), 2 the profile is invalid, 1 failed (the
system is rolled back; the message says what failed and whether the rollback was complete).)");
	sub->callback([&g, profile, defer, wait]() {
		Root lock_root(g.root);
		StateLock lock(lock_root);
		if (!lock_state(g, lock_root, &lock, *wait))
			return;
		with_plan(g, *profile, "\nNothing was changed.", [&](const Root &root, const Plan &plan, ModuleControl &mod) {
			StateStore store(root);
			ExecOptions opt;
			opt.defer_reload = *defer;
			return apply_plan(root, plan, mod, store, opt, std::cout, std::cerr);
		});
	});
}

} // namespace fsock
