// SPDX-License-Identifier: GPL-2.0
// The subcommands.  Each file registers one subcommand on the CLI11 app and
// runs it; main.cpp holds the dispatch table.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>

#include "profile/profile.h"
#include "system/root.h"

namespace fsock {

// Exit codes shared by every subcommand.
enum ExitCode { kExitOk = 0, kExitFailure = 1, kExitInvalid = 2 };

struct Globals {
	std::string root = "/";
	int exit_code = kExitOk;
};

void register_validate(CLI::App &app, Globals &g);
void register_plan(CLI::App &app, Globals &g);
void register_apply(CLI::App &app, Globals &g);
void register_revert(CLI::App &app, Globals &g);
void register_status(CLI::App &app, Globals &g);
void register_run(CLI::App &app, Globals &g);
void register_off(CLI::App &app, Globals &g);
void register_on(CLI::App &app, Globals &g);
void register_profile(CLI::App &app, Globals &g);
void register_recommend(CLI::App &app, Globals &g);
void register_ps(CLI::App &app, Globals &g);

// Load + validate a profile, printing diagnostics to err.  Returns kExitOk,
// kExitInvalid (the profile is wrong) or kExitFailure (cannot read it).
int load_checked(const Root &root, const std::string &spec, Profile *out, std::ostream &err);

class StateLock;
// apply and revert: adds --wait[=SECONDS] to `sub`; *wait is 0 (fail when
// busy), the seconds given, or -1 (forever).
void add_wait_option(CLI::App *sub, double *wait);
// Takes the state lock (see system/state_lock.h) and removes temporary files
// a killed run left.  False, with the message printed and g.exit_code set,
// when it cannot.
bool lock_state(Globals &g, const Root &root, StateLock *lock, double wait);

struct Plan;
class ModuleControl;
// plan and apply: load + validate `spec`, build its plan for the system and
// hand it to `use`, whose return value becomes the exit code.  An invalid
// profile or a plan that does not fit the system is reported here
// (`plan_error_tail` is appended to the plan error's message).
void with_plan(Globals &g, const std::string &spec, const char *plan_error_tail,
	       const std::function<int(const Root &, const Plan &, ModuleControl &)> &use);

// Prints a plan: header, every pending change (all changes with show_all),
// module action, warnings.
void print_plan(const Plan &plan, const Root &root, bool show_all, std::ostream &out);

} // namespace fsock
