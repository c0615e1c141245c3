// SPDX-License-Identifier: GPL-2.0
#include "profile/catalog.h"

#include <climits>
#include <cstdlib>
#include <set>

#include "profile/excerpt.h"
#include "profile/loader.h"
#include "profile/validate.h"
#include "system/state_store.h"

namespace fsock {

namespace {

const char *const kBootProfile = "/etc/fastsocket/profile.yaml";

std::string canonical(const std::string &p)
{
	char buf[PATH_MAX];
	return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

// A list shows one line per profile: the description's first line, short,
// control bytes escaped (a block scalar may hold several lines).
std::string first_line(const std::string &text)
{
	std::string line = text.substr(0, text.find('\n'));
	std::string shown = excerpt(line, kMaxDescriptionShown);
	return line.size() < text.size() && shown == line ? shown + " ..." : shown;
}

void describe(const ProfileLoader &loader, CatalogEntry *e)
{
	Profile p;
	std::vector<Diagnostic> diags;
	if (load_profile(loader, e->file, &p, &diags))
		e->description = first_line(p.description);
	else
		e->error = diags.empty() ? "invalid" : excerpt(diags.front().message);
}

} // namespace

Catalog list_profiles(const Root &root)
{
	Catalog c;
	ProfileLoader loader(root);
	std::vector<std::string> dirs = loader.search_dirs();
	std::string etc_dir = root.path("/etc/fastsocket/profiles");
	std::string shipped_dir = root.path(shipped_profile_dir());
	std::set<std::string> seen;
	for (const auto &dir : dirs) {
		std::string source = dir == etc_dir ? "etc" : dir == shipped_dir ? "shipped" : "path";
		Root any("/");
		std::size_t n = 0;
		for (const auto &f : any.list(dir)) {
			if (f.size() <= 5 || f.compare(f.size() - 5, 5, ".yaml") != 0)
				continue;
			if (++n > kMaxCatalogEntries) {
				c.truncated = true;
				break;
			}
			CatalogEntry e;
			e.name = f.substr(0, f.size() - 5);
			e.file = dir + "/" + f;
			e.source = source;
			e.overridden = !seen.insert(e.name).second;
			describe(loader, &e);
			c.entries.push_back(e);
		}
	}
	if (root.exists(kBootProfile)) {
		CatalogEntry e;
		e.name = "profile";
		e.file = root.path(kBootProfile);
		e.source = "boot";
		describe(loader, &e);
		c.entries.push_back(e);
	}

	try {
		StateStore store(root);
		if (auto st = store.load()) {
			c.active_profile = st->profile;
			c.active_file = st->profile_file;
			c.applied_at = st->applied_at;
		}
	} catch (const std::exception &ex) {
		c.state_error = excerpt(ex.what());
	}
	if (!c.active_file.empty()) {
		std::string want = canonical(c.active_file);
		for (auto &e : c.entries)
			e.active = canonical(e.file) == want;
	}
	return c;
}

} // namespace fsock
