// SPDX-License-Identifier: GPL-2.0
#include <ostream>

#include "commands/commands.h"
#include "profile/validate.h"

namespace fsock {

int load_checked(const Root &root, const std::string &spec, Profile *out, std::ostream &err)
{
	ProfileLoader loader(root);
	std::vector<Diagnostic> diags;
	if (load_profile(loader, spec, out, &diags))
		return kExitOk;
	bool unreadable = false;
	for (const auto &d : diags) {
		if (d.origin.line == 0) {
			unreadable = true;
			err << "error: " << d.origin.file << ": " << d.message << "\n";
		} else {
			err << d.str() << "\n";
		}
	}
	return unreadable && diags.size() == 1 ? kExitFailure : kExitInvalid;
}

} // namespace fsock
