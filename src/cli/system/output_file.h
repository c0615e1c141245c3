// SPDX-License-Identifier: GPL-2.0
// `--output FILE`: a report written so a reader (node_exporter's textfile
// collector) sees the old or the new file, never half of one.
#pragma once

#include <string>

namespace fsock {

// Writes `data` to the host path `file` (relative to the working directory
// or absolute): a temporary file in the same directory, fsync, rename over
// `file`, fsync of the directory; the file gets `mode` whatever the umask.
// The directory must exist.  Returns 0 or an errno value.
int write_output_file(const std::string &file, const std::string &data, unsigned mode = 0644);

} // namespace fsock
