// SPDX-License-Identifier: GPL-2.0
#include "profile/node.h"

#include "profile/excerpt.h"

namespace fsock {

std::string Origin::str() const
{
	return path_excerpt(file) + ":" + std::to_string(line) + ":" + std::to_string(col);
}

std::string Diagnostic::str() const
{
	std::string s = origin.str() + ": ";
	if (!key_path.empty())
		s += excerpt(key_path) + ": ";
	return s + message;
}

const PNode *PNode::find(const std::string &key) const
{
	for (const auto &kv : map)
		if (kv.first == key)
			return &kv.second;
	return nullptr;
}

PNode *PNode::find(const std::string &key)
{
	for (auto &kv : map)
		if (kv.first == key)
			return &kv.second;
	return nullptr;
}

std::string PNode::describe() const
{
	switch (kind) {
	case Kind::Null:
		return "nothing (null)";
	case Kind::Scalar:
		return quoted ? "\"" + excerpt(scalar) + "\"" : excerpt(scalar);
	case Kind::Map:
		return "a mapping";
	case Kind::Seq:
		return "a list";
	}
	return "?";
}

void merge_into(PNode *base, const PNode &over)
{
	if (base->is_map() && over.is_map()) {
		for (const auto &kv : over.map) {
			PNode *b = base->find(kv.first);
			if (b && b->is_map() && kv.second.is_map())
				merge_into(b, kv.second);
			else if (b)
				*b = kv.second;
			else
				base->map.push_back(kv);
		}
		return;
	}
	Origin ko = base->key_origin;
	*base = over;
	if (over.key_origin.line == 0)
		base->key_origin = ko;
}

} // namespace fsock
