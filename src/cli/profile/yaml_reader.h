// SPDX-License-Identifier: GPL-2.0
// YAML text -> PNode, under the limits of profile/limits.h.
//
// The tree is built from yaml-cpp's parser events (never YAML::Load), so
// every limit applies before memory is spent: anchors and aliases are
// refused (an alias can share a node many times over: billion laughs,
// self-reference), as are tags, more than one document, scalars over
// kMaxScalarBytes, nesting deeper than kMaxDepth and more than the node
// budget.  Scalars are strict: a plain value that continues on the next
// line, or a quoted one not closed on its own line, is refused, so a
// missing quote cannot swallow the rest of the file.
#pragma once

#include <string>
#include <vector>

#include "profile/limits.h"
#include "profile/node.h"

namespace fsock {

// Parses `text` (the content of display_name).  On any error returns false
// with at least one Diagnostic (file:line:col) appended to *diags.
bool parse_yaml_text(const std::string &text, const std::string &display_name, LoadBudget *budget,
		     PNode *out, std::vector<Diagnostic> *diags);

// Reads host_path (a regular file of at most kMaxProfileBytes, see
// system/file_read.h) and parses it.  A file that cannot be read at all gets
// a Diagnostic with line 0 carrying the reason.
bool parse_yaml_file(const std::string &host_path, const std::string &display_name, LoadBudget *budget,
		     PNode *out, std::vector<Diagnostic> *diags);

} // namespace fsock
