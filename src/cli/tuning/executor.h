// SPDX-License-Identifier: GPL-2.0
// Executing a plan (apply) and undoing it (revert).
//
// apply: refuse early if the module must be reloaded while in use; save the
// original values (state store, fsync'd) before the first write; write each
// pending change and read it back; an IRQ the kernel refuses (EIO) is
// reported and skipped; any other failure rolls back every earlier write in
// reverse order and restores the state store.  Module (re)load last.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "system/module_control.h"
#include "system/state_store.h"
#include "tuning/change.h"

namespace fsock {

// What an apply did (`apply --json`); left as is (changed false) when it
// had nothing to do or failed.
struct ApplyReport {
	bool changed = false;
	std::vector<Change> written; // in write order, with their old values
	std::string module_action;   // "loaded", "reloaded" or ""
	unsigned xdp_attached = 0;
};

struct ExecOptions {
	bool defer_reload = false;
	ApplyReport *report = nullptr; // filled by apply_plan when not null
};

int apply_plan(const Root &root, const Plan &plan, ModuleControl &mod, const StateStore &store,
	       const ExecOptions &opt, std::ostream &out, std::ostream &err);

int revert_state(const Root &root, ModuleControl &mod, const StateStore &store, const ExecOptions &opt,
		 std::ostream &out, std::ostream &err);

// "[rps] eth0 rx-0 (/sys/...): 0 -> f"
std::string describe_change(const Change &c);

} // namespace fsock
