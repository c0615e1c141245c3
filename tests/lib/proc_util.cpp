#include "proc_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace fstest {

static void exec_child(const std::vector<std::string> &argv,
		       const std::map<std::string, std::string> &env)
{
	for (const auto &kv : env) {
		if (kv.second.empty())
			unsetenv(kv.first.c_str());
		else
			setenv(kv.first.c_str(), kv.second.c_str(), 1);
	}
	std::vector<char *> a;
	for (const auto &s : argv)
		a.push_back(const_cast<char *>(s.c_str()));
	a.push_back(nullptr);
	execvp(a[0], a.data());
	perror(a[0]);
	_exit(127);
}

Proc start(const std::vector<std::string> &argv, const std::map<std::string, std::string> &env,
	   const std::string &dir, const std::string &tag)
{
	Proc p;
	p.out_path = dir + "/" + tag + ".out";
	p.err_path = dir + "/" + tag + ".err";
	p.pid = fork();
	if (p.pid == 0) {
		int o = open(p.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(p.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		setpgid(0, 0);
		exec_child(argv, env);
	}
	return p;
}

// Waits up to timeout_s for pid to exit, then SIGKILLs it (and its process
// group); returns the wait status.
static int wait_or_kill(pid_t pid, int timeout_s, bool *timed_out)
{
	int status = -1;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (std::chrono::steady_clock::now() > deadline) {
			*timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return status;
}

int run(const std::vector<std::string> &argv, const std::map<std::string, std::string> &env,
	std::string *out, std::string *err, int timeout_s)
{
	std::string dir = make_tempdir("fsrun");
	Proc p = start(argv, env, dir, "run");
	bool timed_out = false;
	int status = wait_or_kill(p.pid, timeout_s, &timed_out);
	if (timed_out)
		status = -1;
	if (out)
		*out = slurp(p.out_path);
	if (err)
		*err = slurp(p.err_path);
	std::string cmd = "rm -rf '" + dir + "'";
	if (system(cmd.c_str()) != 0)
		perror("rm");
	if (status >= 0 && WIFEXITED(status))
		return WEXITSTATUS(status);
	return -1;
}

int stop(Proc &p, int sig, int timeout_s)
{
	if (p.pid <= 0)
		return -1;
	kill(p.pid, sig);
	bool timed_out = false;
	int status = wait_or_kill(p.pid, timeout_s, &timed_out);
	kill(-p.pid, SIGKILL);	// leftovers of its process group
	p.pid = -1;
	return status;
}

bool wait_port(int port, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 20) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		sockaddr_in sa{};
		sa.sin_family = AF_INET;
		sa.sin_port = htons(port);
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		int r = connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa));
		close(fd);
		if (r == 0)
			return true;
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	return false;
}

int free_port()
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in sa{};
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t l = sizeof(sa);
	if (bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0 ||
	    getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &l) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

std::string slurp(const std::string &path)
{
	std::ifstream f(path);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

std::string make_tempdir(const std::string &prefix)
{
	std::string t = "/tmp/" + prefix + "-XXXXXX";
	std::vector<char> buf(t.begin(), t.end());
	buf.push_back(0);
	if (!mkdtemp(buf.data()))
		return "/tmp";
	return buf.data();
}

std::vector<std::string> lines_with(const std::string &s, const std::string &prefix)
{
	std::vector<std::string> r;
	std::istringstream in(s);
	std::string line;
	while (std::getline(in, line))
		if (line.compare(0, prefix.size(), prefix) == 0)
			r.push_back(line);
	return r;
}

std::string field(const std::string &line, const std::string &key)
{
	std::string k = key + "=";
	size_t pos = 0;
	while ((pos = line.find(k, pos)) != std::string::npos) {
		if (pos == 0 || line[pos - 1] == ' ' || line[pos - 1] == '\n') {
			size_t end = line.find_first_of(" \n", pos);
			return line.substr(pos + k.size(), end == std::string::npos ? std::string::npos
										    : end - pos - k.size());
		}
		pos += k.size();
	}
	return "";
}

std::vector<pid_t> children_of(pid_t pid)
{
	std::vector<pid_t> r;
	DIR *d = opendir("/proc");
	if (!d)
		return r;
	while (dirent *e = readdir(d)) {
		pid_t p = atoi(e->d_name);
		if (p <= 0)
			continue;
		std::string st = slurp("/proc/" + std::string(e->d_name) + "/stat");
		size_t rp = st.rfind(')');
		if (rp == std::string::npos)
			continue;
		char state;
		int ppid;
		if (sscanf(st.c_str() + rp + 1, " %c %d", &state, &ppid) == 2 && ppid == pid)
			r.push_back(p);
	}
	closedir(d);
	return r;
}

std::string cpus_allowed(pid_t pid, pid_t tid)
{
	std::string path = "/proc/" + std::to_string(pid) +
			   (tid ? "/task/" + std::to_string(tid) : std::string()) + "/status";
	for (const auto &l : lines_with(slurp(path), "Cpus_allowed_list:")) {
		size_t p = l.find_first_not_of(" \t", l.find(':') + 1);
		return p == std::string::npos ? "" : l.substr(p);
	}
	return "";
}

int kernel_at_least(int major, int minor)
{
	utsname u;
	int ma = 0, mi = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

}  // namespace fstest
