// SPDX-License-Identifier: GPL-2.0
// Finding profiles and resolving `include:`.
//
// A profile is named either by a path (contains '/' or ends in .yaml/.yml,
// or an existing file) or by a bare name looked up as NAME.yaml in the
// search directories, first match wins:
//   $FASTSOCKET_PROFILE_PATH (colon-separated), <root>/etc/fastsocket/profiles,
//   <root>/<datadir>/fastsocket/profiles (the shipped ones), and for an
//   include also the including file's directory.
// So a profile in /etc/fastsocket/profiles overrides a shipped one of the
// same name.
//
// `include: X` or `include: [X, Y]`: X (then Y) are loaded first, then the
// including file's own keys are merged over them: the later value wins.
// Relative include paths are relative to the including file.
// Limits (profile/limits.h): kMaxIncludedFiles files in all, includes
// nested at most kMaxIncludeDepth deep, kMaxNodes nodes over all files.
#pragma once

#include <string>
#include <vector>

#include "profile/limits.h"
#include "profile/node.h"
#include "system/root.h"

namespace fsock {

struct LoadedProfile {
	PNode tree;			// merged, without the `include` key
	std::string name;		// file name without .yaml
	std::string file;		// the top file as displayed
	std::vector<std::string> files; // every file read, in merge order
};

class ProfileLoader {
public:
	explicit ProfileLoader(const Root &root);

	std::vector<std::string> search_dirs() const { return dirs_; }
	void set_search_dirs(std::vector<std::string> dirs) { dirs_ = std::move(dirs); }

	// Host path of a profile spec, or "" with *err set.
	// exclude: canonical path never returned for a bare name (the includer).
	std::string resolve(const std::string &spec, const std::string &relative_to, std::string *err,
			    const std::string &exclude = "") const;
	bool load(const std::string &spec, LoadedProfile *out, std::vector<Diagnostic> *diags) const;

private:
	bool load_file(const std::string &host_path, const std::string &display,
		       std::vector<std::string> *stack, LoadBudget *budget, PNode *out,
		       LoadedProfile *lp, std::vector<Diagnostic> *diags) const;

	const Root &root_;
	std::vector<std::string> dirs_;
};

// The shipped profile directory baked in at build time.
std::string shipped_profile_dir();

} // namespace fsock
