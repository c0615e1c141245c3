// SPDX-License-Identifier: GPL-2.0
// The saved state: what `apply` changed and the values it found before, so
// `revert` can restore them byte for byte and `status` can detect drift.
// Stored as JSON in <root>/var/lib/fastsocket/saved.json, written (temp file,
// fsync, rename, fsync of the directory) before anything is changed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "system/root.h"
#include "tuning/change.h"

namespace fsock {

struct SavedEntry {
	std::string area, target, path;
	ValueKind kind = ValueKind::Words;
	bool existed = true;
	std::string value; // original raw bytes (originals) or applied value
};

// An XDP reply-steering program apply attached (tuning/rfd_steering.cpp).
struct SavedXdp {
	std::string iface;
	uint32_t prog_id = 0;
	unsigned r = 0, port_lo = 0, port_hi = 0;
};

struct SavedState {
	std::string profile;
	std::string profile_file;
	std::string applied_at;
	std::vector<SavedEntry> originals; // first value seen, in first-applied order
	std::vector<SavedEntry> applied;   // what the last apply wants
	bool module_managed = false;
	bool module_was_loaded = false;
	std::map<std::string, std::string> module_params_before;
	std::map<std::string, std::string> module_params_applied;
	bool module_reload_deferred = false;
	std::vector<SavedXdp> xdp;
};

class StateStore {
public:
	explicit StateStore(const Root &root, std::string path = kDefaultPath);
	static const char *const kDefaultPath;

	const std::string &path() const { return path_; }
	// nullopt when there is no saved state; throws std::runtime_error when
	// the file exists but cannot be read or parsed.
	std::optional<SavedState> load() const;
	int save(const SavedState &s) const;
	int remove() const;
	// Raw file content, to put back exactly after a failed apply; nullopt
	// when absent, throws std::runtime_error when unreadable.
	std::optional<std::string> raw() const;
	int restore_raw(const std::optional<std::string> &raw) const;

private:
	const Root &root_;
	std::string path_;
};

std::string to_json(const SavedState &s);
SavedState from_json(const std::string &text);

} // namespace fsock
