// SPDX-License-Identifier: GPL-2.0
#include "system/state_store.h"

#include <cerrno>
#include <cstdint>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "system/byte_string.h"

namespace fsock {

using nlohmann::json;

// Every string that came from the system (values, paths, module parameters)
// is stored as "key": text when it is UTF-8, else "key_base64": its bytes,
// so revert puts back exactly what was there, whatever its encoding.
static void put_bytes(json &j, const std::string &key, const std::string &bytes)
{
	if (is_valid_utf8(bytes))
		j[key] = bytes;
	else
		j[key + "_base64"] = base64_encode(bytes);
}

static std::string get_bytes(const json &j, const std::string &key, bool required = false)
{
	auto b = j.find(key + "_base64");
	if (b != j.end()) {
		auto bytes = base64_decode(b->get<std::string>());
		if (!bytes)
			throw std::runtime_error("'" + key + "_base64' is not base64");
		return *bytes;
	}
	if (required && !j.contains(key))
		throw std::runtime_error("an entry has no '" + key + "'");
	return j.value(key, "");
}

static json map_json(const std::map<std::string, std::string> &m)
{
	json a = json::array();
	for (const auto &kv : m) {
		json e = json::object();
		put_bytes(e, "name", kv.first);
		put_bytes(e, "value", kv.second);
		a.push_back(e);
	}
	return a;
}

// Format 1 wrote the maps as objects (UTF-8 only); format 2 as arrays.
static std::map<std::string, std::string> map_from(const json &j)
{
	std::map<std::string, std::string> m;
	if (j.is_object())
		return j.get<std::map<std::string, std::string>>();
	for (const auto &e : j)
		m[get_bytes(e, "name", true)] = get_bytes(e, "value");
	return m;
}

const char *const StateStore::kDefaultPath = "/var/lib/fastsocket/saved.json";

StateStore::StateStore(const Root &root, std::string path) : root_(root), path_(std::move(path)) {}

static json entries_json(const std::vector<SavedEntry> &v)
{
	json a = json::array();
	for (const auto &e : v) {
		json j = {{"area", e.area}, {"kind", kind_name(e.kind)}, {"existed", e.existed}};
		put_bytes(j, "target", e.target);
		put_bytes(j, "path", e.path);
		put_bytes(j, "value", e.value);
		a.push_back(j);
	}
	return a;
}

static std::vector<SavedEntry> entries_from(const json &a)
{
	std::vector<SavedEntry> v;
	for (const auto &j : a) {
		SavedEntry e;
		e.area = j.value("area", "");
		e.target = get_bytes(j, "target");
		e.path = get_bytes(j, "path", true);
		e.kind = kind_from_name(j.value("kind", "words"));
		e.existed = j.value("existed", true);
		e.value = get_bytes(j, "value");
		v.push_back(e);
	}
	return v;
}

std::string to_json(const SavedState &s)
{
	json j = {
		{"format", 2},
		{"applied_at", s.applied_at},
		{"originals", entries_json(s.originals)},
		{"applied", entries_json(s.applied)},
		{"module",
		 {{"managed", s.module_managed},
		  {"was_loaded", s.module_was_loaded},
		  {"params_before", map_json(s.module_params_before)},
		  {"params_applied", map_json(s.module_params_applied)},
		  {"reload_deferred", s.module_reload_deferred}}},
	};
	put_bytes(j, "profile", s.profile);
	put_bytes(j, "profile_file", s.profile_file);
	json x = json::array();
	for (const auto &e : s.xdp) {
		json one = {{"prog_id", e.prog_id}, {"r", e.r}, {"port_lo", e.port_lo}, {"port_hi", e.port_hi}};
		put_bytes(one, "iface", e.iface);
		x.push_back(one);
	}
	j["xdp"] = x;
	return j.dump(2) + "\n";
}

SavedState from_json(const std::string &text)
{
	json j = json::parse(text);
	int format = j.value("format", 0);
	if (format != 1 && format != 2)
		throw std::runtime_error("unknown saved-state format");
	SavedState s;
	s.profile = get_bytes(j, "profile");
	s.profile_file = get_bytes(j, "profile_file");
	s.applied_at = j.value("applied_at", "");
	s.originals = entries_from(j.at("originals"));
	s.applied = entries_from(j.at("applied"));
	if (j.contains("module")) {
		const json &m = j["module"];
		s.module_managed = m.value("managed", false);
		s.module_was_loaded = m.value("was_loaded", false);
		if (m.contains("params_before"))
			s.module_params_before = map_from(m["params_before"]);
		if (m.contains("params_applied"))
			s.module_params_applied = map_from(m["params_applied"]);
		s.module_reload_deferred = m.value("reload_deferred", false);
	}
	if (j.contains("xdp")) {
		for (const auto &e : j["xdp"]) {
			SavedXdp x;
			x.iface = get_bytes(e, "iface", true);
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
	// Only "does not exist" means no state: a state file that cannot be read
	// (permissions, a FIFO, too large) must stop apply, which would otherwise
	// replace it and lose the originals it holds.
	int err = 0;
	std::string why;
	auto text = root_.read(path_, &err, &why);
	if (!text && err != ENOENT)
		throw std::runtime_error("cannot read the saved state " + why);
	return text;
}

int StateStore::restore_raw(const std::optional<std::string> &raw) const
{
	if (!raw)
		return remove();
	return root_.write_atomic(path_, *raw, 0600);
}

} // namespace fsock
