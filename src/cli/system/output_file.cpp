// SPDX-License-Identifier: GPL-2.0
#include "system/output_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "system/root.h"

namespace fsock {

int write_output_file(const std::string &file, const std::string &data, unsigned mode)
{
	if (file.empty() || file.back() == '/')
		return EISDIR;
	std::string abs = file;
	if (abs[0] != '/') {
		char cwd[PATH_MAX];
		if (!::getcwd(cwd, sizeof(cwd)))
			return errno;
		abs = std::string(cwd) + "/" + abs;
	}
	std::string dir = abs.substr(0, abs.find_last_of('/'));
	struct stat st;
	if (::stat(dir.empty() ? "/" : dir.c_str(), &st) != 0)
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	return Root("/").write_atomic(abs, data, mode);
}

} // namespace fsock
