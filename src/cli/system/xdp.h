// SPDX-License-Identifier: GPL-2.0
// The receive half of RFD on a stock kernel: the XDP program of
// src/bpf/fs_rfd.bpf.c sends every TCP reply whose destination port lies in
// the local port range to the CPU the port encodes (port % R, R a power of
// two) through a BPF cpumap, so a backend's replies are processed on the CPU
// of the worker that opened the connection (the library picks that port,
// src/lib/rfd.c).
//
// The program is built with clang, embedded with `bpftool gen skeleton`,
// loaded with libbpf and attached in native mode through libxdp's
// dispatcher, so it runs beside other libxdp programs on the interface.
// libxdp pins the dispatcher and our program's link under
// /sys/fs/bpf/xdp/dispatch-<ifindex>-<id>/ (bpffs is mounted when missing),
// so the program stays attached after this process exits.  Where the
// kernel refuses the dispatcher (or LIBXDP_SKIP_DISPATCHER=1), fs_rfd is
// attached alone as a bpf_link.  Either way our program, its cpumap and
// (alone) its link are pinned under /sys/fs/bpf/fastsocket/
// (system/bpf_pins.h).
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
	bool attached = false;	 // some XDP program runs on the interface
	bool dispatcher = false; // it is libxdp's dispatcher: programs can join
	uint32_t prog_id = 0;	 // ours when ours(), else the attached program
	std::string prog_name;	 // kRfdProgName when ours(), else the attached one's
	// The dispatcher's other programs, as "ID 'NAME'".
	std::vector<std::string> others;
	bool ours() const { return attached && prog_name == kRfdProgName; }
};

// R for this machine: configured CPUs rounded up to a power of two (the
// library's rule, src/lib/rfd.c).
unsigned rfd_ring_size();

// What is attached to interface `ifname` now.  false with *err on failure.
bool xdp_query(const std::string &ifname, XdpInfo *out, std::string *err);

// Loads the program and its cpumap (one entry per online CPU below r) and
// attaches it in native (driver) mode through libxdp's dispatcher.  Refuses
// when our program is already there, or when a program that does not use
// the dispatcher is attached (it is never replaced).  On failure *err holds
// the reason (libxdp's, libbpf's or the verifier's) and *unsupported is set
// when the driver has no native XDP.
bool xdp_attach_rfd(const std::string &ifname, const RfdSteering &cfg, uint32_t *prog_id, std::string *err,
		    bool *unsupported);

// Detaches program `prog_id` from `ifname` if it still runs there, alone
// (its bpf_link, or an rtnetlink attachment) or in the dispatcher (whose
// other programs stay), and removes its pins; true when it is gone (or was
// already).
bool xdp_detach(const std::string &ifname, uint32_t prog_id, std::string *err);

// Whether our pins for `ifname` are all there, given what runs there now;
// *missing lists the paths that are not.
bool xdp_pins_complete(const std::string &ifname, const XdpInfo &now, std::vector<std::string> *missing);

} // namespace fsock
