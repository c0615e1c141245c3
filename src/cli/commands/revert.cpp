// SPDX-License-Identifier: GPL-2.0
#include <iostream>

#include "commands/commands.h"
#include "system/state_lock.h"
#include "system/state_store.h"
#include "tuning/executor.h"

namespace fsock {

void register_revert(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("revert", "Restore every value the last apply(s) changed");
	auto defer = std::make_shared<bool>(false);
	auto wait = std::make_shared<double>(0);
	add_wait_option(sub, wait.get());
	sub->add_flag("--defer-reload", *defer,
		      "Do not reload or unload fastsocket.ko; the restored options apply at its next load");
	sub->footer(R"(Writes back the values saved in /var/lib/fastsocket/saved.json (the values found
before the first apply), in reverse order, byte for byte, restores or removes
/etc/modprobe.d/fastsocket.conf, and puts fastsocket.ko back as it was (reloaded with its
previous parameters, or unloaded if apply loaded it) unless it is in use.  The saved
state is removed when everything was restored, and kept for a retry otherwise.  Every
saved path must lie inside --root under /proc/sys, /proc/irq, /sys/class/net or
/etc/modprobe.d (no '..', no symlink out of the root); others are refused.  Holds
/run/fastsocket/lock like apply (--wait[=SECONDS]).

Examples:
  fastsocket revert
  fastsocket revert --root /tmp/fake-root

Exit codes: 0 reverted (or nothing to revert), 1 something could not be restored.)");
	sub->callback([&g, defer, wait]() {
		Root root(g.root);
		StateLock lock(root);
		if (!lock_state(g, root, &lock, *wait))
			return;
		SysfsModuleControl mod(root);
		StateStore store(root);
		ExecOptions opt;
		opt.defer_reload = *defer;
		g.exit_code = revert_state(root, mod, store, opt, std::cout, std::cerr);
	});
}

} // namespace fsock
