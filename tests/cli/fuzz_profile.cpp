// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: any bytes as a profile file, through the YAML reader,
// the schema check and the conversion to a typed Profile.  Besides the
// sanitizers it checks the loader's promises: every message is short
// (values quoted as 80-character excerpts) and has a file:line:col.
// Built by tests/cli/fuzz.sh (clang, -DFASTSOCKET_FUZZ=ON).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "profile/validate.h"
#include "profile/yaml_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	std::string text(reinterpret_cast<const char *>(data), size);
	fsock::LoadBudget budget;
	fsock::PNode tree;
	std::vector<fsock::Diagnostic> diags;
	if (fsock::parse_yaml_text(text, "fuzz.yaml", &budget, &tree, &diags)) {
		fsock::LoadedProfile lp;
		lp.tree = tree;
		lp.name = "fuzz";
		lp.file = "fuzz.yaml";
		lp.files = {"fuzz.yaml"};
		fsock::Profile profile;
		fsock::build_profile(lp, &profile, &diags);
	} else if (diags.empty()) {
		std::abort(); // refused without saying why
	}
	for (const auto &d : diags) {
		// The longest fixed text is an "allowed:" list of ~600 characters;
		// a quoted value adds at most a few excerpts.
		if (d.str().size() > 2048 || d.origin.line < 1)
			std::abort();
	}
	return 0;
}
