// SPDX-License-Identifier: GPL-2.0
// A plan is a list of changes {path, current, new}.  `plan` prints it,
// `apply` executes it, `status` compares the live system with it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "system/sysinfo.h"
#include "system/xdp.h"

namespace fsock {

// How values of a file compare: the kernel reads back its own format
// ("f" is read back as "0000000f", "1024 65535" as "1024\t65535").
enum class ValueKind { Mask, CpuList, Words, File };

const char *kind_name(ValueKind k);
ValueKind kind_from_name(const std::string &s);
bool equivalent(ValueKind k, const std::string &a, const std::string &b);

struct Change {
	std::string area;   // rps, rfs, xps, irq, sysctl, modprobe
	std::string target; // what it is, for people: "eth0 rx-0", "net.core.somaxconn"
	std::string path;   // absolute path inside the root
	bool existed = true;
	std::string current; // raw content before (empty when !existed)
	std::string next;    // raw content to write
	ValueKind kind = ValueKind::Words;
	bool skip_on_eio = false; // IRQs the kernel refuses to move
	bool atomic = false;	  // regular file: temp + fsync + rename
	std::string note;

	bool pending() const { return !existed || !equivalent(kind, current, next); }
};

// Short one-line text of a raw value.
std::string show_value(ValueKind k, const std::string &raw, bool existed = true);

struct ModulePlan {
	bool managed = false; // the profile has a module section
	bool load = true;     // module.load
	bool loaded = false;
	std::optional<long> refcnt;
	std::optional<std::string> version;
	// Every parameter with the value the next load will use (profile value or
	// the table default), in table order.
	std::vector<std::pair<std::string, std::string>> effective;
	std::map<std::string, std::string> live;
	std::vector<std::string> differing; // "name: live -> wanted"
	enum class Action { None, Load, Reload } action = Action::None;
};

// RFD reply steering on one interface: attach our XDP program
// (tuning/rfd_steering.cpp).  A foreign program is never replaced: ours
// joins libxdp's dispatcher beside it, or stays out when it does not use one.
struct XdpChange {
	std::string iface;
	RfdSteering cfg;
	XdpInfo current;
	bool blocked() const { return current.attached && !current.ours() && !current.dispatcher; }
	bool pending() const { return !current.ours() && !blocked(); }
};

struct Plan {
	std::string profile_name;
	std::string profile_file;
	Topology topo;
	std::vector<Interface> interfaces;
	std::vector<Change> changes;
	std::vector<XdpChange> xdp;
	ModulePlan module;
	std::vector<std::string> warnings;
	std::vector<std::string> notes;

	std::size_t pending_count() const;
	bool nothing_to_do() const { return pending_count() == 0 && module.action == ModulePlan::Action::None; }
};

} // namespace fsock
