// SPDX-License-Identifier: GPL-2.0
// What the profile loader accepts at most.  A profile is a few dozen lines;
// these bounds are far above any real one and keep a hostile file (alias
// bombs, include bombs, 10 MB values, deep nesting) to a few MB and well
// under a second.  docs/profiles.md lists the same numbers.
#pragma once

#include <cstddef>

namespace fsock {

constexpr std::size_t kMaxProfileBytes = 256 * 1024; // one file
constexpr std::size_t kMaxScalarBytes = 4096;	    // one key or value
constexpr std::size_t kMaxNodes = 10000;	    // keys + values + lists, all files of one load
constexpr std::size_t kMaxDepth = 16;		    // nested mappings and lists
constexpr std::size_t kMaxIncludedFiles = 32;	    // files read by one load, the top one included
constexpr std::size_t kMaxIncludeDepth = 8;	    // a includes b includes c ...
constexpr std::size_t kMaxErrorsShown = 20;	    // then "... and N more errors"

// What is left of the node budget while one load reads its files.
struct LoadBudget {
	std::size_t nodes_left = kMaxNodes;
	std::size_t files_read = 0;
};

} // namespace fsock
