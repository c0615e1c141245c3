// SPDX-License-Identifier: GPL-2.0
// The module's host-wide view of its listeners, /proc/fastsocket/listeners:
// "# fastsocket listeners v1", then one line per listen group of space
// separated key=value pairs (netns=, addr=, pids=, backlog=, queued=, cpus=,
// cpu<N>=, local=, remote=, ...).  Parsed generically: unknown keys are kept
// and shown, never an error.  The file is input like any other: at most
// kListenersMaxBytes and kListenersMaxLines are read, values are capped at
// kListenersMaxValue bytes, and a malformed line is skipped (one warning for
// all of them).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "system/root.h"

namespace fsock {

extern const char *const kListenersPath;
constexpr std::size_t kListenersMaxBytes = 1 << 20;
constexpr std::size_t kListenersMaxLines = 4096;
// pids and cpus lists of a 512-CPU host fit; so do its cpu<N>= counters.
constexpr std::size_t kListenersMaxValue = 4096;
constexpr std::size_t kListenersMaxLine = 65536;

struct ListenerGroup {
	// In file order; keys are unique, [a-z0-9_]{1,32}; values are printable
	// ASCII without '"' or '\' (safe in text, JSON and Prometheus labels).
	std::vector<std::pair<std::string, std::string>> fields;

	const std::string *get(const std::string &key) const;
	// cpu<N>=<count> pairs, sorted by N.
	std::vector<std::pair<unsigned, std::string>> per_cpu() const;
};

struct ListenerTable {
	bool present = false;	// the file exists (module loaded, new enough)
	std::string read_error; // present but unreadable (e.g. not root)
	std::vector<ListenerGroup> groups;
	std::string warning; // malformed / truncated input: one sentence
};

ListenerTable parse_listeners(const std::string &text, bool truncated = false);
ListenerTable read_listeners(const Root &root);

// A decimal value that fits 64 bits ("" and "-" are not numbers).
bool is_counter_value(const std::string &v);
// "cpu17" -> 17; false for anything else.
bool per_cpu_key(const std::string &key, unsigned *cpu);

} // namespace fsock
