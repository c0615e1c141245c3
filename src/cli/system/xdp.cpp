// SPDX-License-Identifier: GPL-2.0
#include "system/xdp.h"

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "system/sysinfo.h"

namespace fsock {

namespace {

// ---- bpf(2) ----------------------------------------------------------------

long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

class Fd {
public:
	explicit Fd(int fd = -1) : fd_(fd) {}
	~Fd()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	int get() const { return fd_; }

private:
	int fd_;
};

// A tiny eBPF assembler with forward labels, enough for one XDP program.
class Asm {
public:
	void ldx(int size, int dst, int src, int16_t off) { emit(BPF_LDX | size | BPF_MEM, dst, src, off, 0); }
	void mov(int dst, int src) { emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
	void movi(int dst, int32_t imm) { emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
	void alui(int op, int dst, int32_t imm) { emit(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
	void alu(int op, int dst, int src) { emit(BPF_ALU64 | op | BPF_X, dst, src, 0, 0); }
	void st(int size, int dst, int16_t off, int32_t imm) { emit(BPF_ST | size | BPF_MEM, dst, 0, off, imm); }
	void stx(int size, int dst, int16_t off, int src) { emit(BPF_STX | size | BPF_MEM, dst, src, off, 0); }
	// Network to host order of the low 16 bits.
	void be16(int dst) { emit(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, 16); }
	void jmpi(int op, int dst, int32_t imm, const std::string &to) { jump(BPF_JMP | op | BPF_K, dst, 0, imm, to); }
	void jmp(int op, int dst, int src, const std::string &to) { jump(BPF_JMP | op | BPF_X, dst, src, 0, to); }
	void ja(const std::string &to) { jump(BPF_JMP | BPF_JA, 0, 0, 0, to); }
	void ld_map(int dst, int map_fd)
	{
		emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, map_fd);
		emit(0, 0, 0, 0, 0);
	}
	void call(int32_t helper) { emit(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
	void exit() { emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
	void label(const std::string &name) { labels_[name] = code_.size(); }

	const std::vector<bpf_insn> &finish()
	{
		for (const auto &f : fixups_)
			code_[f.first].off = static_cast<int16_t>(labels_.at(f.second) - f.first - 1);
		fixups_.clear();
		return code_;
	}

private:
	void emit(uint8_t code, int dst, int src, int16_t off, int32_t imm)
	{
		bpf_insn i{};
		i.code = code;
		i.dst_reg = dst & 0xf;
		i.src_reg = src & 0xf;
		i.off = off;
		i.imm = imm;
		code_.push_back(i);
	}
	void jump(uint8_t code, int dst, int src, int32_t imm, const std::string &to)
	{
		fixups_.emplace_back(code_.size(), to);
		emit(code, dst, src, 0, imm);
	}

	std::vector<bpf_insn> code_;
	std::map<std::string, std::size_t> labels_;
	std::vector<std::pair<std::size_t, std::string>> fixups_;
};

// The program.  A TCP segment (IPv4 unfragmented, or IPv6 with TCP as the
// first header) to a port in [lo, hi] on which nothing listens goes to
// cpumap[port & (r-1)]; everything else passes untouched, as does a segment
// for a CPU without an entry (bpf_redirect_map's flags fallback).  The
// listener check (a socket lookup with the remote end zeroed) keeps a server
// whose port lies in the range from being pinned to one CPU.
// Registers: r9 ctx, r8 data, r7 data_end then the port, r6 TCP header.
std::vector<bpf_insn> rfd_program(int map_fd, const RfdSteering &c)
{
	enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };
	const int eth = 14;
	const int16_t tuple = -40; // struct bpf_sock_tuple on the stack (36 bytes)
	Asm a;
	a.mov(R9, R1);
	a.ldx(BPF_W, R8, R1, offsetof(xdp_md, data));
	a.ldx(BPF_W, R7, R1, offsetof(xdp_md, data_end));
	a.mov(R2, R8);
	a.alui(BPF_ADD, R2, eth);
	a.jmp(BPF_JGT, R2, R7, "pass");
	a.ldx(BPF_H, R3, R8, 12);		// h_proto, as loaded (little endian)
	for (int16_t off = tuple; off < tuple + 32; off += 8)
		a.st(BPF_DW, R10, off, 0);
	a.st(BPF_W, R10, tuple + 32, 0);
	a.jmpi(BPF_JEQ, R3, 0x0008, "ipv4");	// ETH_P_IP
	a.jmpi(BPF_JEQ, R3, 0xdd86, "ipv6");	// ETH_P_IPV6
	a.ja("pass");

	a.label("ipv4");
	a.mov(R2, R8);
	a.alui(BPF_ADD, R2, eth + 20);
	a.jmp(BPF_JGT, R2, R7, "pass");
	a.ldx(BPF_B, R3, R8, eth + 9);		// protocol
	a.jmpi(BPF_JNE, R3, IPPROTO_TCP, "pass");
	a.ldx(BPF_H, R3, R8, eth + 6);		// frag_off: MF or an offset -> pass
	a.jmpi(BPF_JSET, R3, 0xff3f, "pass");
	a.ldx(BPF_W, R3, R8, eth + 16);		// daddr -> tuple.ipv4.daddr
	a.stx(BPF_W, R10, tuple + 4, R3);
	a.ldx(BPF_B, R3, R8, eth);		// version/ihl
	a.alui(BPF_AND, R3, 0x0f);
	a.alui(BPF_LSH, R3, 2);
	a.jmpi(BPF_JLT, R3, 20, "pass");
	a.mov(R6, R8);
	a.alu(BPF_ADD, R6, R3);
	a.alui(BPF_ADD, R6, eth);
	a.mov(R2, R6);
	a.alui(BPF_ADD, R2, 4);
	a.jmp(BPF_JGT, R2, R7, "pass");
	a.ldx(BPF_H, R3, R6, 2);		// dest port -> tuple.ipv4.dport
	a.stx(BPF_H, R10, tuple + 10, R3);
	a.movi(R4, 12);				// sizeof(tuple.ipv4)
	a.ja("lookup");

	a.label("ipv6");
	a.mov(R2, R8);
	a.alui(BPF_ADD, R2, eth + 40 + 4);
	a.jmp(BPF_JGT, R2, R7, "pass");
	a.ldx(BPF_B, R3, R8, eth + 6);		// nexthdr
	a.jmpi(BPF_JNE, R3, IPPROTO_TCP, "pass");
	for (int16_t w = 0; w < 16; w += 4) {	// daddr -> tuple.ipv6.daddr
		a.ldx(BPF_W, R3, R8, static_cast<int16_t>(eth + 24 + w));
		a.stx(BPF_W, R10, static_cast<int16_t>(tuple + 16 + w), R3);
	}
	a.ldx(BPF_H, R3, R8, eth + 40 + 2);	// dest port -> tuple.ipv6.dport
	a.stx(BPF_H, R10, tuple + 34, R3);
	a.movi(R4, 36);				// sizeof(tuple.ipv6)

	a.label("lookup");			// r3 = port (network order), r4 = tuple size
	a.mov(R7, R3);
	a.be16(R7);
	a.jmpi(BPF_JLT, R7, static_cast<int32_t>(c.port_lo), "pass");
	a.jmpi(BPF_JGT, R7, static_cast<int32_t>(c.port_hi), "pass");
	a.mov(R1, R9);
	a.mov(R2, R10);
	a.alui(BPF_ADD, R2, tuple);
	a.mov(R3, R4);
	a.movi(R4, -1);				// BPF_F_CURRENT_NETNS
	a.movi(R5, 0);
	a.call(BPF_FUNC_sk_lookup_tcp);
	a.jmpi(BPF_JEQ, R0, 0, "steer");
	a.mov(R1, R0);				// a listener owns this port: leave it
	a.call(BPF_FUNC_sk_release);
	a.ja("pass");

	a.label("steer");
	a.mov(R2, R7);
	a.alui(BPF_AND, R2, static_cast<int32_t>(c.r - 1));
	a.ld_map(R1, map_fd);
	a.movi(R3, XDP_PASS);			// no entry for that CPU: pass
	a.call(BPF_FUNC_redirect_map);
	a.exit();

	a.label("pass");
	a.movi(R0, XDP_PASS);
	a.exit();
	return a.finish();
}

int prog_fd_by_id(uint32_t id)
{
	union bpf_attr attr;
	std::memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;
	return static_cast<int>(sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr));
}

bool prog_info(int fd, bpf_prog_info *info)
{
	union bpf_attr attr;
	std::memset(info, 0, sizeof(*info));
	std::memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = static_cast<uint32_t>(fd);
	attr.info.info_len = sizeof(*info);
	attr.info.info = reinterpret_cast<uint64_t>(info);
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0;
}

std::string bpf_prog_name(uint32_t id)
{
	Fd fd(prog_fd_by_id(id));
	bpf_prog_info info;
	if (fd.get() < 0 || !prog_info(fd.get(), &info))
		return "";
	return std::string(info.name, strnlen(info.name, sizeof(info.name)));
}

// ---- rtnetlink ---------------------------------------------------------------

struct NlRequest {
	nlmsghdr hdr;
	ifinfomsg ifi;
	char attrs[256];
};

rtattr *add_attr(nlmsghdr *n, int type, const void *data, std::size_t len)
{
	auto *rta = reinterpret_cast<rtattr *>(reinterpret_cast<char *>(n) + NLMSG_ALIGN(n->nlmsg_len));
	rta->rta_type = static_cast<unsigned short>(type);
	rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
	if (len)
		std::memcpy(RTA_DATA(rta), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

void end_nest(nlmsghdr *n, rtattr *nest)
{
	nest->rta_len = static_cast<unsigned short>(reinterpret_cast<char *>(n) + n->nlmsg_len -
						    reinterpret_cast<char *>(nest));
}

int nl_open()
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	timeval tv{5, 0}; // a reply that never comes is an error, not a hang
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sockaddr_nl sa{};
	sa.nl_family = AF_NETLINK;
	if (bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

// The error of an NLMSG_ERROR reply (0 = ack) and its extack message.
int nl_error(const nlmsghdr *h, std::string *msg)
{
	const auto *e = static_cast<const nlmsgerr *>(NLMSG_DATA(h));
	if (e->error && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
		// NETLINK_CAP_ACK: the TLVs follow the header of the request.
		std::size_t off = NLMSG_HDRLEN + sizeof(*e);
		while (off + sizeof(nlattr) <= h->nlmsg_len) {
			const auto *a = reinterpret_cast<const nlattr *>(reinterpret_cast<const char *>(h) + off);
			if (a->nla_len < sizeof(nlattr))
				break;
			if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
				*msg = std::string(reinterpret_cast<const char *>(a) + NLA_HDRLEN,
						   strnlen(reinterpret_cast<const char *>(a) + NLA_HDRLEN,
							   a->nla_len - NLA_HDRLEN));
			off += NLA_ALIGN(a->nla_len);
		}
	}
	return -e->error;
}

// Sends `req` and reads one reply: an error/ack, or (for a GET) the answer
// copied to *reply.  Returns 0 or an errno value.
int nl_talk(NlRequest *req, std::vector<char> *reply, std::string *msg)
{
	Fd fd(nl_open());
	if (fd.get() < 0)
		return errno;
	req->hdr.nlmsg_seq = 1;
	if (send(fd.get(), req, req->hdr.nlmsg_len, 0) < 0)
		return errno;
	std::vector<char> buf(65536);
	for (;;) {
		ssize_t n = recv(fd.get(), buf.data(), buf.size(), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		auto len = static_cast<unsigned>(n);
		for (auto *h = reinterpret_cast<nlmsghdr *>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != 1)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return nl_error(h, msg);
			if (reply) {
				reply->assign(reinterpret_cast<char *>(h), reinterpret_cast<char *>(h) + h->nlmsg_len);
				return 0;
			}
		}
	}
}

NlRequest link_request(int type, int flags, int ifindex)
{
	NlRequest r;
	std::memset(&r, 0, sizeof(r));
	r.hdr.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
	r.hdr.nlmsg_type = static_cast<unsigned short>(type);
	r.hdr.nlmsg_flags = static_cast<unsigned short>(NLM_F_REQUEST | flags);
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	return r;
}

// RTM_SETLINK with IFLA_XDP {FD, FLAGS[, EXPECTED_FD]}.
int set_xdp(int ifindex, int fd, uint32_t flags, int expected_fd, std::string *msg)
{
	NlRequest r = link_request(RTM_SETLINK, NLM_F_ACK, ifindex);
	rtattr *nest = add_attr(&r.hdr, IFLA_XDP | NLA_F_NESTED, nullptr, 0);
	add_attr(&r.hdr, IFLA_XDP_FD, &fd, sizeof(fd));
	add_attr(&r.hdr, IFLA_XDP_FLAGS, &flags, sizeof(flags));
	if (expected_fd >= 0)
		add_attr(&r.hdr, IFLA_XDP_EXPECTED_FD, &expected_fd, sizeof(expected_fd));
	end_nest(&r.hdr, nest);
	return nl_talk(&r, nullptr, msg);
}

std::string with_reason(int e, const std::string &msg)
{
	return errno_text(e) + (msg.empty() ? "" : " (" + msg + ")");
}

} // namespace

unsigned rfd_ring_size()
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	unsigned r = 1;
	while (r < static_cast<unsigned long>(n < 1 ? 1 : n))
		r <<= 1;
	return r;
}

bool xdp_query(const std::string &ifname, XdpInfo *out, std::string *err)
{
	*out = XdpInfo{};
	unsigned idx = if_nametoindex(ifname.c_str());
	if (!idx) {
		*err = ifname + ": " + errno_text(errno);
		return false;
	}
	NlRequest r = link_request(RTM_GETLINK, 0, static_cast<int>(idx));
	std::vector<char> reply;
	std::string msg;
	if (int e = nl_talk(&r, &reply, &msg)) {
		*err = ifname + ": RTM_GETLINK: " + with_reason(e, msg);
		return false;
	}
	auto *h = reinterpret_cast<nlmsghdr *>(reply.data());
	int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)));
	auto *rta = reinterpret_cast<rtattr *>(reinterpret_cast<char *>(NLMSG_DATA(h)) +
					       NLMSG_ALIGN(sizeof(ifinfomsg)));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if ((rta->rta_type & NLA_TYPE_MASK) != IFLA_XDP)
			continue;
		int nlen = static_cast<int>(RTA_PAYLOAD(rta));
		for (auto *x = static_cast<rtattr *>(RTA_DATA(rta)); RTA_OK(x, nlen); x = RTA_NEXT(x, nlen)) {
			if (x->rta_type == IFLA_XDP_ATTACHED)
				out->mode = *static_cast<uint8_t *>(RTA_DATA(x));
			else if (x->rta_type == IFLA_XDP_PROG_ID)
				out->prog_id = *static_cast<uint32_t *>(RTA_DATA(x));
		}
	}
	out->attached = out->mode != XDP_ATTACHED_NONE;
	if (out->prog_id)
		out->prog_name = bpf_prog_name(out->prog_id);
	return true;
}

bool xdp_attach_rfd(const std::string &ifname, const RfdSteering &cfg, uint32_t *prog_id, std::string *err,
		    bool *unsupported)
{
	*unsupported = false;
	unsigned idx = if_nametoindex(ifname.c_str());
	if (!idx) {
		*err = ifname + ": " + errno_text(errno);
		return false;
	}
	if (cfg.r == 0 || (cfg.r & (cfg.r - 1)) || cfg.port_lo > cfg.port_hi || cfg.port_hi > 65535) {
		*err = "invalid steering parameters";
		return false;
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_MEMLOCK, &unlimited);

	union bpf_attr attr;
	std::memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_CPUMAP;
	attr.key_size = 4;
	attr.value_size = 4; // the queue size; newer kernels also accept 8 (with a program)
	attr.max_entries = cfg.r;
	std::strncpy(attr.map_name, "fs_rfd_cpus", sizeof(attr.map_name) - 1);
	Fd map(static_cast<int>(sys_bpf(BPF_MAP_CREATE, &attr)));
	if (map.get() < 0) {
		*err = "cannot create the cpumap: " + errno_text(errno);
		return false;
	}
	for (unsigned cpu : cfg.cpus) {
		if (cpu >= cfg.r)
			continue;
		uint32_t key = cpu, qsize = cfg.queue_size;
		std::memset(&attr, 0, sizeof(attr));
		attr.map_fd = static_cast<uint32_t>(map.get());
		attr.key = reinterpret_cast<uint64_t>(&key);
		attr.value = reinterpret_cast<uint64_t>(&qsize);
		if (sys_bpf(BPF_MAP_UPDATE_ELEM, &attr) < 0) {
			*err = "cannot add CPU " + std::to_string(cpu) + " to the cpumap: " + errno_text(errno);
			return false;
		}
	}

	std::vector<bpf_insn> insns = rfd_program(map.get(), cfg);
	static const char license[] = "GPL";
	std::vector<char> log(64 * 1024);
	std::memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_XDP;
	attr.insns = reinterpret_cast<uint64_t>(insns.data());
	attr.insn_cnt = static_cast<uint32_t>(insns.size());
	attr.license = reinterpret_cast<uint64_t>(license);
	attr.log_buf = reinterpret_cast<uint64_t>(log.data());
	attr.log_size = static_cast<uint32_t>(log.size());
	attr.log_level = 1;
	std::strncpy(attr.prog_name, kRfdProgName, sizeof(attr.prog_name) - 1);
	Fd prog(static_cast<int>(sys_bpf(BPF_PROG_LOAD, &attr)));
	if (prog.get() < 0) {
		int e = errno;
		std::string v(log.data(), strnlen(log.data(), log.size()));
		if (v.size() > 2000)
			v = "..." + v.substr(v.size() - 2000);
		*err = "the kernel refused the XDP program: " + errno_text(e) + (v.empty() ? "" : "\n" + v);
		return false;
	}

	std::string msg;
	int e = set_xdp(static_cast<int>(idx), prog.get(), XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, -1,
			&msg);
	if (e) {
		*unsupported = e == EOPNOTSUPP;
		*err = ifname + ": cannot attach the XDP program in native mode: " + with_reason(e, msg);
		return false;
	}
	bpf_prog_info info;
	*prog_id = prog_info(prog.get(), &info) ? info.id : 0;
	return true;
}

bool xdp_detach(const std::string &ifname, uint32_t prog_id, std::string *err)
{
	if (!if_nametoindex(ifname.c_str()) && errno == ENODEV)
		return true; // the interface is gone, and the program with it
	XdpInfo now;
	if (!xdp_query(ifname, &now, err))
		return false;
	if (!now.attached || now.prog_id != prog_id)
		return true; // already detached (or replaced by someone else: theirs now)
	Fd expected(prog_fd_by_id(prog_id));
	if (expected.get() < 0) {
		*err = ifname + ": cannot open XDP program " + std::to_string(prog_id) + ": " + errno_text(errno);
		return false;
	}
	std::string msg;
	int e = set_xdp(static_cast<int>(if_nametoindex(ifname.c_str())), -1,
			XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE, expected.get(), &msg);
	if (e) {
		*err = ifname + ": cannot detach the XDP program: " + with_reason(e, msg);
		return false;
	}
	return true;
}

} // namespace fsock
