// SPDX-License-Identifier: GPL-2.0
// Where an operator finds everything of ours in bpffs: /sys/fs/bpf/fastsocket/
// (mode 0700, made on the first pin, removed by the last unpin), one set of
// pins per interface:
//   <ifname>-rfd-prog   the fs_rfd program
//   <ifname>-rfd-cpus   its cpumap
//   <ifname>-rfd-link   the XDP bpf_link, when fs_rfd is attached alone
//                       (without libxdp's dispatcher, whose own pins live
//                       under /sys/fs/bpf/xdp/)
// The link pin is what keeps a program attached alone on the interface:
// removing it detaches the program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fsock {

inline constexpr const char *kBpfPinDir = "/sys/fs/bpf/fastsocket";

enum class RfdPin { Prog, Cpus, Link };

// "/sys/fs/bpf/fastsocket/eth0-rfd-prog"
std::string rfd_pin_path(const std::string &ifname, RfdPin what);

// Pins fd (a program, map or link) at rfd_pin_path(ifname, what), replacing
// an older pin of that name.  false with *err.
bool rfd_pin(int fd, const std::string &ifname, RfdPin what, std::string *err);

// The id of the program behind the pin (a program pin's own id, a link
// pin's program), 0 when there is no pin or it cannot be read.
uint32_t rfd_pinned_prog_id(const std::string &ifname, RfdPin what);

// Removes the pins of ifname; the directory too when it is left empty.
void rfd_unpin(const std::string &ifname);

// The pins that should be there and are not, as their paths.
std::vector<std::string> rfd_missing_pins(const std::string &ifname, bool attached_alone);

} // namespace fsock
