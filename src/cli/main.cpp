// SPDX-License-Identifier: GPL-2.0
// fastsocket: validate, plan and apply tuning profiles; run programs with
// libfsocket.so.  One subcommand per file in commands/.
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands/commands.h"
#include "commands/journal_priority.h"

namespace {

struct SubcommandEntry {
	const char *name;
	void (*reg)(CLI::App &, fsock::Globals &);
};

// The dispatch table: every subcommand, in the order --help lists them.
const SubcommandEntry kSubcommands[] = {
	{"validate", fsock::register_validate},
	{"plan", fsock::register_plan},
	{"apply", fsock::register_apply},
	{"revert", fsock::register_revert},
	{"status", fsock::register_status},
	{"run", fsock::register_run},
	{"off", fsock::register_off},
	{"on", fsock::register_on},
	{"profile", fsock::register_profile},
	{"recommend", fsock::register_recommend},
	{"ps", fsock::register_ps},
};

} // namespace

int main(int argc, char **argv)
{
	// Under systemd: "<4>warning: ...", "<3>error: ..." for the journal.
	auto journal = fsock::journal_priorities_for_stderr();
	fsock::Globals g;
	CLI::App app{"fastsocket " FASTSOCKET_VERSION_STRING
		     " - per-CPU listen tables and network tuning for short-lived TCP connections"};
	app.name("fastsocket");
	app.set_version_flag("-V,--version", "fastsocket " FASTSOCKET_VERSION_STRING);
	app.add_option("--root", g.root,
		       "Act on a directory shaped like / instead of the live system (testing, images)")
		->check(CLI::ExistingDirectory);
	app.require_subcommand(1);
	app.fallthrough();
	for (const auto &e : kSubcommands)
		e.reg(app, g);
	app.footer(R"(Profiles: NAME means NAME.yaml in /etc/fastsocket/profiles (yours, they win) then the
shipped profile directory; or give a path.  `fastsocket validate --schema` lists every key.

Typical use:
  fastsocket validate proxy              # check the profile
  fastsocket plan proxy                  # exact changes, nothing written
  fastsocket apply proxy                 # modprobe options, RPS/RFS/XPS, IRQs, sysctls
  fastsocket run -- haproxy -f /etc/haproxy/haproxy.cfg
  fastsocket status [--json|--prometheus [--output FILE]]
  fastsocket profile list                # profiles, where each comes from, the active one
  fastsocket recommend                   # which profile fits the servers and NICs here
  fastsocket ps                          # processes using libfsocket.so and their listeners
  fastsocket off                         # per-CPU steering off at run time (fastsocket on: back)
  fastsocket revert                      # restore what apply changed

Exit codes: 0 success; 1 operational failure (cannot read/write the system, rolled back);
2 invalid profile or usage; status: 3 drift found; apply --detailed-exitcode: 4 nothing
to do; run: the program's exit code.
Run `fastsocket SUBCOMMAND --help` for details.)");
	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForAllHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForVersion &e) {
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		app.exit(e);
		return fsock::kExitInvalid;
	} catch (const std::exception &e) {
		std::cerr << "error: " << e.what() << "\n";
		return fsock::kExitFailure;
	}
	return g.exit_code;
}
