// SPDX-License-Identifier: GPL-2.0
#include "commands/run.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "commands/commands.h"
#include "fastsocket.h"
#include "system/cpuset.h"

// The private library directory of the install (src/cli/CMakeLists.txt).
// No build-tree path is ever compiled in: a build tree's library is used
// only when named by --lib or $FASTSOCKET_LIB.
#ifndef FASTSOCKET_INSTALLED_LIB
#define FASTSOCKET_INSTALLED_LIB "/usr/lib/fastsocket/libfsocket.so"
#endif

namespace fsock {

ModuleProbe probe_module(const Root &root)
{
	ModuleProbe p;
	std::string dev = root.path(FSOCKET_DEVICE_PATH);
	int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		p.text = "module not usable (" + std::string(FSOCKET_DEVICE_PATH) + ": " + std::strerror(errno) + ")";
		return p;
	}
	struct fsocket_version v;
	std::memset(&v, 0, sizeof(v));
	int rc = ::ioctl(fd, FSOCKET_IOC_VERSION, &v);
	int e = errno;
	::close(fd);
	if (rc != 0) {
		p.text = "module not usable (FSOCKET_IOC_VERSION: " + std::string(std::strerror(e)) + ")";
		return p;
	}
	v.module_version[FSOCKET_MODULE_VERSION_LEN - 1] = '\0';
	if (v.abi_version != FSOCKET_ABI_VERSION) {
		p.text = "module not usable (its ABI is " + std::to_string(v.abi_version) + ", this tool speaks " +
			 std::to_string(FSOCKET_ABI_VERSION) + ")";
		return p;
	}
	p.usable = true;
	p.listen_spawn = static_cast<int>(v.listen_spawn);
	p.text = "module " + std::string(v.module_version) + " (abi " + std::to_string(v.abi_version) + ", " +
		 std::to_string(v.nr_cpu_ids) + " CPUs, listen_spawn " + std::to_string(v.listen_spawn) + ")";
	return p;
}

static bool is_file(const std::string &p)
{
	return !p.empty() && ::access(p.c_str(), R_OK) == 0;
}

std::string find_library(const std::string &explicit_lib, std::string *tried)
{
	std::vector<std::string> cands;
	if (!explicit_lib.empty()) {
		cands.push_back(explicit_lib);
	} else {
		if (const char *env = std::getenv("FASTSOCKET_LIB"); env && *env)
			cands.push_back(env);
		cands.push_back(FASTSOCKET_INSTALLED_LIB);
	}
	tried->clear();
	for (const auto &c : cands) {
		if (is_file(c)) {
			char buf[PATH_MAX];
			return ::realpath(c.c_str(), buf) ? std::string(buf) : c;
		}
		*tried += (tried->empty() ? "" : ", ") + c;
	}
	return "";
}

std::string prepend_preload(const std::string &current, const std::string &lib)
{
	std::string cur;
	for (char c : current + " ") {
		if (c == ':' || c == ' ') {
			if (cur == lib)
				return current; // already preloaded: never twice
			cur.clear();
		} else {
			cur += c;
		}
	}
	return trim(current).empty() ? lib : lib + ":" + current;
}

static bool kernel_at_least(const std::string &release, int maj, int min)
{
	int a = 0, b = 0;
	if (std::sscanf(release.c_str(), "%d.%d", &a, &b) != 2)
		return false;
	return a > maj || (a == maj && b >= min);
}

std::string effect_line(const RunRequest &req, const std::string &lib, const ModuleProbe &probe,
			const std::string &kernel_release)
{
	std::string s = "fastsocket run: ";
	if (lib.empty())
		return s + "FASTSOCKET_MODE=off and no libfsocket.so: running the command unchanged";
	s += "preloading " + lib + ", mode " + req.mode + ": ";
	bool userspace_ok = kernel_at_least(kernel_release, 6, 1);
	std::string fallback = userspace_ok ? "user-space listen spawn (SO_REUSEPORT + SO_INCOMING_CPU)"
					    : "pass-through (kernel " + kernel_release +
						      " < 6.1 cannot select reuseport listeners by CPU)";
	if (req.mode == "off")
		s += "pass-through, nothing accelerated";
	else if (req.mode == "module")
		s += probe.usable ? "kernel module, " + probe.text : "pass-through, " + probe.text;
	else if (req.mode == "userspace")
		s += fallback;
	else
		s += probe.usable ? "kernel module, " + probe.text : fallback + "; " + probe.text;
	if (req.mode != "off") {
		// Not given: the library takes the module's parameter, else 1.
		bool module = req.mode != "userspace" && probe.usable;
		int spawn = req.listen_spawn >= 0 ? req.listen_spawn : module ? probe.listen_spawn : 1;
		s += ", listen spawn " + std::to_string(spawn);
		if (req.rfd >= 0)
			s += std::string(", RFD ") + (req.rfd ? "on" : "off");
		if (req.fast_epoll >= 0)
			s += std::string(", fast epoll ") + (req.fast_epoll ? "on" : "off");
	}
	return s;
}

static std::string shell_quote(const std::string &s)
{
	if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_-+=:,./") ==
				  std::string::npos)
		return s;
	std::string o = "'";
	for (char c : s)
		o += c == '\'' ? std::string("'\\''") : std::string(1, c);
	return o + "'";
}

void register_run(CLI::App &app, Globals &g)
{
	auto *sub = app.add_subcommand("run", "Run a program with libfsocket.so preloaded (listen spawn)");
	auto req = std::make_shared<RunRequest>();
	// The mode defaults to $FASTSOCKET_MODE (e.g. from a unit's Environment=).
	if (const char *m = std::getenv("FASTSOCKET_MODE")) {
		std::string mode = m;
		if (mode == "off" || mode == "module" || mode == "userspace" || mode == "auto")
			req->mode = mode;
	}
	auto profile = std::make_shared<std::string>();
	auto dry = std::make_shared<bool>(false);
	sub->add_option("--profile", *profile,
			"Take enable_listen_spawn, enable_receive_flow_deliver and enable_fast_epoll from "
			"this profile's module.parameters (options given here win)");
	sub->add_flag("-n,--dry-run", *dry, "Print the environment and the command; do not run it");
	sub->add_option("--mode", req->mode, "off, module, userspace or auto (default: $FASTSOCKET_MODE, else auto)")
		->check(CLI::IsMember({"off", "module", "userspace", "auto"}));
	sub->add_option("--lib", req->lib, "Path of libfsocket.so (default: $FASTSOCKET_LIB, then the installed one)");
	sub->add_option("--listen-spawn", req->listen_spawn, "0, 1 or 2 (FASTSOCKET_LISTEN_SPAWN)")
		->check(CLI::Range(0, 2));
	sub->add_option("--rfd", req->rfd,
			"0 or 1: source ports that encode the worker's CPU (FASTSOCKET_RFD; default: the "
			"module's enable_receive_flow_deliver)")
		->check(CLI::Range(0, 1));
	sub->add_option("--fast-epoll", req->fast_epoll, "0 or 1 (FASTSOCKET_FAST_EPOLL; default: the module's)")
		->check(CLI::Range(0, 1));
	sub->add_option("--cpus", req->cpus, "CPUs workers may be pinned to, e.g. 0-3,8 (FASTSOCKET_CPUS)");
	sub->add_option("--verbose", req->verbose, "Library verbosity 0, 1 or 2 (FASTSOCKET_VERBOSE)")
		->check(CLI::Range(0, 2));
	sub->add_option("command", req->command, "The program and its arguments, after --")->required();
	sub->positionals_at_end();
	sub->footer(R"(Prepends libfsocket.so to LD_PRELOAD (once), sets FASTSOCKET_MODE,
FASTSOCKET_LISTEN_SPAWN, FASTSOCKET_RFD, FASTSOCKET_FAST_EPOLL, FASTSOCKET_CPUS and
FASTSOCKET_VERBOSE (see src/lib/README.md),
checks /dev/fastsocket with the VERSION ioctl, prints one line on stderr saying what will
be in effect, then replaces itself with the program (same PID; its exit code is the
program's).

Examples:
  fastsocket run -- haproxy -f /etc/haproxy/haproxy.cfg
  fastsocket run --profile proxy --mode auto -- nginx -g 'daemon off;'
  fastsocket run --dry-run -- nginx

Exit codes: the program's own; 127 it cannot be executed; 2 bad options or profile;
1 libfsocket.so not found (--dry-run then says so and exits 0; --mode off runs the
command without the library).)");
	sub->callback([&g, req, profile, dry]() {
		Root root(g.root);
		if (!profile->empty()) {
			Profile p;
			int rc = load_checked(root, *profile, &p, std::cerr);
			if (rc != kExitOk) {
				g.exit_code = rc;
				return;
			}
			for (const auto &kv : p.module.params) {
				int v = static_cast<int>(kv.second);
				if (kv.first == "enable_listen_spawn" && req->listen_spawn < 0)
					req->listen_spawn = v;
				else if (kv.first == "enable_receive_flow_deliver" && req->rfd < 0)
					req->rfd = v;
				else if (kv.first == "enable_fast_epoll" && req->fast_epoll < 0)
					req->fast_epoll = v;
			}
		}
		if (!req->cpus.empty()) {
			CpuSet s;
			std::string err;
			if (!CpuSet::parse_list(req->cpus, &s, &err) || s.empty()) {
				std::cerr << "error: --cpus " << req->cpus << ": " << (err.empty() ? "empty" : err) << "\n";
				g.exit_code = kExitInvalid;
				return;
			}
		}
		std::string tried;
		std::string lib = find_library(req->lib, &tried);
		std::string missing;
		if (lib.empty() && (req->mode != "off" || !req->lib.empty()))
			missing = "libfsocket.so not found at " + tried +
				  "; install the fastsocket package, give --lib PATH, or use --mode off to run the "
				  "command without it";
		// --dry-run always shows what would happen, including what is missing.
		if (!missing.empty() && !*dry) {
			std::cerr << "error: " << missing << "\n";
			g.exit_code = kExitFailure;
			return;
		}
		std::vector<std::pair<std::string, std::string>> env;
		if (!lib.empty()) {
			const char *cur = std::getenv("LD_PRELOAD");
			env.emplace_back("LD_PRELOAD", prepend_preload(cur ? cur : "", lib));
		}
		env.emplace_back("FASTSOCKET_MODE", req->mode);
		if (req->listen_spawn >= 0)
			env.emplace_back("FASTSOCKET_LISTEN_SPAWN", std::to_string(req->listen_spawn));
		if (req->rfd >= 0)
			env.emplace_back("FASTSOCKET_RFD", std::to_string(req->rfd));
		if (req->fast_epoll >= 0)
			env.emplace_back("FASTSOCKET_FAST_EPOLL", std::to_string(req->fast_epoll));
		if (!req->cpus.empty())
			env.emplace_back("FASTSOCKET_CPUS", req->cpus);
		if (req->verbose >= 0)
			env.emplace_back("FASTSOCKET_VERBOSE", std::to_string(req->verbose));

		struct utsname u;
		std::string release = ::uname(&u) == 0 ? u.release : "";
		ModuleProbe probe = req->mode == "off" || req->mode == "userspace" ? ModuleProbe{false, "not checked"}
										     : probe_module(root);
		if (!missing.empty())
			std::cerr << "fastsocket run: would fail: " << missing << "\n";
		else
			std::cerr << effect_line(*req, lib, probe, release) << "\n";
		if (*dry) {
			for (const auto &e : env)
				std::cout << e.first << "=" << shell_quote(e.second) << "\n";
			for (std::size_t i = 0; i < req->command.size(); i++)
				std::cout << (i ? " " : "") << shell_quote(req->command[i]);
			std::cout << "\n";
			g.exit_code = kExitOk;
			return;
		}
		for (const auto &e : env)
			::setenv(e.first.c_str(), e.second.c_str(), 1);
		std::vector<char *> argv;
		for (auto &a : req->command)
			argv.push_back(a.data());
		argv.push_back(nullptr);
		std::cout.flush();
		std::cerr.flush();
		::execvp(argv[0], argv.data());
		int e = errno;
		std::cerr << "error: cannot run " << req->command[0] << ": " << std::strerror(e) << "\n";
		g.exit_code = 127;
	});
}

} // namespace fsock
