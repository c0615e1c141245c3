// SPDX-License-Identifier: GPL-2.0
// Bytes that are not UTF-8 (a Latin-1 comment in a modprobe.d file, a module
// version string) must survive JSON, which only holds Unicode text.
#pragma once

#include <optional>
#include <string>

namespace fsock {

bool is_valid_utf8(const std::string &s);
std::string base64_encode(const std::string &bytes);
// nullopt when `text` is not base64.
std::optional<std::string> base64_decode(const std::string &text);
// For display only (status --json, Prometheus labels): invalid bytes become
// U+FFFD.
std::string utf8_for_display(const std::string &s);

} // namespace fsock
