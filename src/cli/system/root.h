// SPDX-License-Identifier: GPL-2.0
// Every read and write the CLI does to /sys, /proc, /etc and /var goes
// through a Root, so `--root DIR` (and the tests) can point the whole tool at
// a directory shaped like /.  Commands (modprobe) go through it too.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fsock {

class Root {
public:
	// Called before every write(); a non-zero return is used as the errno of
	// the write, which is then not performed; a negative return makes the
	// write report success without storing anything (a kernel that ignores
	// or clamps a value).  Tests use it to make the kernel "refuse" a value.
	using FaultInjector = std::function<int(const std::string &path, const std::string &data)>;
	// Runs argv (argv[0] is a bare command name); returns the exit status
	// (or -1 when it could not be started, with *output set to the reason).
	using CommandRunner = std::function<int(const std::vector<std::string> &argv, std::string *output)>;

	explicit Root(std::string dir = "/");

	const std::string &dir() const { return dir_; }
	bool is_host_root() const { return dir_ == "/"; }
	// Host path for an absolute path inside the root.
	std::string path(const std::string &abs) const;

	bool exists(const std::string &abs) const;
	bool is_dir(const std::string &abs) const;
	// Whole file; std::nullopt on error with *err set to errno.  Regular
	// files only (EINVAL otherwise), never blocks, at most kMaxRead bytes
	// (EFBIG).
	static constexpr std::size_t kMaxRead = 16u << 20;
	// *why (optional): "HOSTPATH: reason", e.g. "is a FIFO".
	std::optional<std::string> read(const std::string &abs, int *err = nullptr, std::string *why = nullptr) const;
	// Trimmed of surrounding whitespace.
	std::optional<std::string> read_trimmed(const std::string &abs, int *err = nullptr) const;
	// One open(O_WRONLY|O_TRUNC) + one write() of the whole buffer, as
	// sysfs and procfs need.  Returns 0 or an errno value.
	int write(const std::string &abs, const std::string &data) const;
	// For regular files under /etc and /var: write a temporary file, fsync,
	// rename over the target, fsync the directory.  Creates parent dirs.
	int write_atomic(const std::string &abs, const std::string &data, unsigned mode = 0644) const;
	int remove(const std::string &abs) const;
	// Entry names of a directory, sorted; empty if it cannot be read.
	std::vector<std::string> list(const std::string &abs) const;
	// Target of a symlink inside the root (as stored), or nullopt.
	std::optional<std::string> readlink(const std::string &abs) const;
	// Last path component of the resolved target of a symlink (or of the
	// directory itself when it is not a link).
	std::string resolved_basename(const std::string &abs) const;

	void set_fault_injector(FaultInjector f) { fault_ = std::move(f); }
	void set_command_runner(CommandRunner r) { runner_ = std::move(r); }
	int run(const std::vector<std::string> &argv, std::string *output) const;

private:
	int default_run(const std::vector<std::string> &argv, std::string *output) const;

	std::string dir_;
	FaultInjector fault_;
	CommandRunner runner_;
};

std::string trim(const std::string &s);

// mkdir -p of a host path; the last directory gets `mode`.  0 or an errno.
int make_dirs(const std::string &host_dir, unsigned mode);

} // namespace fsock
