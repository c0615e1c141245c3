// SPDX-License-Identifier: GPL-2.0
#include "system/proc_net_tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <sstream>

#include "system/sysinfo.h"

namespace fsock {

namespace {

bool parse_hex32(const std::string &s, std::uint32_t *out)
{
	if (s.size() != 8)
		return false;
	std::uint32_t v = 0;
	for (char c : s) {
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		v = (v << 4) | static_cast<std::uint32_t>(d);
	}
	*out = v;
	return true;
}

bool parse_hex(const std::string &s, std::size_t max_digits, unsigned *out)
{
	if (s.empty() || s.size() > max_digits)
		return false;
	unsigned v = 0;
	for (char c : s) {
		if (!std::isxdigit(static_cast<unsigned char>(c)))
			return false;
		v = v * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
											     : (c | 0x20) - 'a' + 10);
	}
	*out = v;
	return true;
}

// "0100007F:0050": the kernel prints each 32-bit word of the address as
// %08X of its in-memory (network order) value, i.e. in host byte order.
bool parse_endpoint(const std::string &field, bool v6, std::string *addr, unsigned *port)
{
	std::size_t colon = field.find(':');
	if (colon == std::string::npos || !parse_hex(field.substr(colon + 1), 4, port))
		return false;
	std::string hex = field.substr(0, colon);
	std::size_t words = v6 ? 4 : 1;
	if (hex.size() != words * 8)
		return false;
	unsigned char bytes[16];
	for (std::size_t i = 0; i < words; i++) {
		std::uint32_t w;
		if (!parse_hex32(hex.substr(i * 8, 8), &w))
			return false;
		std::memcpy(bytes + i * 4, &w, 4);
	}
	char buf[INET6_ADDRSTRLEN];
	if (!::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, buf, sizeof(buf)))
		return false;
	*addr = buf;
	return true;
}

} // namespace

std::string TcpSocket::endpoint() const
{
	return (v6 ? "[" + local + "]" : local) + ":" + std::to_string(port);
}

void parse_proc_net_tcp(const std::string &text, bool v6, TcpTable *out)
{
	std::istringstream in(text);
	std::string line;
	std::size_t n = 0;
	bool header = true;
	while (std::getline(in, line)) {
		if (header) { // "  sl  local_address rem_address   st ..."
			header = false;
			continue;
		}
		if (++n > kTcpMaxLines) {
			out->truncated = true;
			break;
		}
		std::istringstream f(line);
		std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
		f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
		TcpSocket s;
		s.v6 = v6;
		unsigned long long ino = 0;
		if (inode.empty() || sl.empty() || sl.back() != ':' || !parse_endpoint(local, v6, &s.local, &s.port) ||
		    !parse_hex(st, 2, &s.state) || !parse_decimal(inode, ~0ull, &ino)) {
			out->bad_lines++;
			continue;
		}
		s.inode = ino;
		out->sockets.push_back(s);
	}
}

TcpTable read_tcp_table(const Root &root, const std::string &dir)
{
	TcpTable t;
	if (auto v4 = root.read(dir + "/tcp"))
		parse_proc_net_tcp(*v4, false, &t);
	if (auto v6 = root.read(dir + "/tcp6"))
		parse_proc_net_tcp(*v6, true, &t);
	return t;
}

} // namespace fsock
