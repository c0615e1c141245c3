// SPDX-License-Identifier: GPL-2.0
// Reading a file that may be hostile: a profile given on the command line,
// an include, a state file, a sysfs attribute.  Only regular files are read
// (a FIFO would block, a device could be anything), never more than a cap,
// and every failure names the path and says why.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace fsock {

// The whole content of `path` if it is a regular file of at most max_bytes
// bytes.  Otherwise std::nullopt, with *error (when not null) set to
// "PATH: REASON" where REASON is strerror(errno) or one of "is a directory",
// "is a FIFO", "is a socket", "is a device", "is not a regular file",
// "larger than N bytes"; and *error_number (when not null) set to the errno
// of the failure (EISDIR for a directory, EINVAL for another non-regular
// file, EFBIG for a file over the cap), so callers can tell ENOENT apart.
// The file is opened O_RDONLY|O_NONBLOCK|O_CLOEXEC: a FIFO never blocks.
std::optional<std::string> read_regular_file(const std::string &path, std::size_t max_bytes,
					     std::string *error, int *error_number = nullptr);

} // namespace fsock
