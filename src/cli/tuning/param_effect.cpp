// SPDX-License-Identifier: GPL-2.0
#include "tuning/param_effect.h"

#include <cstdlib>

#include "fastsocket_params.h"
#include "system/sysinfo.h"
#include "system/xdp.h"

namespace fsock {

namespace {

long def_of(const std::string &name)
{
#define X(n, def, min, max, allowed, desc) \
	if (name == #n)                    \
		return def;
	FSOCKET_PARAMS(X)
#undef X
	return 0;
}

std::string sysctl_word(const Root &root, const std::string &path)
{
	auto v = root.read_trimmed(path);
	return v ? *v : "unavailable";
}

// Interfaces running our XDP reply steering (live system only).
std::string xdp_state(const Root &root)
{
	if (!root.is_host_root())
		return "XDP steering not checked under --root";
	std::string on;
	for (const auto &n : list_interfaces(root)) {
		XdpInfo x;
		std::string err;
		if (xdp_query(n, &x, &err) && x.ours())
			on += (on.empty() ? "" : ",") + n;
	}
	return on.empty() ? "no fs_rfd XDP program attached (fastsocket apply attaches it)"
			  : "fs_rfd XDP program on " + on + " sends them to CPU port % R";
}

std::string rfs_state(const Root &root)
{
	auto v = root.read_trimmed("/proc/sys/net/core/rps_sock_flow_entries");
	if (!v)
		return "RFS unavailable on this kernel";
	if (std::atol(v->c_str()) == 0)
		return "RFS off (net.core.rps_sock_flow_entries=0)";
	return "RFS on (net.core.rps_sock_flow_entries=" + *v + ")";
}

} // namespace

std::string param_effect(const Root &root, const std::string &name, const std::string &value)
{
	long v = value.empty() ? def_of(name) : std::atol(value.c_str());

	if (name == "enable_fastsocket_debug")
		return "module log level " + std::to_string(v) + " (messages up to level " +
		       std::to_string(v > 3 ? v : 3) + ")";
	if (name == "enable_listen_spawn") {
		if (v == 0)
			return "off: no per-CPU listeners, LISTEN/ACCEPT on the global listener only";
		return std::string("per-CPU listeners in one SO_REUSEPORT group, CPU-indexed BPF selection; ") +
		       (v == 1 ? "workers pinned by the application" : "the module pins each worker");
	}
	if (name == "enable_receive_flow_deliver") {
		if (v == 0)
			return "off: outgoing connections get the kernel's source port";
		return "libfsocket binds outgoing connections to a port with port % R == worker CPU "
		       "(ip_local_port_range honoured); replies: " + xdp_state(root) + ", then RFS: " + rfs_state(root);
	}
	if (name == "enable_fast_epoll") {
		if (v == 0)
			return "off: libfsocket passes every epoll_ctl through";
		return "libfsocket skips EPOLL_CTL_MOD calls that change nothing (level-triggered, not "
		       "one-shot; a socket in one epoll instance); listeners get EPOLLEXCLUSIVE";
	}
	if (name == "enable_direct_tcp")
		return std::string(v ? "" : "module default; ") +
		       "no module effect; upstream TCP early demux: net.ipv4.tcp_early_demux=" +
		       sysctl_word(root, "/proc/sys/net/ipv4/tcp_early_demux") +
		       (v ? " (fastsocket apply sets it to 1)" : "");
	if (name == "enable_skb_pool")
		return "no module effect; upstream per-CPU NAPI skb caches are always on";
	if (name == "enable_receive_cpu_selection")
		return "no module effect; upstream RFS/aRFS (profile rfs:): " + rfs_state(root);
	if (name == "enable_socket_pool_size")
		return "no module effect; sockets come from the kernel's per-CPU slab caches";
	return "unknown parameter";
}

} // namespace fsock
