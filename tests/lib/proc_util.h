// Helpers for tests/lib: start real servers as child processes with an
// environment of our choosing, wait for their ports, stop them.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace fstest {

struct Proc {
	pid_t pid = -1;
	std::string out_path, err_path;
};

// Start argv with the current environment plus env (value "" unsets).
// stdout/stderr go to files under dir.
Proc start(const std::vector<std::string> &argv, const std::map<std::string, std::string> &env,
	   const std::string &dir, const std::string &tag);
// Run to completion; returns the exit status (or -1) and fills out/err.
int run(const std::vector<std::string> &argv, const std::map<std::string, std::string> &env,
	std::string *out, std::string *err, int timeout_s = 120);
// Send sig and wait (up to timeout_s, then SIGKILL); returns the wait status.
int stop(Proc &p, int sig = SIGTERM, int timeout_s = 20);
bool wait_port(int port, int timeout_ms = 10000);
int free_port();
std::string slurp(const std::string &path);
std::string make_tempdir(const std::string &prefix);
// Lines of s that start with prefix.
std::vector<std::string> lines_with(const std::string &s, const std::string &prefix);
// Value of key=... in a "k=v k2=v2" line, or "".
std::string field(const std::string &line, const std::string &key);
// Children of pid (from /proc/*/stat).
std::vector<pid_t> children_of(pid_t pid);
// Cpus_allowed_list of a task.
std::string cpus_allowed(pid_t pid, pid_t tid = 0);
int kernel_at_least(int major, int minor);

}  // namespace fstest
