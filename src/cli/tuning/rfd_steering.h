// SPDX-License-Identifier: GPL-2.0
// RFD's receive half on the tuned interfaces (system/xdp.h): planned when
// the profile loads fastsocket.ko with enable_receive_flow_deliver=1,
// attached by apply after the module, detached by revert, checked by status.
// A driver without native XDP, or another program already attached, is a
// warning, not a failure: the replies then follow RFS alone.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "system/state_store.h"
#include "tuning/tuning.h"

namespace fsock {

bool profile_wants_rfd(const Profile &p);
void plan_rfd_steering(const PlanInput &in, Plan *plan);

// "[rfd] fsp0: XDP reply steering none -> fs_rfd (...)"
std::string describe_xdp(const XdpChange &x);

// Whether attach_rfd_steering() has anything to do for this plan.
bool rfd_steering_pending(const Plan &plan, const SavedState &st);

// Detaches the programs st->xdp recorded that the plan no longer wants,
// attaches every pending one (replacing ours when its ports or R changed
// since st->xdp was saved) and records them in st->xdp.
void attach_rfd_steering(const Plan &plan, SavedState *st, std::ostream &out, std::ostream &err);

// Detaches what st.xdp recorded; problems are appended to *failures.
void detach_rfd_steering(const SavedState &st, std::vector<std::string> *failures, std::ostream &out);

// Recorded programs that are no longer attached: {iface, wanted, now}.
struct XdpDrift {
	std::string iface, want, now;
};
std::vector<XdpDrift> rfd_steering_drift(const std::vector<SavedXdp> &saved);

} // namespace fsock
