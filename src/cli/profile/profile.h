// SPDX-License-Identifier: GPL-2.0
// A validated profile, as typed values.  Sections left out of the profile
// are not managed at all (`enabled` is false).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "profile/node.h"
#include "system/cpuset.h"

namespace fsock {

struct CpuSpec {
	enum class Kind { All, NumaLocal, List };
	Kind kind = Kind::All;
	CpuSet list;	  // for Kind::List
	std::string text; // as written
	Origin origin;
};

struct Profile {
	std::string name;
	std::string file;
	std::vector<std::string> files;
	std::string description;

	std::vector<std::string> interfaces{"all-physical"};
	Origin interfaces_origin;

	struct Module {
		bool enabled = false; // a `module:` section exists
		bool load = true;     // load/reload fastsocket.ko with the parameters
		// Parameters set by the profile, in the order of the X-macro table.
		std::vector<std::pair<std::string, long>> params;
	} module;

	struct Steering {
		bool enabled = false;
		CpuSpec cpus;
	};
	Steering rps, xps, irq;

	struct Rfs {
		bool enabled = false;
		long flow_entries = 32768;
		long flow_cnt = -1; // -1 = auto: flow_entries / number of rx queues
	} rfs;

	// (sysctl name, value as it will be written)
	std::vector<std::pair<std::string, std::string>> sysctl;
};

} // namespace fsock
