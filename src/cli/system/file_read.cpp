// SPDX-License-Identifier: GPL-2.0
#include "system/file_read.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsock {
namespace {

// Why a file of this type is not read, or nullptr for a regular file.
const char *not_regular_reason(mode_t mode, int *error_number)
{
	*error_number = EINVAL;
	if (S_ISREG(mode))
		return nullptr;
	if (S_ISDIR(mode)) {
		*error_number = EISDIR;
		return "is a directory";
	}
	if (S_ISFIFO(mode))
		return "is a FIFO";
	if (S_ISSOCK(mode))
		return "is a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "is a device";
	return "is not a regular file";
}

// Paths come from users and profiles: keep a pathological one from filling
// the terminal (the tail names the file best).
std::string shown_path(const std::string &path)
{
	constexpr std::size_t kMax = 160;
	if (path.size() <= kMax)
		return path;
	return "..." + path.substr(path.size() - kMax);
}

std::optional<std::string> fail(const std::string &path, const std::string &reason, int number,
				 std::string *error, int *error_number)
{
	if (error)
		*error = shown_path(path) + ": " + reason;
	if (error_number)
		*error_number = number;
	return std::nullopt;
}

std::string too_large(std::size_t max_bytes)
{
	return "larger than " + std::to_string(max_bytes) + " bytes";
}

} // namespace

std::optional<std::string> read_regular_file(const std::string &path, std::size_t max_bytes,
					     std::string *error, int *error_number)
{
	int number = 0;
	// stat() first so a device is never opened (opening one can have an
	// effect, e.g. a watchdog or a tape); fstat() after open() closes the
	// window where the path is swapped in between.
	struct stat st;
	if (::stat(path.c_str(), &st) != 0)
		return fail(path, std::strerror(errno), errno, error, error_number);
	if (const char *why = not_regular_reason(st.st_mode, &number))
		return fail(path, why, number, error, error_number);

	int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(path, std::strerror(errno), errno, error, error_number);
	struct FdCloser {
		int fd;
		~FdCloser() { ::close(fd); }
	} closer{fd};

	if (::fstat(fd, &st) != 0)
		return fail(path, std::strerror(errno), errno, error, error_number);
	if (const char *why = not_regular_reason(st.st_mode, &number))
		return fail(path, why, number, error, error_number);
	// st_size is only a hint (procfs says 0, sysfs 4096): the read loop
	// below enforces the cap on what is really there.
	if (st.st_size > 0 && static_cast<unsigned long long>(st.st_size) > max_bytes)
		return fail(path, too_large(max_bytes), EFBIG, error, error_number);

	std::string content;
	char buf[65536];
	for (;;) {
		ssize_t n = ::read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(path, std::strerror(errno), errno, error, error_number);
		}
		if (n == 0)
			break;
		if (content.size() + static_cast<std::size_t>(n) > max_bytes)
			return fail(path, too_large(max_bytes), EFBIG, error, error_number);
		content.append(buf, static_cast<std::size_t>(n));
	}
	if (error_number)
		*error_number = 0;
	return content;
}

} // namespace fsock
