// SPDX-License-Identifier: GPL-2.0
// A YAML document (read by profile/yaml_reader.h) as a small tree that remembers where every key and value
// came from (file, line, column), so errors found after `include:` merging
// still point at the right file.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fsock {

struct Origin {
	std::string file;
	int line = 0; // 1-based
	int col = 0;  // 1-based
	std::string str() const;
};

struct PNode {
	enum class Kind { Null, Scalar, Map, Seq };
	Kind kind = Kind::Null;
	std::string scalar;
	bool quoted = false; // scalar was written in quotes: never a number
	std::vector<std::pair<std::string, PNode>> map;
	std::vector<PNode> seq;
	Origin origin;     // of the value
	Origin key_origin; // of its key, when it is a mapping value

	const PNode *find(const std::string &key) const;
	PNode *find(const std::string &key);
	bool is_map() const { return kind == Kind::Map; }
	bool is_scalar() const { return kind == Kind::Scalar; }
	bool is_seq() const { return kind == Kind::Seq; }
	// Short text of the value for messages: the scalar (an excerpt of
	// at most 80 characters), "a mapping", ...
	std::string describe() const;
};

struct Diagnostic {
	Origin origin;
	std::string key_path; // "rps.cpus"; empty for file-level errors
	std::string message;
	std::string str() const; // "file:line:col: key.path: message"
};

// Deep merge: mappings merge key by key (recursively); any other value in
// `over` replaces the one in `base`.
void merge_into(PNode *base, const PNode &over);

} // namespace fsock
