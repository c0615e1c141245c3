// SPDX-License-Identifier: GPL-2.0
// tuned (tuned-adm) sets sysctls, IRQ affinity and RPS masks too: when it
// runs with a profile that touches the knobs a plan sets, whichever writes
// last wins (tuned re-applies at every start).  plan and apply warn.
//
// Active: /etc/tuned/active_profile names the profile(s) and a tuned process
// runs (/run/tuned/tuned.pid, else a process called tuned).  A profile is
// /etc/tuned/[profiles/]NAME/tuned.conf, else /usr/lib/tuned/[profiles/]NAME/
// tuned.conf, an INI file; [main] include= pulls in others first; a section
// is a plugin by its name or its type= key.
// Bounded: names of at most kTunedMaxName bytes of [A-Za-z0-9_.-], files
// of at most kTunedMaxConfBytes, kTunedMaxFiles files per lookup.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "system/root.h"

namespace fsock {

struct Plan;

constexpr std::size_t kTunedMaxName = 64;
constexpr std::size_t kTunedMaxConfBytes = 64 * 1024;
constexpr std::size_t kTunedMaxFiles = 16;

struct TunedState {
	bool running = false;
	std::vector<std::string> profiles; // from active_profile, valid names only
	std::vector<std::string> problems; // what was skipped and why
};

// The knobs a tuned profile (with its includes) sets.
struct TunedKnobs {
	std::map<std::string, std::string> sysctl; // name (dots) -> tuned.conf that sets it
	std::string irq;			   // a tuned.conf with irq affinity settings, or ""
	std::string rps;			   // a tuned.conf writing rps/xps/rps_flow_cnt via [sysfs], or ""
	std::vector<std::string> files;		   // host paths read
	std::vector<std::string> problems;
};

bool valid_tuned_name(const std::string &name);
TunedState read_tuned_state(const Root &root);
// Parses one tuned.conf text into *out; returns its [main] include= names.
std::vector<std::string> parse_tuned_conf(const std::string &text, const std::string &file, TunedKnobs *out);
TunedKnobs read_tuned_knobs(const Root &root, const std::vector<std::string> &profiles);

// Adds a warning to the plan for every overlap with an active tuned.
void add_tuned_warnings(const Root &root, Plan *plan);

} // namespace fsock
