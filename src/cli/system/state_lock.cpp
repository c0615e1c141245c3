// SPDX-License-Identifier: GPL-2.0
#include "system/state_lock.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "system/state_store.h"
#include "system/module_control.h"

namespace fsock {

const char *const StateLock::kPath = "/run/fastsocket/lock";

StateLock::~StateLock()
{
	if (fd_ >= 0)
		::close(fd_); // releases the flock
}

static std::string holder_pid(int fd)
{
	char buf[32];
	ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return "";
	std::string s = trim(std::string(buf, static_cast<std::size_t>(n)));
	return s.find_first_not_of("0123456789") == std::string::npos ? s : "";
}

bool StateLock::acquire(double wait_seconds, std::string *why)
{
	std::string file = root_.path(kPath);
	std::string dir = file.substr(0, file.find_last_of('/'));
	if (int e = make_dirs(dir, 0700)) {
		*why = "cannot create " + dir + ": " + std::strerror(e);
		return false;
	}
	// Not O_CLOEXEC on purpose: a modprobe started by apply keeps the lock
	// until it exits, even if apply itself is killed meanwhile.
	int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0) {
		*why = "cannot open " + file + ": " + std::strerror(errno);
		return false;
	}
	struct stat st;
	if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || ::fchmod(fd, 0600) != 0) {
		::close(fd);
		*why = file + " is not a regular file";
		return false;
	}
	auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
	while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			*why = "cannot lock " + file + ": " + std::strerror(errno);
			::close(fd);
			return false;
		}
		if (wait_seconds >= 0 && std::chrono::steady_clock::now() >= deadline) {
			std::string pid = holder_pid(fd);
			*why = "another fastsocket apply or revert" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
			       " holds " + file +
			       (wait_seconds > 0 ? "; still busy after waiting " + std::to_string(static_cast<long>(wait_seconds)) + " s"
						 : "; try again when it has finished, or use --wait[=SECONDS]");
			::close(fd);
			return false;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	std::string me = std::to_string(::getpid()) + "\n";
	// The pid is only for the busy message: failing to write it is not fatal.
	if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, me.data(), me.size(), 0) < 0)
		errno = 0;
	fd_ = fd;
	return true;
}

static bool is_our_temp(const std::string &name, const std::string &base)
{
	const std::string pre = base + ".tmp.";
	return name.size() > pre.size() && name.compare(0, pre.size(), pre) == 0 &&
	       name.find_first_not_of("0123456789", pre.size()) == std::string::npos;
}

void remove_stale_temp_files(const Root &root)
{
	for (const std::string &target : {std::string(StateStore::kDefaultPath), std::string(kModprobeConf)}) {
		std::size_t slash = target.find_last_of('/');
		std::string dir = target.substr(0, slash), base = target.substr(slash + 1);
		for (const auto &n : root.list(dir))
			if (is_our_temp(n, base))
				root.remove(dir + "/" + n);
	}
}

} // namespace fsock
