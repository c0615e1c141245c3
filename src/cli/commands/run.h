// SPDX-License-Identifier: GPL-2.0
// `fastsocket run`: the launcher for libfsocket.so.  The environment it
// builds is computed separately from the exec so it can be tested.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "system/root.h"

namespace fsock {

struct RunRequest {
	std::string lib;	  // --lib
	std::string mode = "auto"; // off | module | userspace | auto
	int listen_spawn = -1;	  // -1: not given
	std::string cpus;	  // FASTSOCKET_CPUS
	int verbose = -1;
	int rfd = -1;		  // FASTSOCKET_RFD; -1: the library reads the module parameter
	int fast_epoll = -1;	  // FASTSOCKET_FAST_EPOLL
	std::vector<std::string> command;
};

struct ModuleProbe {
	bool usable = false;
	std::string text; // "module 0.1.0 (abi 1, 4 CPUs, listen_spawn 2)" or why not
	int listen_spawn = -1; // the module's enable_listen_spawn when usable
};

// Opens /dev/fastsocket (inside the root) and asks FSOCKET_IOC_VERSION.
ModuleProbe probe_module(const Root &root);

// Library path: --lib, else $FASTSOCKET_LIB, else the installed library in
// its private directory (never a build tree).  "" when none exists (*tried
// lists them).
std::string find_library(const std::string &explicit_lib, std::string *tried);

// LD_PRELOAD with lib first, without duplicating it.
std::string prepend_preload(const std::string &current, const std::string &lib);

// What will be in effect, in one line.
std::string effect_line(const RunRequest &req, const std::string &lib, const ModuleProbe &probe,
			const std::string &kernel_release);

} // namespace fsock
