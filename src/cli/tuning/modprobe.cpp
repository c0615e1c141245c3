// SPDX-License-Identifier: GPL-2.0
// Module parameters: /etc/modprobe.d/fastsocket.conf, and whether the
// running module must be (re)loaded for them to take effect.
#include "fastsocket_params.h"
#include "tuning/tuning.h"

namespace fsock {

std::string modprobe_conf_text(const Profile &profile)
{
	std::string s = "# Written by `fastsocket apply` (profile " + profile.name +
			"); `fastsocket revert` restores the previous file.\n";
	if (profile.module.params.empty())
		return s + "# The profile sets no parameter: the module's defaults apply.\n";
	s += "options fastsocket";
	for (const auto &p : profile.module.params)
		s += " " + p.first + "=" + std::to_string(p.second);
	return s + "\n";
}

void plan_modprobe(const PlanInput &in, const ModuleControl &mod, Plan *plan)
{
	const Profile &p = in.profile;
	ModulePlan &m = plan->module;
	m.managed = p.module.enabled;
	m.load = p.module.load;
	m.loaded = mod.loaded();
	if (m.loaded) {
		m.refcnt = mod.refcnt();
		m.version = mod.version();
		m.live = mod.parameters();
	}
	if (!m.managed)
		return;
#define X(name, def, min, max, allowed, desc)                         \
	{                                                             \
		long v = def;                                         \
		for (const auto &kv : p.module.params)                \
			if (kv.first == #name)                        \
				v = kv.second;                        \
		m.effective.emplace_back(#name, std::to_string(v));   \
	}
	FSOCKET_PARAMS(X)
#undef X
	for (const auto &e : m.effective) {
		auto it = m.live.find(e.first);
		if (it != m.live.end() && trim(it->second) != e.second)
			m.differing.push_back(e.first + ": " + it->second + " -> " + e.second);
	}

	int err = 0;
	auto cur = in.root.read(kModprobeConf, &err);
	if (!cur && err != ENOENT)
		throw PlanError("cannot read " + in.root.path(kModprobeConf) + ": " + errno_text(err));
	Change c;
	c.area = "modprobe";
	c.target = "fastsocket options";
	c.path = kModprobeConf;
	c.existed = cur.has_value();
	c.current = cur.value_or("");
	c.next = modprobe_conf_text(p);
	c.kind = ValueKind::File;
	c.atomic = true;
	plan->changes.push_back(c);

	if (!m.load)
		return;
	if (!m.loaded)
		m.action = ModulePlan::Action::Load;
	else if (!m.differing.empty())
		m.action = ModulePlan::Action::Reload;
}

} // namespace fsock
