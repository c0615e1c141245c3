// SPDX-License-Identifier: GPL-2.0
#include "profile/node.h"

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace fsock {

std::string Origin::str() const
{
	return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

std::string Diagnostic::str() const
{
	std::string s = origin.str() + ": ";
	if (!key_path.empty())
		s += key_path + ": ";
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
		return quoted ? "\"" + scalar + "\"" : scalar;
	case Kind::Map:
		return "a mapping";
	case Kind::Seq:
		return "a list";
	}
	return "?";
}

namespace {

Origin origin_of(const YAML::Mark &m, const std::string &file)
{
	Origin o;
	o.file = file;
	o.line = m.line + 1;
	o.col = m.column + 1;
	return o;
}

bool convert(const YAML::Node &n, const std::string &file, const std::string &path,
	     PNode *out, std::vector<Diagnostic> *diags)
{
	out->origin = origin_of(n.Mark(), file);
	switch (n.Type()) {
	case YAML::NodeType::Undefined:
	case YAML::NodeType::Null:
		out->kind = PNode::Kind::Null;
		return true;
	case YAML::NodeType::Scalar:
		out->kind = PNode::Kind::Scalar;
		out->scalar = n.Scalar();
		out->quoted = n.Tag() == "!";
		return true;
	case YAML::NodeType::Sequence: {
		out->kind = PNode::Kind::Seq;
		bool ok = true;
		std::size_t i = 0;
		for (const auto &item : n) {
			PNode child;
			ok &= convert(item, file, path + "[" + std::to_string(i++) + "]", &child, diags);
			out->seq.push_back(std::move(child));
		}
		return ok;
	}
	case YAML::NodeType::Map: {
		out->kind = PNode::Kind::Map;
		bool ok = true;
		for (const auto &kv : n) {
			Origin ko = origin_of(kv.first.Mark(), file);
			if (!kv.first.IsScalar()) {
				diags->push_back({ko, path, "keys must be plain words (found a non-scalar key)"});
				ok = false;
				continue;
			}
			std::string key = kv.first.Scalar();
			std::string kp = path.empty() ? key : path + "." + key;
			if (const PNode *prev = out->find(key)) {
				diags->push_back({ko, kp, "duplicate key (first defined at line " +
						  std::to_string(prev->key_origin.line) + ")"});
				ok = false;
				continue;
			}
			PNode child;
			ok &= convert(kv.second, file, kp, &child, diags);
			child.key_origin = ko;
			out->map.emplace_back(key, std::move(child));
		}
		return ok;
	}
	}
	return true;
}

} // namespace

bool parse_yaml_file(const std::string &host_path, const std::string &display_name,
		     PNode *out, std::vector<Diagnostic> *diags)
{
	std::ifstream in(host_path);
	if (!in) {
		Origin o{display_name, 0, 0};
		diags->push_back({o, "", "cannot read file"});
		return false;
	}
	std::stringstream ss;
	ss << in.rdbuf();
	YAML::Node doc;
	try {
		doc = YAML::Load(ss.str());
	} catch (const YAML::ParserException &e) {
		diags->push_back({origin_of(e.mark, display_name), "", "YAML syntax error: " + e.msg});
		return false;
	} catch (const YAML::Exception &e) {
		diags->push_back({Origin{display_name, 1, 1}, "", std::string("YAML error: ") + e.what()});
		return false;
	}
	*out = PNode();
	bool ok = convert(doc, display_name, "", out, diags);
	if (ok && out->kind == PNode::Kind::Null) {
		out->origin = Origin{display_name, 1, 1};
		diags->push_back({out->origin, "", "empty profile (expected a mapping with 'version: 1')"});
		return false;
	}
	return ok;
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
