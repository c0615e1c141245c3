// SPDX-License-Identifier: GPL-2.0
// The receive half of RFD on a stock kernel: a native-mode XDP program that
// sends every TCP packet whose destination port lies in the local port range
// to the CPU the port encodes (port % R, R a power of two) through a BPF
// cpumap, so a backend's replies are processed on the CPU of the worker that
// opened the connection (the library picks that port, src/lib/rfd.c).
//
// No libbpf and no clang: the program is a few dozen instructions assembled
// here and loaded with bpf(2); it is attached with rtnetlink (IFLA_XDP), so
// it stays attached after this process exits, holding its cpumap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fsock {

// Name of our program as the kernel reports it (bpf_prog_info.name).
inline constexpr const char *kRfdProgName = "fs_rfd";

struct RfdSteering {
	unsigned r = 1;		 // ports map to CPU port & (r - 1)
	unsigned port_lo = 0;	 // steer destination ports in [port_lo, port_hi]
	unsigned port_hi = 0;
	unsigned queue_size = 2048; // cpumap ring per CPU (packets)
	std::vector<unsigned> cpus; // cpumap entries: the online CPUs (ids < r)
};

struct XdpInfo {
	bool attached = false;
	unsigned mode = 0;	// XDP_ATTACHED_* of IFLA_XDP_ATTACHED
	uint32_t prog_id = 0;	// 0 when none or several
	std::string prog_name;	// "" when unknown
	bool ours() const { return attached && prog_name == kRfdProgName; }
};

// R for this machine: configured CPUs rounded up to a power of two (the
// library's rule, src/lib/rfd.c).
unsigned rfd_ring_size();

// What is attached to interface `ifname` now.  false with *err on failure.
bool xdp_query(const std::string &ifname, XdpInfo *out, std::string *err);

// Loads the program and its cpumap (one entry per online CPU below r) and
// attaches it in native (driver) mode, never replacing a program that is
// already attached.  On failure *err holds the kernel's reason (extack or
// verifier log) and *unsupported is set when the driver has no native XDP.
bool xdp_attach_rfd(const std::string &ifname, const RfdSteering &cfg, uint32_t *prog_id, std::string *err,
		    bool *unsupported);

// Detaches program `prog_id` from `ifname` only if it is still the one
// attached (XDP_FLAGS_REPLACE); true when it is gone (or was already).
bool xdp_detach(const std::string &ifname, uint32_t prog_id, std::string *err);

} // namespace fsock
