// SPDX-License-Identifier: GPL-2.0
// `plan --json` and `apply --json`: the changes as {area, target, path, old,
// new} for automation (the Ansible role's check mode reads plan --json, its
// apply task reads apply --json's `changed`).
#pragma once

#include <nlohmann/json.hpp>

#include "tuning/change.h"
#include "tuning/executor.h"

namespace fsock {

// Exit code of `apply --detailed-exitcode` when there was nothing to do.
constexpr int kExitUnchanged = 4;

nlohmann::json change_json(const Change &c);
// Every change, pending or not; "changed" says whether apply would change anything.
nlohmann::json plan_json(const Plan &plan);
// rc: apply_plan's return value.
nlohmann::json apply_json(const Plan &plan, const ApplyReport &report, int rc);

} // namespace fsock
