// SPDX-License-Identifier: GPL-2.0
#include "tuning/rfd_steering.h"

#include <cstdint>
#include <sstream>

#include "system/bpf_pins.h"

namespace fsock {

namespace {

const char *const kPortRange = "/proc/sys/net/ipv4/ip_local_port_range";

std::string steering_text(unsigned lo, unsigned hi, unsigned r)
{
	return "TCP to ports " + std::to_string(lo) + "-" + std::to_string(hi) + " -> CPU port % " + std::to_string(r);
}

const SavedXdp *saved_for(const SavedState &st, const std::string &iface)
{
	for (const auto &x : st.xdp)
		if (x.iface == iface)
			return &x;
	return nullptr;
}

bool planned_on(const Plan &plan, const std::string &iface)
{
	for (const auto &x : plan.xdp)
		if (x.iface == iface)
			return true;
	return false;
}

// Our program on x.iface is the one st recorded, with x's ports and R, and
// its pins are there (a missing one: attached anew).
bool up_to_date(const XdpChange &x, const SavedState &st)
{
	const SavedXdp *old = saved_for(st, x.iface);
	std::vector<std::string> missing;
	return x.current.ours() && old && old->prog_id == x.current.prog_id && old->r == x.cfg.r &&
	       old->port_lo == x.cfg.port_lo && old->port_hi == x.cfg.port_hi &&
	       xdp_pins_complete(x.iface, x.current, &missing);
}

} // namespace

bool rfd_steering_pending(const Plan &plan, const SavedState &st)
{
	for (const auto &x : plan.xdp)
		if (!x.blocked() && !up_to_date(x, st))
			return true;
	for (const auto &s : st.xdp)
		if (!planned_on(plan, s.iface))
			return true;
	return false;
}

bool profile_wants_rfd(const Profile &p)
{
	if (!p.module.enabled)
		return false;
	for (const auto &kv : p.module.params)
		if (kv.first == "enable_receive_flow_deliver")
			return kv.second == 1;
	return false;
}

void plan_rfd_steering(const PlanInput &in, Plan *plan)
{
	if (!profile_wants_rfd(in.profile))
		return;
	if (!in.root.is_host_root()) {
		plan->notes.push_back("RFD reply steering (XDP) is attached to live interfaces only, not under --root");
		return;
	}
	// The port range the system has once the sysctls of this plan are written.
	std::string range;
	for (const auto &c : plan->changes)
		if (c.path == kPortRange)
			range = c.next;
	if (range.empty())
		range = in.root.read(kPortRange).value_or("32768 60999");
	RfdSteering cfg;
	std::istringstream(range) >> cfg.port_lo >> cfg.port_hi;
	if (cfg.port_lo == 0 || cfg.port_hi < cfg.port_lo || cfg.port_hi > 65535)
		throw PlanError("cannot read the local port range '" + trim(range) + "' for RFD steering");
	cfg.r = rfd_ring_size();
	cfg.cpus = in.topo.online.cpus();
	for (const auto &i : in.interfaces) {
		XdpChange x;
		x.iface = i.name;
		x.cfg = cfg;
		std::string err;
		if (!xdp_query(i.name, &x.current, &err)) {
			plan->warnings.push_back("rfd: " + err + "; replies on " + i.name + " follow RFS only");
			continue;
		}
		if (x.blocked())
			plan->warnings.push_back("rfd: " + i.name + " already runs XDP program " +
						 std::to_string(x.current.prog_id) + " '" + x.current.prog_name +
						 "' without libxdp's dispatcher; it is left alone and replies "
						 "there follow RFS only");
		plan->xdp.push_back(x);
	}
}

std::string describe_xdp(const XdpChange &x)
{
	std::string now = x.current.ours()	? std::string(kRfdProgName) + " (prog " + std::to_string(x.current.prog_id) + ")"
			  : x.current.attached ? (x.current.dispatcher ? "libxdp dispatcher " : "foreign program ") +
						       std::to_string(x.current.prog_id)
					       : "none";
	std::string beside;
	for (const auto &o : x.current.others)
		beside += (beside.empty() ? ", beside " : ", ") + o;
	return "[rfd] " + x.iface + " XDP reply steering: " + now + " -> " + kRfdProgName + " (" +
	       steering_text(x.cfg.port_lo, x.cfg.port_hi, x.cfg.r) + beside + ")";
}

void attach_rfd_steering(const Plan &plan, SavedState *st, std::ostream &out, std::ostream &err)
{
	// Programs an earlier apply attached where this plan wants none (a
	// profile without RFD now, or an interface no longer tuned).
	std::vector<SavedXdp> still;
	for (const auto &s : st->xdp) {
		std::string e;
		if (planned_on(plan, s.iface))
			still.push_back(s);
		else if (!xdp_detach(s.iface, s.prog_id, &e))
			err << "warning: [rfd] " << e << "\n";
		else
			out << "  [rfd] " << s.iface << ": XDP reply steering detached (not in this profile)\n";
	}
	st->xdp = still;
	for (const auto &x : plan.xdp) {
		if (x.blocked() || up_to_date(x, *st))
			continue;
		std::string e;
		if (x.current.ours() && !xdp_detach(x.iface, x.current.prog_id, &e)) {
			err << "warning: [rfd] " << e << "\n";
			continue;
		}
		uint32_t id = 0;
		bool unsupported = false;
		std::vector<SavedXdp> keep;
		for (const auto &s : st->xdp)
			if (s.iface != x.iface)
				keep.push_back(s);
		st->xdp = keep;
		if (!xdp_attach_rfd(x.iface, x.cfg, &id, &e, &unsupported)) {
			err << "warning: [rfd] " << e << "\n  replies on " << x.iface << " follow RFS only"
			    << (unsupported ? " (the driver has no native XDP)" : "") << "\n";
			continue;
		}
		st->xdp.push_back({x.iface, id, x.cfg.r, x.cfg.port_lo, x.cfg.port_hi});
		out << "  [rfd] " << x.iface << ": XDP reply steering attached, prog " << id << " ("
		    << steering_text(x.cfg.port_lo, x.cfg.port_hi, x.cfg.r) << ")\n";
	}
}

void detach_rfd_steering(const SavedState &st, std::vector<std::string> *failures, std::ostream &out)
{
	for (const auto &x : st.xdp) {
		std::string e;
		if (!xdp_detach(x.iface, x.prog_id, &e))
			failures->push_back(e);
		else
			out << "  [rfd] " << x.iface << ": XDP reply steering detached\n";
	}
}

std::vector<XdpDrift> rfd_steering_drift(const std::vector<SavedXdp> &saved)
{
	std::vector<XdpDrift> d;
	for (const auto &x : saved) {
		XdpInfo now;
		std::string e;
		std::string want = std::string(kRfdProgName) + " prog " + std::to_string(x.prog_id);
		if (!xdp_query(x.iface, &now, &e))
			d.push_back({x.iface, want, e});
		else if (!now.attached || now.prog_id != x.prog_id)
			d.push_back({x.iface, want,
				     now.attached ? "prog " + std::to_string(now.prog_id) + " '" + now.prog_name + "'"
						  : "none"});
		else if (std::vector<std::string> missing; !xdp_pins_complete(x.iface, now, &missing))
			d.push_back({x.iface, want + " pinned under " + kBpfPinDir, "missing " + missing[0] +
				     (missing.size() > 1 ? " and " + std::to_string(missing.size() - 1) + " more" : "")});
	}
	return d;
}

} // namespace fsock
