// SPDX-License-Identifier: GPL-2.0
// Quoting user text in messages: a value, key, interface or include name
// may be a whole key file or 10 MB of junk, so a message shows at most a
// short excerpt, on one line, with control bytes escaped.
#pragma once

#include <cstddef>
#include <string>

namespace fsock {

constexpr std::size_t kExcerptChars = 80;

// `text` with control bytes as \n, \t, \xNN; when longer than max_chars
// characters, its first max_chars followed by "... (N bytes)".  UTF-8
// sequences are never cut in the middle.
std::string excerpt(const std::string &text, std::size_t max_chars = kExcerptChars);

// A file name for messages: whole when short, else "..." and its last
// max_chars characters (the end names the file).
std::string path_excerpt(const std::string &path, std::size_t max_chars = 2 * kExcerptChars);

} // namespace fsock
