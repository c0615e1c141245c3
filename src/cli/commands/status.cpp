// SPDX-License-Identifier: GPL-2.0
#include "commands/status.h"

#include <iostream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands/commands.h"
#include "commands/listeners_view.h"
#include "fastsocket_params.h"
#include "profile/excerpt.h"
#include "system/byte_string.h"
#include "system/output_file.h"
#include "system/saved_path.h"
#include "system/secure_boot.h"
#include "system/sysinfo.h"
#include "tuning/param_effect.h"
#include "tuning/rfd_steering.h"
#include "tuning/tuning.h"

namespace fsock {

namespace {

// status reports what it can: a part of the system it cannot read (or reads
// something unexpected from) becomes a warning on that part, never an abort.
template <class F> void degrade(StatusReport *r, const std::string &what, F f)
{
	try {
		f();
	} catch (const std::exception &e) {
		r->warnings.push_back(what + ": " + e.what());
	}
}

} // namespace

StatusReport build_status(const Root &root, const ModuleControl &mod, const StateStore &store,
			  const Profile *against)
{
	StatusReport r;
	std::map<std::string, std::string> live;
	degrade(&r, "fastsocket.ko", [&] {
		r.module_loaded = mod.loaded();
		if (r.module_loaded) {
			r.module_version = mod.version();
			r.module_refcnt = mod.refcnt();
			live = mod.parameters();
		}
	});
	r.state_path = root.path(store.path());
	std::optional<SavedState> st;
	try {
		st = store.load();
	} catch (const std::exception &e) {
		r.errors.push_back(e.what());
	}

	std::vector<SavedEntry> wanted;
	std::map<std::string, std::string> params_applied;
	std::set<std::string> iface_names;
	if (against) {
		try {
			Plan plan = build_plan(root, *against, mod);
			r.profile = against->name + " (compared with the file, not the saved state)";
			r.profile_file = against->file;
			for (const auto &c : plan.changes)
				wanted.push_back({c.area, c.target, c.path, c.kind, true, c.next});
			for (const auto &e : plan.module.effective)
				params_applied[e.first] = e.second;
			for (const auto &i : plan.interfaces)
				iface_names.insert(i.name);
			for (const auto &x : plan.xdp)
				if (!x.current.ours())
					r.drift.push_back({"rfd", x.iface, "xdp", std::string(kRfdProgName) + " attached",
							   x.current.attached ? "prog " + std::to_string(x.current.prog_id)
									      : "none"});
		} catch (const PlanError &e) {
			r.errors.push_back(e.what());
		}
	} else if (st) {
		r.profile = st->profile;
		r.profile_file = st->profile_file;
		r.applied_at = st->applied_at;
		r.reload_deferred = st->module_reload_deferred;
		wanted = st->applied;
		params_applied = st->module_params_applied;
		for (const auto &d : rfd_steering_drift(st->xdp)) {
			r.drift.push_back({"rfd", d.iface, "xdp", d.want, d.now});
			iface_names.insert(d.iface);
		}
		for (const auto &x : st->xdp)
			iface_names.insert(x.iface);
	}
	for (const auto &w : wanted) {
		std::string bad = check_saved_path(root, w.path);
		if (!bad.empty()) {
			r.warnings.push_back("saved path '" + w.path.substr(0, 80) + "' not read: " + bad);
			continue;
		}
		int err = 0;
		auto now = root.read(w.path, &err);
		bool same = now && (w.kind == ValueKind::File ? *now == w.value : equivalent(w.kind, *now, w.value));
		if (!same)
			r.drift.push_back({w.area, w.target, w.path, show_value(w.kind, w.value),
					   now ? show_value(w.kind, *now) : "(" + errno_text(err) + ")"});
		const std::string net = "/sys/class/net/";
		if (w.path.rfind(net, 0) == 0)
			iface_names.insert(w.path.substr(net.size(), w.path.find('/', net.size()) - net.size()));
		else if (w.area == "irq")
			iface_names.insert(w.target.substr(0, w.target.find(' ')));
	}

#define X(name, def, min, max, allowed, desc)                                                 \
	{                                                                                     \
		StatusReport::Param p{#name, "", "", std::to_string(def), desc, ""};          \
		auto it = live.find(#name);                                                   \
		if (it != live.end())                                                         \
			p.live = it->second;                                                  \
		auto ap = params_applied.find(#name);                                         \
		if (ap != params_applied.end())                                               \
			p.applied = ap->second;                                               \
		p.effect = param_effect(root, #name, p.live);                                 \
		r.params.push_back(p);                                                        \
	}
	degrade(&r, "module parameters", [&] { FSOCKET_PARAMS(X) });
#undef X
	if (r.module_loaded && !r.reload_deferred)
		for (const auto &p : r.params)
			if (!p.applied.empty() && !p.live.empty() && p.applied != p.live)
				r.drift.push_back({"module", p.name, std::string(kModuleSysDir) + "/parameters/" + p.name,
						   p.applied, p.live});

	if (auto v = root.read_trimmed("/proc/sys/net/core/rps_sock_flow_entries"))
		r.rps_sock_flow_entries = *v;
	for (const auto &n : list_interfaces(root))
		if (root.exists("/sys/class/net/" + n + "/device"))
			iface_names.insert(n);
	for (const auto &n : iface_names) degrade(&r, "interface " + n.substr(0, 40), [&] {
		Interface i;
		if (!read_interface(root, n, &i))
			return;
		StatusReport::Iface out;
		out.name = n;
		std::string q = "/sys/class/net/" + n + "/queues/";
		for (unsigned x : i.rx) {
			StatusReport::Queue qq;
			qq.name = "rx-" + std::to_string(x);
			qq.rps_cpus = root.read_trimmed(q + qq.name + "/rps_cpus").value_or("");
			qq.rps_flow_cnt = root.read_trimmed(q + qq.name + "/rps_flow_cnt").value_or("");
			out.queues.push_back(qq);
		}
		for (unsigned x : i.tx) {
			StatusReport::Queue qq;
			qq.name = "tx-" + std::to_string(x);
			qq.xps_cpus = root.read_trimmed(q + qq.name + "/xps_cpus").value_or("");
			out.queues.push_back(qq);
		}
		for (const auto &qi : find_queue_irqs(root, i))
			out.irqs.push_back({qi.irq, qi.queue, qi.name,
					    root.read_trimmed("/proc/irq/" + std::to_string(qi.irq) + "/smp_affinity_list")
						    .value_or("")});
		XdpInfo xi;
		std::string xe;
		if (root.is_host_root() && xdp_query(n, &xi, &xe))
			out.xdp = xi.ours()	   ? std::string(kRfdProgName) + " (prog " + std::to_string(xi.prog_id) +
							 ", RFD reply steering)"
				  : xi.attached ? "prog " + std::to_string(xi.prog_id) + " '" + xi.prog_name + "'"
						: "none";
		r.interfaces.push_back(out);
	});
	degrade(&r, kStatsPath, [&] { r.stats = read_stats(root); });
	if (!r.stats.error.empty())
		r.warnings.push_back(std::string(kStatsPath) + ": unexpected format: " + r.stats.error);
	for (const auto &d : r.stats.duplicates)
		r.warnings.push_back(std::string(kStatsPath) + ": column '" + d.substr(0, 40) +
				     "' appears more than once; the repeats are numbered (_2, _3, ...)");
	degrade(&r, "listeners", [&] { r.listeners = read_listeners(root); });
	degrade(&r, "secure boot", [&] { r.secure_boot_hint = secure_boot_hint(root, r.module_loaded); });
	return r;
}

void render_text(const StatusReport &r, std::ostream &out)
{
	out << "fastsocket.ko: ";
	if (r.module_loaded) {
		out << "loaded, version " << r.module_version.value_or("unknown");
		if (r.module_refcnt)
			out << ", refcnt " << *r.module_refcnt;
	} else {
		out << "not loaded";
	}
	out << "\n";
	if (r.secure_boot_hint)
		out << "  " << *r.secure_boot_hint << "\n";
	out << "parameters (live / applied / default):\n";
	for (const auto &p : r.params) {
		out << "  " << p.name << " = " << (p.live.empty() ? "-" : p.live) << " / "
		    << (p.applied.empty() ? "-" : p.applied) << " / " << p.def << "\n      " << p.description << "\n";
		out << "      on this kernel: " << p.effect << "\n";
	}
	if (r.profile.empty())
		out << "profile: none applied (no saved state in " << r.state_path << ")\n";
	else
		out << "profile: " << r.profile << " (" << r.profile_file << ")"
		    << (r.applied_at.empty() ? "" : ", applied " + r.applied_at) << "\n";
	if (r.reload_deferred)
		out << "  module parameters were deferred to the next load of fastsocket.ko\n";
	if (!r.profile.empty()) {
		if (r.drift.empty()) {
			out << "drift: none, every applied value is in effect\n";
		} else {
			out << "drift: " << r.drift.size() << " value(s) differ from the profile:\n";
			for (const auto &d : r.drift)
				out << "  [" << d.area << "] " << d.target << ": wanted " << d.want << ", now " << d.now
				    << "\n";
		}
	}
	if (!r.rps_sock_flow_entries.empty())
		out << "net.core.rps_sock_flow_entries = " << r.rps_sock_flow_entries << "\n";
	for (const auto &i : r.interfaces) {
		out << "interface " << i.name << ":\n";
		for (const auto &q : i.queues) {
			out << "  " << q.name << ":";
			if (q.name[0] == 'r')
				out << " rps_cpus " << (q.rps_cpus.empty() ? "-" : q.rps_cpus) << ", rps_flow_cnt "
				    << (q.rps_flow_cnt.empty() ? "-" : q.rps_flow_cnt);
			else
				out << " xps_cpus " << (q.xps_cpus.empty() ? "-" : q.xps_cpus);
			out << "\n";
		}
		if (!i.xdp.empty())
			out << "  xdp: " << i.xdp << "\n";
		for (const auto &q : i.irqs)
			out << "  irq " << q.irq << " (" << q.name << ", queue " << q.queue << "): cpus "
			    << (q.affinity.empty() ? "-" : q.affinity) << "\n";
	}
	if (r.stats.present && r.stats.error.empty()) {
		out << "counters (" << kStatsPath << "):\n  cpu";
		for (const auto &c : r.stats.columns)
			out << " " << c;
		out << "\n";
		for (const auto &row : r.stats.cpus) {
			out << "  cpu" << row.first;
			for (auto v : row.second)
				out << " " << v;
			out << "\n";
		}
		if (!r.stats.total.empty()) {
			out << "  total";
			for (auto v : r.stats.total)
				out << " " << v;
			out << "\n";
		}
	} else if (r.module_loaded && !r.stats.present) {
		out << "counters: " << kStatsPath << " not available\n";
	}
	render_listeners_text(r.listeners, out);
	for (const auto &w : r.warnings)
		out << "warning: " << w << "\n";
	for (const auto &e : r.errors)
		out << "error: " << e << "\n";
}

void render_json(const StatusReport &r, std::ostream &out)
{
	using nlohmann::json;
	json j;
	j["module"] = {{"loaded", r.module_loaded}};
	if (r.module_version)
		j["module"]["version"] = *r.module_version;
	if (r.module_refcnt)
		j["module"]["refcnt"] = *r.module_refcnt;
	j["module"]["secure_boot_hint"] = r.secure_boot_hint ? json(*r.secure_boot_hint) : json(nullptr);
	json params = json::object();
	for (const auto &p : r.params)
		params[p.name] = {{"live", p.live.empty() ? json(nullptr) : json(p.live)},
				  {"applied", p.applied.empty() ? json(nullptr) : json(p.applied)},
				  {"default", p.def},
				  {"description", p.description},
				  {"effect", p.effect}};
	j["parameters"] = params;
	j["profile"] = r.profile.empty() ? json(nullptr)
					 : json{{"name", r.profile},
						{"file", r.profile_file},
						{"applied_at", r.applied_at},
						{"reload_deferred", r.reload_deferred}};
	json drift = json::array();
	for (const auto &d : r.drift)
		drift.push_back({{"area", d.area}, {"target", d.target}, {"path", d.path}, {"wanted", d.want},
				 {"now", d.now}});
	j["drift"] = drift;
	j["rps_sock_flow_entries"] = r.rps_sock_flow_entries;
	json ifs = json::array();
	for (const auto &i : r.interfaces) {
		json qs = json::array();
		for (const auto &q : i.queues) {
			json jq = {{"name", q.name}};
			if (q.name[0] == 'r') {
				jq["rps_cpus"] = q.rps_cpus;
				jq["rps_flow_cnt"] = q.rps_flow_cnt;
			} else {
				jq["xps_cpus"] = q.xps_cpus;
			}
			qs.push_back(jq);
		}
		json irqs = json::array();
		for (const auto &q : i.irqs)
			irqs.push_back({{"irq", q.irq}, {"queue", q.queue}, {"name", q.name}, {"affinity", q.affinity}});
		ifs.push_back({{"name", i.name},
			       {"queues", qs},
			       {"irqs", irqs},
			       {"xdp", i.xdp.empty() ? json(nullptr) : json(i.xdp)}});
	}
	j["interfaces"] = ifs;
	if (r.stats.present && r.stats.error.empty()) {
		json cpus = json::object();
		for (const auto &row : r.stats.cpus) {
			json c = json::object();
			for (std::size_t k = 0; k < r.stats.columns.size(); k++)
				c[r.stats.columns[k]] = row.second[k];
			cpus[std::to_string(row.first)] = c;
		}
		json total = json::object();
		for (std::size_t k = 0; k < r.stats.columns.size() && k < r.stats.total.size(); k++)
			total[r.stats.columns[k]] = r.stats.total[k];
		j["counters"] = {{"columns", r.stats.columns}, {"cpus", cpus}, {"total", total}};
	} else {
		j["counters"] = nullptr;
	}
	j["listeners"] = listeners_json(r.listeners);
	j["errors"] = r.errors;
	j["warnings"] = r.warnings;
	// Module versions, paths, counter names are bytes from the system: any
	// that is not UTF-8 is shown with U+FFFD rather than aborting the dump.
	out << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

namespace {

// Escapes for the text exposition format: label values escape \\ " and
// newline, HELP text \\ and newline; both must be UTF-8.
std::string escaped(const std::string &s, bool label)
{
	std::string o;
	for (char c : utf8_for_display(s)) {
		if (c == '\\' || (label && c == '"'))
			o += '\\';
		if (c == '\n') {
			o += "\\n";
			continue;
		}
		o += c;
	}
	return o;
}

std::string label_value(const std::string &s)
{
	return escaped(s, true);
}

// A counter column's own metric name, fastsocket_<column>_total, when the
// column is plain snake_case that promtool's lint accepts (no unit
// abbreviation or type name as a word); "" otherwise.
std::string column_metric(const std::string &column)
{
	static const std::regex snake("[a-z][a-z0-9]*(_[a-z0-9]+)*");
	static const std::regex flagged("(^|_)(s|ms|us|ns|sec|b|kb|mb|gb|tb|pb|m|h|d|counter|gauge|histogram|summary|"
					"untyped|total|count|sum|bucket|info|minutes|hours|days|weeks|milliseconds|"
					"microseconds|nanoseconds|kilograms|bits|kilobytes|megabytes|gigabytes|"
					"terabytes|petabytes|kilometers|kilometres|celcius|fahrenheit|percent)(_|$)");
	if (column.size() > 64 || column == "other_events" || !std::regex_match(column, snake) || std::regex_search(column, flagged))
		return "";
	return "fastsocket_" + column + "_total";
}

void family(std::ostream &out, const std::string &name, const std::string &type, const std::string &help)
{
	out << "# HELP " << name << " " << escaped(help, false) << "\n# TYPE " << name << " " << type << "\n";
}

bool is_number(const std::string &s)
{
	static const std::regex num("-?[0-9]{1,19}");
	return std::regex_match(s, num);
}

} // namespace

void render_prometheus(const StatusReport &r, std::ostream &out)
{
	family(out, "fastsocket_module_loaded", "gauge", "Whether fastsocket.ko is loaded (1) or not (0).");
	out << "fastsocket_module_loaded " << (r.module_loaded ? 1 : 0) << "\n";
	if (r.module_loaded) {
		family(out, "fastsocket_module_info", "gauge", "Version of the loaded fastsocket.ko.");
		out << "fastsocket_module_info{version=\"" << label_value(r.module_version.value_or("unknown"))
		    << "\"} 1\n";
		if (r.module_refcnt) {
			family(out, "fastsocket_module_refcnt", "gauge",
			       "Users of fastsocket.ko (open /dev/fastsocket descriptors and sockets).");
			out << "fastsocket_module_refcnt " << *r.module_refcnt << "\n";
		}
		family(out, "fastsocket_parameter", "gauge", "Live value of a fastsocket.ko parameter.");
		for (const auto &p : r.params)
			if (is_number(p.live))
				out << "fastsocket_parameter{name=\"" << p.name << "\"} " << p.live << "\n";
	}
	family(out, "fastsocket_profile_applied", "gauge", "The profile applied by fastsocket apply (1).");
	if (!r.profile.empty())
		out << "fastsocket_profile_applied{profile=\"" << label_value(r.profile) << "\"} 1\n";
	family(out, "fastsocket_drift_values", "gauge", "Applied values that no longer match the live system.");
	out << "fastsocket_drift_values " << r.drift.size() << "\n";
	if (r.stats.present && r.stats.error.empty()) {
		// Columns are named by the module; one it names oddly goes to a
		// shared family, labelled with its name, so any header gives valid
		// output (column names are unique: parse_stats numbers repeats).
		std::vector<std::size_t> other;
		for (std::size_t k = 0; k < r.stats.columns.size(); k++) {
			std::string name = column_metric(r.stats.columns[k]);
			if (name.empty()) {
				other.push_back(k);
				continue;
			}
			family(out, name, "counter",
			       "fastsocket.ko counter '" + r.stats.columns[k] + "' per CPU (/proc/fastsocket/stats).");
			for (const auto &row : r.stats.cpus)
				out << name << "{cpu=\"" << row.first << "\"} " << row.second[k] << "\n";
		}
		if (!other.empty()) {
			family(out, "fastsocket_other_events_total", "counter",
			       "fastsocket.ko counters whose column name is not a plain metric name, per CPU.");
			for (std::size_t k : other)
				for (const auto &row : r.stats.cpus)
					out << "fastsocket_other_events_total{column=\"" << label_value(r.stats.columns[k])
					    << "\",cpu=\"" << row.first << "\"} " << row.second[k] << "\n";
		}
	}
	render_listeners_prometheus(r.listeners, out);
}

void register_status(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("status", "Show the module, its parameters and counters, queue state and drift");
	auto json_out = std::make_shared<bool>(false);
	auto prom = std::make_shared<bool>(false);
	auto profile = std::make_shared<std::string>();
	auto *j = sub->add_flag("--json", *json_out, "Machine-readable JSON");
	sub->add_flag("--prometheus", *prom, "Prometheus text format (node_exporter textfile collector)")->excludes(j);
	auto output = std::make_shared<std::string>();
	sub->add_option("--output,-o", *output,
			"Write to FILE atomically (temporary file in its directory, fsync, rename; mode 0644) "
			"instead of stdout: node_exporter never reads half a file");
	sub->add_option("--profile", *profile,
			"Compare the live system with this profile's plan instead of the last apply");
	sub->footer(R"(Drift: values the last apply wrote (or that --profile wants) which the live
system no longer has, e.g. an RPS mask changed by hand or a module loaded with other
parameters.

Examples:
  fastsocket status
  fastsocket status --json | jq .drift
  fastsocket status --prometheus --output /var/lib/prometheus/node-exporter/fastsocket.prom
  (fastsocket-metrics.timer does that every 30 s)

Exit codes: 0 status printed and no drift, 3 status printed and drift found,
2 the --profile is invalid, 1 the status could not be read.)");
	sub->callback([&g, json_out, prom, profile, output]() {
		Root root(g.root);
		SysfsModuleControl mod(root);
		StateStore store(root);
		Profile p;
		if (!profile->empty()) {
			int rc = load_checked(root, *profile, &p, std::cerr);
			if (rc != kExitOk) {
				g.exit_code = rc;
				return;
			}
		}
		StatusReport r = build_status(root, mod, store, profile->empty() ? nullptr : &p);
		std::ostringstream text;
		std::ostream &out = output->empty() ? std::cout : text;
		if (*json_out)
			render_json(r, out);
		else if (*prom)
			render_prometheus(r, out);
		else
			render_text(r, out);
		if (!output->empty()) {
			int e = write_output_file(*output, text.str());
			if (e) {
				std::cerr << "error: cannot write " << path_excerpt(*output) << ": " << errno_text(e) << "\n";
				g.exit_code = kExitFailure;
				return;
			}
		}
		g.exit_code = !r.errors.empty() ? kExitFailure : (r.drift.empty() ? kExitOk : 3);
	});
}

} // namespace fsock
