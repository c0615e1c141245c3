// SPDX-License-Identifier: GPL-2.0
// CPUs, NUMA nodes and network interfaces as seen through a Root.
#pragma once

#include <string>
#include <vector>

#include "system/cpuset.h"
#include "system/root.h"

namespace fsock {

struct Topology {
	CpuSet online;
	unsigned nr_cpu_ids = 0; // highest possible CPU + 1: the width of sysfs masks
};

// Reads /sys/devices/system/cpu/{online,possible}.  False with *err on failure.
bool read_topology(const Root &root, Topology *out, std::string *err);
// CPUs of NUMA node N (/sys/devices/system/node/nodeN/cpulist), empty if unknown.
CpuSet node_cpus(const Root &root, int node);

struct Interface {
	std::string name;
	bool physical = false;	  // has /sys/class/net/<if>/device
	std::string device;	  // basename of the device link (virtio0, 0000:00:03.0)
	int numa_node = -1;
	std::vector<unsigned> rx; // queue indices, ascending
	std::vector<unsigned> tx;
};

std::vector<std::string> list_interfaces(const Root &root);
bool read_interface(const Root &root, const std::string &name, Interface *out);

// Expands patterns: "all-physical", names and fnmatch globs.  An explicit
// name that does not exist is an error; a glob matching nothing is not.
bool select_interfaces(const Root &root, const std::vector<std::string> &patterns,
		       std::vector<Interface> *out, std::string *err);

// Names of running processes called `comm` (reads /proc/*/comm).
bool process_running(const Root &root, const std::string &comm);

std::string errno_text(int err);

// Plain decimal digits only, no sign or space, value <= max: what sysfs and
// procfs counters and indices look like.  False on anything else (including
// overflow), where std::stoul would throw or accept "12abc".
bool parse_decimal(const std::string &s, unsigned long long max, unsigned long long *out);

} // namespace fsock
