// SPDX-License-Identifier: GPL-2.0
// `fastsocket status`'s host-wide listener section (/proc/fastsocket/listeners)
// as text, JSON and Prometheus metrics fastsocket_listener_*{netns,addr}.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

#include "system/listeners.h"

namespace fsock {

void render_listeners_text(const ListenerTable &t, std::ostream &out);
nlohmann::json listeners_json(const ListenerTable &t);
// Complete metric families (one HELP/TYPE each, samples grouped).
void render_listeners_prometheus(const ListenerTable &t, std::ostream &out);

} // namespace fsock
