// SPDX-License-Identifier: GPL-2.0
// Validation of a loaded (merged) profile against the schema, and its
// conversion to a typed Profile.  Every problem is one Diagnostic:
//   FILE:LINE:COL: key.path: problem (found X; allowed: Y); did you mean 'Z'?
#pragma once

#include <string>
#include <vector>

#include "profile/loader.h"
#include "profile/profile.h"

namespace fsock {

bool validate_tree(const PNode &tree, std::vector<Diagnostic> *diags);
bool build_profile(const LoadedProfile &lp, Profile *out, std::vector<Diagnostic> *diags);

// load + validate + build in one call.
bool load_profile(const ProfileLoader &loader, const std::string &spec, Profile *out,
		  std::vector<Diagnostic> *diags);

} // namespace fsock
