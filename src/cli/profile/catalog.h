// SPDX-License-Identifier: GPL-2.0
// The profiles a bare NAME can mean (`fastsocket profile list`): every
// NAME.yaml of the loader's search directories, where each comes from, its
// description, which one a NAME resolves to (the first directory wins, the
// others are "overridden"), and which one the last apply used.
#pragma once

#include <string>
#include <vector>

#include "system/root.h"

namespace fsock {

constexpr std::size_t kMaxCatalogEntries = 1024; // per directory
constexpr std::size_t kMaxDescriptionShown = 120; // characters of its first line

struct CatalogEntry {
	std::string name;
	std::string file;	 // host path
	std::string source;	 // "shipped", "etc" (/etc/fastsocket/profiles), "path" ($FASTSOCKET_PROFILE_PATH), "boot"
	std::string description; // first line, at most kMaxDescriptionShown characters; "" when none
	std::string error;	 // the first problem when the profile is invalid
	bool overridden = false; // a directory searched first has NAME.yaml too
	bool active = false;	 // the profile of the last apply (saved state)
};

struct Catalog {
	std::vector<CatalogEntry> entries; // search order, then name
	std::string active_profile;	   // from the saved state; "" when nothing applied
	std::string active_file;
	std::string applied_at;
	std::string state_error; // the saved state cannot be read
	bool truncated = false;
};

// /etc/fastsocket/profile.yaml, the profile the boot unit applies, is listed
// too (source "boot") when it exists.
Catalog list_profiles(const Root &root);

} // namespace fsock
