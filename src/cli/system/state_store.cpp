// SPDX-License-Identifier: GPL-2.0
#include "system/state_store.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace fsock {

using nlohmann::json;

const char *const StateStore::kDefaultPath = "/var/lib/fastsocket/saved.json";

StateStore::StateStore(const Root &root, std::string path) : root_(root), path_(std::move(path)) {}

static json entries_json(const std::vector<SavedEntry> &v)
{
	json a = json::array();
	for (const auto &e : v)
		a.push_back({{"area", e.area},
			     {"target", e.target},
			     {"path", e.path},
			     {"kind", kind_name(e.kind)},
			     {"existed", e.existed},
			     {"value", e.value}});
	return a;
}

static std::vector<SavedEntry> entries_from(const json &a)
{
	std::vector<SavedEntry> v;
	for (const auto &j : a) {
		SavedEntry e;
		e.area = j.value("area", "");
		e.target = j.value("target", "");
		e.path = j.at("path").get<std::string>();
		e.kind = kind_from_name(j.value("kind", "words"));
		e.existed = j.value("existed", true);
		e.value = j.value("value", "");
		v.push_back(e);
	}
	return v;
}

std::string to_json(const SavedState &s)
{
	json j = {
		{"format", 1},
		{"profile", s.profile},
		{"profile_file", s.profile_file},
		{"applied_at", s.applied_at},
		{"originals", entries_json(s.originals)},
		{"applied", entries_json(s.applied)},
		{"module",
		 {{"managed", s.module_managed},
		  {"was_loaded", s.module_was_loaded},
		  {"params_before", s.module_params_before},
		  {"params_applied", s.module_params_applied},
		  {"reload_deferred", s.module_reload_deferred}}},
	};
	json x = json::array();
	for (const auto &e : s.xdp)
		x.push_back({{"iface", e.iface}, {"prog_id", e.prog_id}, {"r", e.r}, {"port_lo", e.port_lo},
			     {"port_hi", e.port_hi}});
	j["xdp"] = x;
	return j.dump(2) + "\n";
}

SavedState from_json(const std::string &text)
{
	json j = json::parse(text);
	if (j.value("format", 0) != 1)
		throw std::runtime_error("unknown saved-state format");
	SavedState s;
	s.profile = j.value("profile", "");
	s.profile_file = j.value("profile_file", "");
	s.applied_at = j.value("applied_at", "");
	s.originals = entries_from(j.at("originals"));
	s.applied = entries_from(j.at("applied"));
	if (j.contains("module")) {
		const json &m = j["module"];
		s.module_managed = m.value("managed", false);
		s.module_was_loaded = m.value("was_loaded", false);
		s.module_params_before = m.value("params_before", std::map<std::string, std::string>());
		s.module_params_applied = m.value("params_applied", std::map<std::string, std::string>());
		s.module_reload_deferred = m.value("reload_deferred", false);
	}
	if (j.contains("xdp")) {
		for (const auto &e : j["xdp"]) {
			SavedXdp x;
			x.iface = e.at("iface").get<std::string>();
			x.prog_id = e.at("prog_id").get<uint32_t>();
			x.r = e.value("r", 0u);
			x.port_lo = e.value("port_lo", 0u);
			x.port_hi = e.value("port_hi", 0u);
			s.xdp.push_back(x);
		}
	}
	return s;
}

std::optional<SavedState> StateStore::load() const
{
	auto text = raw();
	if (!text)
		return std::nullopt;
	try {
		return from_json(*text);
	} catch (const std::exception &e) {
		throw std::runtime_error("saved state " + root_.path(path_) + " is corrupt: " + e.what());
	}
}

int StateStore::save(const SavedState &s) const
{
	return root_.write_atomic(path_, to_json(s), 0600);
}

int StateStore::remove() const
{
	return root_.remove(path_);
}

std::optional<std::string> StateStore::raw() const
{
	return root_.read(path_);
}

int StateStore::restore_raw(const std::optional<std::string> &raw) const
{
	if (!raw)
		return remove();
	return root_.write_atomic(path_, *raw, 0600);
}

} // namespace fsock
