// SPDX-License-Identifier: GPL-2.0
// /proc/net/tcp and /proc/net/tcp6: the kernel's socket table, one line per
// socket ("sl local_address rem_address st ... uid timeout inode ...").
// `fastsocket ps` matches a process's socket inodes against it to find what
// the process listens on.  Input like any other: at most kTcpMaxLines lines
// are parsed, a malformed line is counted and skipped, never an error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "system/root.h"

namespace fsock {

constexpr std::size_t kTcpMaxLines = 1u << 20;
constexpr unsigned kTcpListen = 0x0A; // TCP_LISTEN in the "st" column

struct TcpSocket {
	std::string local; // "127.0.0.1" or "::1"
	unsigned port = 0;
	unsigned state = 0;
	unsigned long long inode = 0;
	bool v6 = false;

	// "127.0.0.1:80", "[::]:443"
	std::string endpoint() const;
};

struct TcpTable {
	std::vector<TcpSocket> sockets;
	std::size_t bad_lines = 0;
	bool truncated = false; // more than kTcpMaxLines lines
};

// Parses the text of tcp (v6 false) or tcp6 (v6 true), appending to *out.
void parse_proc_net_tcp(const std::string &text, bool v6, TcpTable *out);
// Reads DIR/tcp and DIR/tcp6 inside the root (DIR: /proc/net or
// /proc/PID/net).  Missing files are skipped (no IPv6).
TcpTable read_tcp_table(const Root &root, const std::string &dir);

} // namespace fsock
