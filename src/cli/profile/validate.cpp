// SPDX-License-Identifier: GPL-2.0
#include "profile/validate.h"

#include "fastsocket_params.h"
#include "profile/excerpt.h"
#include "profile/schema.h"

namespace fsock {

namespace {

void walk(const Field &schema, const PNode &node, const std::string &path, std::vector<Diagnostic> *diags)
{
	if (!node.is_map()) {
		diags->push_back({node.origin, path, "expected a mapping (found " + node.describe() + ")"});
		return;
	}
	std::vector<std::string> names;
	for (const auto &c : schema.children)
		names.push_back(c.name);
	for (const auto &kv : node.map) {
		std::string kp = path.empty() ? kv.first : path + "." + kv.first;
		const Field *f = nullptr;
		for (const auto &c : schema.children)
			if (c.name == kv.first)
				f = &c;
		if (!f) {
			std::string allowed;
			for (const auto &n : names)
				allowed += (allowed.empty() ? "" : ", ") + n;
			std::string msg = "unknown key (found '" + excerpt(kv.first) + "'; allowed: " + allowed + ")";
			std::string near = nearest(kv.first, names);
			if (!near.empty())
				msg += "; did you mean '" + near + "'?";
			diags->push_back({kv.second.key_origin, kp, msg});
			continue;
		}
		if (f->is_map) {
			if (kv.second.kind == PNode::Kind::Null)
				continue; // "rps:" alone: the section with its defaults
			walk(*f, kv.second, kp, diags);
			continue;
		}
		std::string problem = f->check ? f->check(kv.second) : "";
		if (!problem.empty()) {
			std::string msg = problem;
			if (problem.rfind("expected", 0) != 0)
				msg += " (found " + kv.second.describe() + "; allowed: " + f->allowed + ")";
			diags->push_back({kv.second.origin, kp, msg});
		}
	}
}

bool to_bool(const PNode *n, bool def)
{
	return n ? n->scalar == "true" : def;
}

CpuSpec to_cpus(const PNode *n)
{
	CpuSpec s;
	if (!n)
		return s;
	s.text = n->scalar;
	s.origin = n->origin;
	if (n->scalar == "all") {
		s.kind = CpuSpec::Kind::All;
	} else if (n->scalar == "numa-local") {
		s.kind = CpuSpec::Kind::NumaLocal;
	} else {
		s.kind = CpuSpec::Kind::List;
		CpuSet::parse_list(n->scalar, &s.list, nullptr);
	}
	return s;
}

void steering(const PNode &tree, const char *name, Profile::Steering *out)
{
	const PNode *sec = tree.find(name);
	if (!sec)
		return;
	const PNode *en = sec->is_map() ? sec->find("enabled") : nullptr;
	out->enabled = to_bool(en, true);
	out->cpus = to_cpus(sec->is_map() ? sec->find("cpus") : nullptr);
	if (out->cpus.text.empty()) {
		out->cpus.text = "all";
		out->cpus.origin = sec->origin;
	}
}

} // namespace

bool validate_tree(const PNode &tree, std::vector<Diagnostic> *diags)
{
	std::size_t before = diags->size();
	walk(profile_schema(), tree, "", diags);
	return diags->size() == before;
}

bool build_profile(const LoadedProfile &lp, Profile *out, std::vector<Diagnostic> *diags)
{
	const PNode &t = lp.tree;
	if (!validate_tree(t, diags))
		return false;
	Profile p;
	p.name = lp.name;
	p.file = lp.file;
	p.files = lp.files;
	if (const PNode *d = t.find("description"))
		p.description = d->scalar;
	if (const PNode *i = t.find("interfaces")) {
		p.interfaces.clear();
		p.interfaces_origin = i->origin;
		if (i->is_scalar())
			p.interfaces.push_back(i->scalar);
		else
			for (const auto &e : i->seq)
				p.interfaces.push_back(e.scalar);
	}
	const PNode *params_node = nullptr;
	if (const PNode *m = t.find("module")) {
		p.module.enabled = true;
		if (m->is_map()) {
			p.module.load = to_bool(m->find("load"), true);
			params_node = m->find("parameters");
		}
		if (params_node && params_node->is_map()) {
#define X(name, def, min, max, allowed, desc)                 \
	if (const PNode *v = params_node->find(#name)) {      \
		long val = 0;                                 \
		parse_long(v->scalar, &val);                  \
		p.module.params.emplace_back(#name, val);     \
	}
			FSOCKET_PARAMS(X)
#undef X
		}
	}
	steering(t, "rps", &p.rps);
	steering(t, "xps", &p.xps);
	steering(t, "irq", &p.irq);
	if (const PNode *r = t.find("rfs")) {
		const PNode *en = r->is_map() ? r->find("enabled") : nullptr;
		p.rfs.enabled = to_bool(en, true);
		if (r->is_map()) {
			if (const PNode *fe = r->find("flow_entries"))
				parse_long(fe->scalar, &p.rfs.flow_entries);
			if (const PNode *fc = r->find("flow_cnt"))
				if (fc->scalar != "auto")
					parse_long(fc->scalar, &p.rfs.flow_cnt);
		}
	}
	if (const PNode *s = t.find("sysctl")) {
		if (s->is_map()) {
			for (const auto &kv : s->map)
				p.sysctl.emplace_back(kv.first, canonical_sysctl_value(kv.second));
		}
	}

	// Cross-field rules.
	bool ok = true;
	if (params_node) {
		const PNode *rcs = params_node->find("enable_receive_cpu_selection");
		if (rcs && rcs->scalar == "1" && !p.rfs.enabled) {
			diags->push_back({rcs->origin, "module.parameters.enable_receive_cpu_selection",
					  "needs RFS, its upstream equivalent (found 1 without an enabled 'rfs' section; "
					  "allowed: 0, or 1 together with 'rfs: {enabled: true}')"});
			ok = false;
		}
		const PNode *rfd = params_node->find("enable_receive_flow_deliver");
		const PNode *ls = params_node->find("enable_listen_spawn");
		if (rfd && rfd->scalar == "1" && ls && ls->scalar == "0") {
			diags->push_back({rfd->origin, "module.parameters.enable_receive_flow_deliver",
					  "receive flow deliver steers replies to the CPU of a listen-spawn worker "
					  "(found 1 with enable_listen_spawn: 0; allowed: 0, or 1 with enable_listen_spawn 1 or 2)"});
			ok = false;
		}
	}
	if (!ok)
		return false;
	*out = p;
	return true;
}

bool load_profile(const ProfileLoader &loader, const std::string &spec, Profile *out,
		  std::vector<Diagnostic> *diags)
{
	LoadedProfile lp;
	if (!loader.load(spec, &lp, diags))
		return false;
	return build_profile(lp, out, diags);
}

} // namespace fsock
