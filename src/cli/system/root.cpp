// SPDX-License-Identifier: GPL-2.0
#include "system/root.h"

#include "system/file_read.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fsock {

std::string trim(const std::string &s)
{
	std::size_t b = 0, e = s.size();
	while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
		b++;
	while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
		e--;
	return s.substr(b, e - b);
}

Root::Root(std::string dir) : dir_(std::move(dir))
{
	if (dir_.empty())
		dir_ = "/";
	while (dir_.size() > 1 && dir_.back() == '/')
		dir_.pop_back();
}

std::string Root::path(const std::string &abs) const
{
	if (is_host_root())
		return abs;
	if (!abs.empty() && abs[0] == '/')
		return dir_ + abs;
	return dir_ + "/" + abs;
}

bool Root::exists(const std::string &abs) const
{
	struct stat st;
	return ::stat(path(abs).c_str(), &st) == 0 || ::lstat(path(abs).c_str(), &st) == 0;
}

bool Root::is_dir(const std::string &abs) const
{
	struct stat st;
	return ::stat(path(abs).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Only regular files, opened O_NONBLOCK (system/file_read.h): a FIFO or
// device put where a sysfs or state file should be must not hang plan,
// status or apply.  sysfs and procfs attributes are regular files.
std::optional<std::string> Root::read(const std::string &abs, int *err, std::string *why) const
{
	int e = 0;
	auto v = read_regular_file(path(abs), kMaxRead, why, &e);
	if (!v && err)
		*err = e;
	return v;
}

std::optional<std::string> Root::read_trimmed(const std::string &abs, int *err) const
{
	auto v = read(abs, err);
	if (!v)
		return v;
	return trim(*v);
}

int Root::write(const std::string &abs, const std::string &data) const
{
	if (fault_) {
		int e = fault_(abs, data);
		if (e < 0)
			return 0; // swallowed: "accepted" but not stored
		if (e)
			return e;
	}
	// O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging.
	int fd = ::open(path(abs).c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno;
	struct stat st;
	if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		::close(fd);
		return EINVAL;
	}
	ssize_t n;
	do {
		n = ::write(fd, data.data(), data.size());
	} while (n < 0 && errno == EINTR);
	int e = n < 0 ? errno : (static_cast<std::size_t>(n) != data.size() ? EIO : 0);
	if (::close(fd) != 0 && !e)
		e = errno;
	return e;
}

int make_dirs(const std::string &dir, unsigned mode)
{
	if (dir.empty() || dir == "/")
		return 0;
	struct stat st;
	if (::stat(dir.c_str(), &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	std::size_t slash = dir.find_last_of('/');
	if (slash != std::string::npos && slash > 0) {
		int e = make_dirs(dir.substr(0, slash), 0755);
		if (e)
			return e;
	}
	if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
		return errno;
	return 0;
}

int Root::write_atomic(const std::string &abs, const std::string &data, unsigned mode) const
{
	if (fault_) {
		int e = fault_(abs, data);
		if (e < 0)
			return 0; // swallowed, as in write()
		if (e)
			return e;
	}
	std::string target = path(abs);
	std::string dir = target.substr(0, target.find_last_of('/'));
	if (dir.empty())
		dir = "/";
	int e = make_dirs(dir, 0755);
	if (e)
		return e;
	// NAME.tmp.PID: a killed run leaves it; the next one removes it under
	// the state lock (remove_stale_temp_files).
	std::string tmp = target + ".tmp." + std::to_string(::getpid());
	::unlink(tmp.c_str());
	int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return errno;
	// The mode asked for, whatever the umask (node_exporter reads .prom files
	// as another user).
	if (::fchmod(fd, mode) != 0)
		e = errno;
	std::size_t off = 0;
	while (!e && off < data.size()) {
		ssize_t n = ::write(fd, data.data() + off, data.size() - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		off += static_cast<std::size_t>(n);
	}
	if (!e && ::fsync(fd) != 0)
		e = errno;
	if (::close(fd) != 0 && !e)
		e = errno;
	if (!e && ::rename(tmp.c_str(), target.c_str()) != 0)
		e = errno;
	if (e) {
		::unlink(tmp.c_str());
		return e;
	}
	int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		::fsync(dfd);
		::close(dfd);
	}
	return 0;
}

int Root::remove(const std::string &abs) const
{
	if (::unlink(path(abs).c_str()) != 0 && errno != ENOENT)
		return errno;
	return 0;
}

std::vector<std::string> Root::list(const std::string &abs) const
{
	std::vector<std::string> out;
	DIR *d = ::opendir(path(abs).c_str());
	if (!d)
		return out;
	while (struct dirent *e = ::readdir(d)) {
		std::string n = e->d_name;
		if (n != "." && n != "..")
			out.push_back(n);
	}
	::closedir(d);
	std::sort(out.begin(), out.end());
	return out;
}

std::optional<std::string> Root::readlink(const std::string &abs) const
{
	char buf[PATH_MAX];
	ssize_t n = ::readlink(path(abs).c_str(), buf, sizeof(buf) - 1);
	if (n < 0)
		return std::nullopt;
	return std::string(buf, static_cast<std::size_t>(n));
}

std::string Root::resolved_basename(const std::string &abs) const
{
	std::string p = abs;
	if (auto l = readlink(abs))
		p = *l;
	while (p.size() > 1 && p.back() == '/')
		p.pop_back();
	std::size_t slash = p.find_last_of('/');
	return slash == std::string::npos ? p : p.substr(slash + 1);
}

int Root::run(const std::vector<std::string> &argv, std::string *output) const
{
	if (runner_)
		return runner_(argv, output);
	return default_run(argv, output);
}

// With the host root, argv[0] is found in $PATH.  With another root the
// command must exist inside it (DIR/sbin, DIR/usr/sbin, DIR/bin, DIR/usr/bin):
// the tool never runs a host command against a fake tree.
int Root::default_run(const std::vector<std::string> &argv, std::string *output) const
{
	if (argv.empty())
		return -1;
	std::string prog = argv[0];
	if (!is_host_root() && prog.find('/') == std::string::npos) {
		std::string found;
		for (const char *d : {"/sbin/", "/usr/sbin/", "/bin/", "/usr/bin/"}) {
			if (::access(path(d + prog).c_str(), X_OK) == 0) {
				found = path(d + prog);
				break;
			}
		}
		if (found.empty()) {
			if (output)
				*output = "'" + prog + "' not found under --root " + dir_ +
					  " (sbin, usr/sbin, bin, usr/bin)";
			return -1;
		}
		prog = found;
	}
	int pipefd[2];
	if (::pipe2(pipefd, O_CLOEXEC) != 0) {
		if (output)
			*output = std::string("pipe: ") + std::strerror(errno);
		return -1;
	}
	pid_t pid = ::fork();
	if (pid < 0) {
		if (output)
			*output = std::string("fork: ") + std::strerror(errno);
		::close(pipefd[0]);
		::close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		::dup2(pipefd[1], 1);
		::dup2(pipefd[1], 2);
		std::vector<char *> args;
		for (const auto &a : argv)
			args.push_back(const_cast<char *>(a.c_str()));
		args[0] = const_cast<char *>(prog.c_str());
		args.push_back(nullptr);
		if (!is_host_root())
			::setenv("FASTSOCKET_ROOT", dir_.c_str(), 1);
		::execvp(prog.c_str(), args.data());
		std::string msg = "cannot run " + prog + ": " + std::strerror(errno) + "\n";
		ssize_t ignored = ::write(2, msg.data(), msg.size());
		(void)ignored;
		::_exit(127);
	}
	::close(pipefd[1]);
	std::string out;
	char buf[1024];
	ssize_t n;
	while ((n = ::read(pipefd[0], buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		out.append(buf, static_cast<std::size_t>(n));
	}
	::close(pipefd[0]);
	int status = 0;
	while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (output)
		*output = trim(out);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

} // namespace fsock
