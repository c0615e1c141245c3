// SPDX-License-Identifier: GPL-2.0
// The per-process counters files libfsocket.so keeps (src/lib/proc_counters.c,
// format src/lib/fsock_counters.h, docs/library.md): found in
// /run/fastsocket/lib (root's processes), /run/user/UID/fastsocket and
// $XDG_RUNTIME_DIR/fastsocket (other users').  A file is live while its pid
// runs with the start time the file records and still maps it; otherwise
// it is stale and removed.  A file that is not what the library writes
// (size, magic, version, field values) is rejected with a short reason and
// left alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "system/root.h"

namespace fsock {

struct LibListener {
	bool v6 = false;
	std::string address; // "0.0.0.0", "::1"
	unsigned port = 0;
	std::string path;     // "module" or "fallback"
	uint64_t accepts_local = 0;
	uint64_t accepts_global = 0;
	std::string cpus;     // CPUs with a local listener of this process, "0-1" ("" none)
	std::string endpoint() const; // "0.0.0.0:80", "[::1]:443"
};

struct LibCounters {
	std::string file;	  // path (as on the host, not under --root)
	unsigned long pid = 0;
	uint64_t start_time = 0;  // clock ticks after boot (/proc/PID/stat field 22)
	std::string backend;	  // "module", "userspace"
	uint64_t listeners_total = 0;
	uint64_t accepts_local = 0;  // listed listeners + closed ones
	uint64_t accepts_global = 0;
	std::vector<LibListener> listeners;
};

// Parses one file's bytes; false with *why (short) when it is not a valid
// file of pid `pid`.
bool parse_lib_counters(const std::string &bytes, unsigned long pid, LibCounters *out, std::string *why);

struct LibCounterScan {
	std::map<unsigned long, LibCounters> live; // by pid
	std::vector<std::string> removed;	   // "PATH (reason)"
	std::vector<std::string> rejected;	   // "PATH: reason"
};

// Reads every counters directory under `root`; stale files are removed.
LibCounterScan scan_lib_counters(const Root &root);

} // namespace fsock
