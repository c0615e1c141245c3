// SPDX-License-Identifier: GPL-2.0
// `fastsocket status`: what is in effect, built once and rendered as text,
// JSON or Prometheus textfile metrics.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "profile/profile.h"
#include "system/listeners.h"
#include "system/module_control.h"
#include "system/state_store.h"
#include "system/stats.h"

namespace fsock {

struct StatusReport {
	struct Param {
		std::string name, live, applied, def, description;
		std::string effect; // what it does on this kernel (param_effect)
	};
	struct Drift {
		std::string area, target, path, want, now;
	};
	struct Queue {
		std::string name; // rx-0, tx-0
		std::string rps_cpus, rps_flow_cnt, xps_cpus;
	};
	struct Irq {
		unsigned irq;
		unsigned queue;
		std::string name, affinity;
	};
	struct Iface {
		std::string name;
		std::vector<Queue> queues;
		std::vector<Irq> irqs;
		std::string xdp; // live system only: "none", our program, or another one
	};

	bool module_loaded = false;
	std::optional<std::string> module_version;
	std::optional<long> module_refcnt;
	std::vector<Param> params;
	std::string profile; // applied profile ("" = none)
	std::string profile_file, applied_at, state_path;
	bool reload_deferred = false;
	std::vector<Drift> drift;
	std::string rps_sock_flow_entries;
	std::vector<Iface> interfaces;
	ModuleStats stats;
	ListenerTable listeners; // /proc/fastsocket/listeners, all netns
	std::optional<std::string> secure_boot_hint;
	std::vector<std::string> errors;   // status could not be read fully: exit 1
	std::vector<std::string> warnings; // e.g. an unreadable counters file
};

// `against`: compare with this profile's plan instead of the saved state.
StatusReport build_status(const Root &root, const ModuleControl &mod, const StateStore &store,
			  const Profile *against);
void render_text(const StatusReport &r, std::ostream &out);
void render_json(const StatusReport &r, std::ostream &out);
void render_prometheus(const StatusReport &r, std::ostream &out);

} // namespace fsock
