// SPDX-License-Identifier: GPL-2.0
#include "tuning/executor.h"

#include <cerrno>
#include <ctime>

#include "system/byte_string.h"
#include "system/saved_path.h"
#include "system/sysinfo.h"
#include "tuning/rfd_steering.h"

namespace fsock {

namespace {

std::string now_utc()
{
	std::time_t t = std::time(nullptr);
	char buf[32];
	std::tm tm;
	gmtime_r(&t, &tm);
	std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int write_value(const Root &root, const std::string &path, const std::string &data, bool atomic)
{
	return atomic ? root.write_atomic(path, data) : root.write(path, data);
}

// Restores one original value; "" on success, else the problem.
std::string restore(const Root &root, const SavedEntry &e, bool *skipped)
{
	*skipped = false;
	if (!e.existed) {
		int r = root.remove(e.path);
		return r ? "cannot remove " + root.path(e.path) + ": " + errno_text(r) : "";
	}
	auto cur = root.read(e.path);
	if (cur && (e.kind == ValueKind::File ? *cur == e.value : equivalent(e.kind, *cur, e.value)))
		return "";
	int r = write_value(root, e.path, e.value, e.kind == ValueKind::File);
	if (r == EIO && e.area == "irq") {
		*skipped = true;
		return "";
	}
	if (r)
		return "cannot write " + root.path(e.path) + ": " + errno_text(r);
	auto back = root.read(e.path);
	if (!back || !(e.kind == ValueKind::File ? *back == e.value : equivalent(e.kind, *back, e.value)))
		return "wrote " + show_value(e.kind, e.value) + " to " + root.path(e.path) + " but it reads back as " +
		       (back ? show_value(e.kind, *back) : "(unreadable)");
	return "";
}

bool params_match(const std::map<std::string, std::string> &live,
		  const std::vector<std::pair<std::string, std::string>> &want, std::string *why)
{
	for (const auto &w : want) {
		auto it = live.find(w.first);
		if (it != live.end() && trim(it->second) != w.second) {
			*why = w.first + " is " + it->second + ", wanted " + w.second;
			return false;
		}
	}
	return true;
}

} // namespace

std::string describe_change(const Change &c)
{
	std::string s = "[" + c.area + "] " + c.target + ": " + show_value(c.kind, c.current, c.existed) + " -> " +
			show_value(c.kind, c.next);
	if (!c.note.empty())
		s += "  (" + c.note + ")";
	return s;
}

int apply_plan(const Root &root, const Plan &plan, ModuleControl &mod, const StateStore &store,
	       const ExecOptions &opt, std::ostream &out, std::ostream &err)
{
	const ModulePlan &m = plan.module;
	for (const auto &w : plan.warnings)
		err << "warning: " << w << "\n";

	bool want_reload = m.action == ModulePlan::Action::Reload;
	bool do_load = m.action == ModulePlan::Action::Load;
	bool do_reload = want_reload && !opt.defer_reload;
	if (do_reload && m.refcnt.value_or(0) > 0) {
		err << "error: fastsocket.ko must be reloaded for its new parameters (";
		for (std::size_t i = 0; i < m.differing.size(); i++)
			err << (i ? ", " : "") << m.differing[i];
		err << "), but it is in use (refcnt " << *m.refcnt
		    << ": open /dev/fastsocket descriptors or fastsocket sockets).\n"
		       "Nothing was changed. Stop the applications running under `fastsocket run` and apply again, "
		       "or use --defer-reload to apply everything else now and the parameters at the next load of "
		       "the module.\n";
		return 1;
	}

	// The saved state, loaded first: it also tells whether our XDP programs
	// still match the plan (ports, R).
	std::optional<std::string> prev_raw;
	SavedState st;
	try {
		prev_raw = store.raw();
		if (auto s = store.load()) {
			st = *s;
		} else {
			st.module_was_loaded = m.loaded;
			st.module_params_before = m.live;
		}
	} catch (const std::exception &e) {
		err << "error: " << e.what() << "\nNothing was changed. Move it away to start afresh (the values "
		    << "it saved are then lost).\n";
		return 1;
	}

	std::vector<const Change *> pending;
	for (const auto &c : plan.changes)
		if (c.pending())
			pending.push_back(&c);
	bool xdp_todo = rfd_steering_pending(plan, st);
	if (pending.empty() && !do_load && !do_reload && !xdp_todo) {
		out << "no changes: the system already matches profile " << plan.profile_name << "\n";
		if (want_reload)
			out << "module parameters differ from the running module; they take effect at the next load "
			       "of fastsocket.ko (--defer-reload)\n";
		return 0;
	}

	// 1. Save what is about to change, before changing anything.
	for (const Change *c : pending) {
		bool known = false;
		for (const auto &o : st.originals)
			known |= o.path == c->path;
		if (!known)
			st.originals.push_back({c->area, c->target, c->path, c->kind, c->existed, c->current});
	}
	st.profile = plan.profile_name;
	st.profile_file = plan.profile_file;
	st.applied_at = now_utc();
	st.applied.clear();
	for (const auto &c : plan.changes)
		st.applied.push_back({c.area, c.target, c.path, c.kind, true, c.next});
	st.module_managed = st.module_managed || m.managed;
	st.module_params_applied.clear();
	for (const auto &e : m.effective)
		st.module_params_applied[e.first] = e.second;
	st.module_reload_deferred = want_reload && !do_reload;
	if (int e = store.save(st)) {
		err << "error: cannot save the current state to " << root.path(store.path()) << ": " << errno_text(e)
		    << "\nNothing was changed.\n";
		return 1;
	}

	// 2. Write, verify.
	std::vector<const Change *> done;
	std::vector<std::string> skipped;
	std::string failure;
	for (const Change *c : pending) {
		int e = write_value(root, c->path, c->next, c->atomic);
		if (e == EIO && c->skip_on_eio) {
			skipped.push_back(c->path);
			err << "warning: " << c->target << ": the kernel refused the affinity (" << errno_text(e)
			    << "; managed or per-CPU interrupt); skipped\n";
			continue;
		}
		if (e) {
			failure = "cannot write " + show_value(c->kind, c->next) + " to " + root.path(c->path) + ": " +
				  errno_text(e);
			break;
		}
		done.push_back(c);
		auto back = root.read(c->path);
		if (!back || !equivalent(c->kind, *back, c->next)) {
			failure = "wrote " + show_value(c->kind, c->next) + " to " + root.path(c->path) +
				  " but it reads back as " + (back ? show_value(c->kind, *back) : "(unreadable)");
			break;
		}
		out << "  " << describe_change(*c) << "\n";
	}

	// 3. The module, last: its options file is written by now.
	bool unloaded = false;
	if (failure.empty() && (do_load || do_reload)) {
		std::string e;
		if (do_reload) {
			if (!mod.unload(&e))
				failure = e;
			else
				unloaded = true;
		}
		if (failure.empty() && !mod.load(&e))
			failure = e + (do_load ? "\n(is fastsocket-dkms installed for this kernel? To tune without the "
						 "module, set 'module: {load: false}' in the profile)"
					       : "");
		std::string why;
		if (failure.empty() && !params_match(mod.parameters(), m.effective, &why))
			failure = "fastsocket.ko was loaded but " + why + " (is " + std::string(kModprobeConf) +
				  " overridden by another modprobe.d file?)";
		if (failure.empty()) {
			std::string params;
			for (const auto &kv : m.effective)
				params += " " + kv.first + "=" + kv.second;
			out << "  [module] fastsocket.ko " << (do_reload ? "reloaded" : "loaded") << ":" << params << "\n";
		}
	}

	if (!failure.empty()) {
		err << "error: " << failure << "\n";
		std::vector<std::string> rb_fail;
		for (auto it = done.rbegin(); it != done.rend(); ++it) {
			const Change *c = *it;
			bool sk;
			std::string p = restore(root, {c->area, c->target, c->path, c->kind, c->existed, c->current}, &sk);
			if (!p.empty())
				rb_fail.push_back(p);
		}
		if ((unloaded || do_load) && m.loaded && !mod.loaded()) {
			std::string e;
			if (!mod.load(&e))
				rb_fail.push_back("reloading fastsocket.ko with its previous options: " + e);
		}
		// The saved state goes back to what it was only when the system
		// did: otherwise it keeps the originals revert still needs.
		if (rb_fail.empty())
			store.restore_raw(prev_raw);
		if (rb_fail.empty()) {
			err << "rolled back " << done.size() << " change(s) in reverse order; the system is as before.\n";
		} else {
			err << "rollback incomplete; the original values stay in " << root.path(store.path())
			    << " for `fastsocket revert`; these could not be restored:\n";
			for (const auto &f : rb_fail)
				err << "  " << f << "\n";
		}
		return 1;
	}

	// 4. RFD reply steering: needs the port range written above; a failure
	// here is a warning (replies then follow RFS), recorded in the state.
	std::size_t xdp_before = st.xdp.size();
	attach_rfd_steering(plan, &st, out, err);
	if (xdp_todo && store.save(st))
		err << "warning: cannot record the XDP programs in " << root.path(store.path())
		    << "; `fastsocket revert` will not detach them\n";

	if (!skipped.empty()) {
		std::vector<SavedEntry> keep;
		for (const auto &a : st.applied) {
			bool sk = false;
			for (const auto &s : skipped)
				sk |= s == a.path;
			if (!sk)
				keep.push_back(a);
		}
		st.applied = keep;
		store.save(st);
	}
	std::size_t attached = st.xdp.size() > xdp_before ? st.xdp.size() - xdp_before : 0;
	out << "applied profile " << plan.profile_name << ": " << done.size() + attached << " change(s)";
	if (!skipped.empty())
		out << ", " << skipped.size() << " IRQ(s) skipped";
	out << "; saved state in " << root.path(store.path()) << " (undo with `fastsocket revert`)\n";
	if (opt.report) {
		for (const Change *c : done)
			opt.report->written.push_back(*c);
		opt.report->module_action = do_reload ? "reloaded" : do_load ? "loaded" : "";
		opt.report->xdp_attached = static_cast<unsigned>(attached);
		opt.report->changed = !done.empty() || attached || do_load || do_reload;
	}
	if (want_reload && !do_reload)
		out << "module parameters differ from the running fastsocket.ko; they take effect at its next load "
		       "(--defer-reload)\n";
	return 0;
}

int revert_state(const Root &root, ModuleControl &mod, const StateStore &store, const ExecOptions &opt,
		 std::ostream &out, std::ostream &err)
{
	std::optional<SavedState> st;
	try {
		st = store.load();
	} catch (const std::exception &e) {
		err << "error: " << e.what() << "\n";
		return 1;
	}
	if (!st) {
		out << "nothing to revert (no saved state in " << root.path(store.path()) << ")\n";
		return 0;
	}
	std::vector<std::string> failures;
	std::size_t restored = 0;
	for (auto it = st->originals.rbegin(); it != st->originals.rend(); ++it) {
		std::string bad = check_saved_path(root, it->path);
		if (!bad.empty()) {
			failures.push_back("refusing saved path '" + utf8_for_display(it->path.substr(0, 80)) +
					   "': " + bad);
			continue;
		}
		bool sk;
		std::string p = restore(root, *it, &sk);
		if (!p.empty()) {
			failures.push_back(p);
		} else if (sk) {
			err << "warning: " << it->target << ": the kernel refused the affinity (EIO); skipped\n";
		} else {
			restored++;
			out << "  [" << it->area << "] " << it->target << ": restored "
			    << show_value(it->kind, it->value, it->existed) << "\n";
		}
	}

	detach_rfd_steering(*st, &failures, out);

	if (st->module_managed) {
		bool loaded = mod.loaded();
		long refs = mod.refcnt().value_or(0);
		std::string e;
		if (!st->module_was_loaded && loaded) {
			if (refs > 0 || opt.defer_reload)
				out << "fastsocket.ko was not loaded before apply; it stays loaded"
				    << (refs > 0 ? " (in use, refcnt " + std::to_string(refs) + ")" : "")
				    << ": unload it later with `modprobe -r fastsocket`\n";
			else if (!mod.unload(&e))
				failures.push_back(e);
			else
				out << "  [module] fastsocket.ko unloaded (it was not loaded before apply)\n";
		} else if (st->module_was_loaded && loaded) {
			std::vector<std::pair<std::string, std::string>> before(st->module_params_before.begin(),
										st->module_params_before.end());
			std::string why;
			if (!params_match(mod.parameters(), before, &why)) {
				if (refs > 0 || opt.defer_reload) {
					out << "fastsocket.ko keeps its current parameters until its next load ("
					    << (refs > 0 ? "in use, refcnt " + std::to_string(refs) : "--defer-reload")
					    << "); the restored options apply then\n";
				} else if (!mod.unload(&e) || !mod.load(&e)) {
					failures.push_back(e);
				} else if (!params_match(mod.parameters(), before, &why)) {
					failures.push_back("fastsocket.ko reloaded but " + why);
				} else {
					out << "  [module] fastsocket.ko reloaded with its previous parameters\n";
				}
			}
		} else if (st->module_was_loaded && !loaded) {
			if (!mod.load(&e))
				failures.push_back(e);
			else
				out << "  [module] fastsocket.ko loaded again (it was loaded before apply)\n";
		}
	}

	if (!failures.empty()) {
		err << "error: revert incomplete; the saved state is kept in " << root.path(store.path())
		    << " so you can retry:\n";
		for (const auto &f : failures)
			err << "  " << f << "\n";
		return 1;
	}
	if (int e = store.remove()) {
		err << "error: reverted, but cannot remove " << root.path(store.path()) << ": " << errno_text(e) << "\n";
		return 1;
	}
	out << "reverted profile " << st->profile << ": " << restored << " value(s) restored\n";
	return 0;
}

} // namespace fsock
