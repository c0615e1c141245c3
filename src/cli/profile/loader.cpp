// SPDX-License-Identifier: GPL-2.0
#include "profile/loader.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <sys/stat.h>

#include "profile/excerpt.h"
#include "profile/schema.h"
#include "profile/yaml_reader.h"

#ifndef FASTSOCKET_DATADIR
#define FASTSOCKET_DATADIR "/usr/share"
#endif

namespace fsock {

namespace {

// Whether a name is taken at all: a directory, FIFO or device found where a
// profile is expected is reported by the reader ("is a FIFO"), not skipped
// as "not found".
// lstat: a symlink loop or a dangling link is there too ("Too many levels
// of symbolic links").
bool exists(const std::string &p)
{
	struct stat st;
	return ::lstat(p.c_str(), &st) == 0;
}

bool exists_not_dir(const std::string &p)
{
	struct stat st;
	return ::stat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

bool ends_with(const std::string &s, const std::string &suf)
{
	return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

std::string dirname_of(const std::string &p)
{
	std::size_t s = p.find_last_of('/');
	if (s == std::string::npos)
		return ".";
	return s == 0 ? "/" : p.substr(0, s);
}

std::string basename_of(const std::string &p)
{
	std::size_t s = p.find_last_of('/');
	return s == std::string::npos ? p : p.substr(s + 1);
}

std::string canonical(const std::string &p)
{
	char buf[PATH_MAX];
	if (::realpath(p.c_str(), buf))
		return buf;
	return p;
}

} // namespace

std::string shipped_profile_dir()
{
	return std::string(FASTSOCKET_DATADIR) + "/fastsocket/profiles";
}

ProfileLoader::ProfileLoader(const Root &root) : root_(root)
{
	if (const char *env = std::getenv("FASTSOCKET_PROFILE_PATH")) {
		std::string s = env;
		std::size_t pos = 0;
		while (pos <= s.size()) {
			std::size_t c = s.find(':', pos);
			std::string d = s.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
			if (!d.empty())
				dirs_.push_back(d);
			if (c == std::string::npos)
				break;
			pos = c + 1;
		}
	}
	dirs_.push_back(root_.path("/etc/fastsocket/profiles"));
	dirs_.push_back(root_.path(shipped_profile_dir()));
}

std::string ProfileLoader::resolve(const std::string &spec, const std::string &relative_to,
				   std::string *err, const std::string &exclude) const
{
	bool pathlike = spec.find('/') != std::string::npos || ends_with(spec, ".yaml") ||
			ends_with(spec, ".yml");
	if (pathlike) {
		std::string p = spec;
		if (!relative_to.empty() && spec[0] != '/')
			p = relative_to + "/" + spec;
		if (exists(p))
			return p;
		if (relative_to.empty() && spec.find('/') == std::string::npos) {
			// "proxy.yaml" given on the command line: also try the search dirs.
			for (const auto &d : dirs_)
				if (exists(d + "/" + spec))
					return d + "/" + spec;
		}
		*err = "profile file '" + excerpt(p) + "' not found";
		return "";
	}
	if (relative_to.empty() && exists_not_dir(spec))
		return spec;
	// A bare name: the profile directories (yours first), then the including
	// file's own directory.  The including file itself is skipped, so
	// /etc/fastsocket/profiles/proxy.yaml can `include: proxy` to extend the
	// shipped proxy.yaml.
	std::vector<std::string> dirs = dirs_;
	if (!relative_to.empty())
		dirs.push_back(relative_to);
	std::string tried;
	for (const auto &d : dirs) {
		for (const char *ext : {".yaml", ".yml"}) {
			std::string p = d + "/" + spec + ext;
			if (exists(p) && (exclude.empty() || canonical(p) != exclude))
				return p;
		}
		tried += (tried.empty() ? "" : ", ") + d;
	}
	if (!relative_to.empty())
		*err = "no profile named '" + excerpt(spec) + "' (no " + excerpt(spec) +
		       ".yaml in the profile directories or beside this file)";
	else
		*err = "no profile named '" + excerpt(spec) + "' (looked for " + excerpt(spec) + ".yaml in " + tried +
		       ")";
	return "";
}

bool ProfileLoader::load(const std::string &spec, LoadedProfile *out,
			 std::vector<Diagnostic> *diags) const
{
	std::string err;
	std::string p = resolve(spec, "", &err);
	if (p.empty()) {
		diags->push_back({Origin{spec, 0, 0}, "", err});
		return false;
	}
	*out = LoadedProfile();
	out->file = p;
	std::string base = basename_of(p);
	for (const char *ext : {".yaml", ".yml"})
		if (ends_with(base, ext))
			base = base.substr(0, base.size() - std::string(ext).size());
	out->name = base;
	std::vector<std::string> stack;
	LoadBudget budget;
	return load_file(p, p, &stack, &budget, &out->tree, out, diags);
}

bool ProfileLoader::load_file(const std::string &host_path, const std::string &display,
			      std::vector<std::string> *stack, LoadBudget *budget, PNode *out,
			      LoadedProfile *lp, std::vector<Diagnostic> *diags) const
{
	budget->files_read++;
	PNode doc;
	if (!parse_yaml_file(host_path, display, budget, &doc, diags))
		return false;
	if (!doc.is_map()) {
		diags->push_back({doc.origin, "", "a profile must be a mapping (found " + doc.describe() + ")"});
		return false;
	}
	const PNode *ver = doc.find("version");
	if (!ver) {
		std::string msg = "missing required key (allowed: 1); every profile starts with 'version: 1'";
		for (const auto &kv : doc.map)
			if (nearest(kv.first, {"version"}) == "version") {
				msg += "; did you mean 'version' for '" + excerpt(kv.first) + "'?";
				break;
			}
		diags->push_back({doc.origin, "version", msg});
		return false;
	}
	if (!ver->is_scalar() || ver->scalar != "1") {
		diags->push_back({ver->origin, "version",
				  "unsupported profile version (found " + ver->describe() + "; allowed: 1)"});
		return false;
	}
	lp->files.push_back(display);
	std::string canon = canonical(host_path);
	stack->push_back(canon);

	PNode merged;
	merged.kind = PNode::Kind::Map;
	merged.origin = doc.origin;
	bool ok = true;
	if (const PNode *inc = doc.find("include")) {
		std::vector<const PNode *> items;
		if (inc->is_scalar()) {
			items.push_back(inc);
		} else if (inc->is_seq()) {
			for (const auto &i : inc->seq)
				items.push_back(&i);
		} else {
			diags->push_back({inc->origin, "include",
					  "expected a profile name or path, or a list of them (found " +
						  inc->describe() + ")"});
			ok = false;
		}
		for (const PNode *item : items) {
			if (!item->is_scalar() || item->scalar.empty()) {
				diags->push_back({item->origin, "include",
						  "expected a profile name or path (found " + item->describe() + ")"});
				ok = false;
				continue;
			}
			// Bounds first: an include bomb (files including each
			// other many times) stops here, not after 10^8 loads.
			std::string limit;
			if (stack->size() >= kMaxIncludeDepth)
				limit = "includes nested more than " + std::to_string(kMaxIncludeDepth) + " files deep";
			else if (budget->files_read >= kMaxIncludedFiles)
				limit = "more than " + std::to_string(kMaxIncludedFiles) +
					" profile files read for one profile (includes of includes count)";
			if (!limit.empty()) {
				diags->push_back({item->origin, "include", limit + " (at '" + excerpt(item->scalar) + "')"});
				ok = false;
				break;
			}
			std::string err;
			std::string ip = resolve(item->scalar, dirname_of(host_path), &err, canonical(host_path));
			if (ip.empty()) {
				diags->push_back({item->origin, "include", err});
				ok = false;
				continue;
			}
			std::string ic = canonical(ip);
			bool cycle = false;
			for (std::size_t i = 0; i < stack->size(); i++) {
				if ((*stack)[i] != ic)
					continue;
				std::string chain;
				for (std::size_t j = i; j < stack->size(); j++)
					chain += basename_of((*stack)[j]) + " -> ";
				chain += basename_of(ic);
				diags->push_back({item->origin, "include", "include cycle: " + chain});
				cycle = true;
				break;
			}
			if (cycle) {
				ok = false;
				continue;
			}
			PNode sub;
			if (!load_file(ip, ip, stack, budget, &sub, lp, diags)) {
				ok = false;
				continue;
			}
			merge_into(&merged, sub);
		}
	}
	PNode own = doc;
	own.map.erase(std::remove_if(own.map.begin(), own.map.end(),
				     [](const auto &kv) { return kv.first == "include"; }),
		      own.map.end());
	merge_into(&merged, own);
	stack->pop_back();
	*out = merged;
	return ok;
}

} // namespace fsock
