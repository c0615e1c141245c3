// SPDX-License-Identifier: GPL-2.0
#include "system/xdp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "fs_rfd.skel.h" // generated from src/bpf/fs_rfd.bpf.c
#include "system/bpf_pins.h"
#include "system/sysinfo.h"

namespace fsock {

namespace {

const char *const kBpffs = "/sys/fs/bpf";

// libbpf and libxdp report the reason of a failure (the verifier's log, a
// refused attach) through their print callbacks: while one of our calls
// runs, their warnings are collected here for the error message instead of
// going to stderr.
class LibLog {
public:
	LibLog()
	{
		text_().clear();
		old_bpf_ = libbpf_set_print(bpf_print);
		old_xdp_ = libxdp_set_print(xdp_print);
	}
	~LibLog()
	{
		libbpf_set_print(old_bpf_);
		libxdp_set_print(old_xdp_);
	}
	LibLog(const LibLog &) = delete;
	LibLog &operator=(const LibLog &) = delete;

	// ": <last 2000 characters>" or "".
	static std::string tail()
	{
		std::string t = text_();
		while (!t.empty() && t.back() == '\n')
			t.pop_back();
		if (t.size() > 2000)
			t = "..." + t.substr(t.size() - 2000);
		return t.empty() ? "" : "\n" + t;
	}

private:
	static std::string &text_()
	{
		static std::string t;
		return t;
	}
	static int add(const char *fmt, va_list ap)
	{
		char buf[4096];
		int n = vsnprintf(buf, sizeof(buf), fmt, ap);
		text_() += buf;
		return n;
	}
	static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
	{
		return level == LIBBPF_WARN ? add(fmt, ap) : 0;
	}
	static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
	{
		return level == LIBXDP_WARN ? add(fmt, ap) : 0;
	}

	libbpf_print_fn_t old_bpf_;
	libxdp_print_fn_t old_xdp_;
};

struct ProgClose {
	void operator()(xdp_program *p) const { xdp_program__close(p); }
};
struct MultiprogClose {
	void operator()(xdp_multiprog *m) const { xdp_multiprog__close(m); }
};
struct SkelClose {
	void operator()(fs_rfd_bpf *s) const { fs_rfd_bpf__destroy(s); }
};
using ProgPtr = std::unique_ptr<xdp_program, ProgClose>;
using MultiprogPtr = std::unique_ptr<xdp_multiprog, MultiprogClose>;

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

// libxdp keeps the dispatcher's state in bpffs: mount it where it is
// missing (a system without systemd's mount, a container).
bool ensure_bpffs(std::string *err)
{
	struct statfs st;
	if (statfs(kBpffs, &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC)
		return true;
	if (mount("bpf", kBpffs, "bpf", 0, "mode=0700") != 0) {
		*err = std::string("cannot mount bpffs on ") + kBpffs + ": " + errno_text(errno);
		return false;
	}
	return true;
}

// Whether program `id` runs where mp was read (alone or in the dispatcher).
bool runs_there(const xdp_multiprog *mp, uint32_t id)
{
	if (xdp_multiprog__is_legacy(mp))
		return xdp_program__id(xdp_multiprog__main_prog(mp)) == id;
	for (xdp_program *p = nullptr; (p = xdp_multiprog__next_prog(p, mp));)
		if (xdp_program__id(p) == id)
			return true;
	return false;
}

// What libxdp sees on `ifindex` (*mp empty when nothing is attached);
// false with *err.  The caller holds a LibLog.
bool read_programs(const std::string &ifname, int ifindex, MultiprogPtr *mp, std::string *err)
{
	xdp_multiprog *m = xdp_multiprog__get_from_ifindex(ifindex);
	long e = libxdp_get_error(m);
	if (e && e != -ENOENT) {
		*err = ifname + ": cannot read its XDP programs: " + errno_text(static_cast<int>(-e)) + LibLog::tail();
		return false;
	}
	mp->reset(e ? nullptr : m);
	return true;
}

std::string prog_label(const xdp_program *p)
{
	return std::to_string(xdp_program__id(p)) + " '" + xdp_program__name(p) + "'";
}

// Our cpumap: one entry (a queue of cfg.queue_size packets) per CPU below r.
int make_cpumap(const RfdSteering &cfg, std::string *err)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_CPUMAP, "fs_rfd_cpus", sizeof(uint32_t), sizeof(uint32_t), cfg.r,
				nullptr);
	if (fd < 0) {
		*err = "cannot create the cpumap: " + errno_text(-fd);
		return -1;
	}
	for (unsigned cpu : cfg.cpus) {
		if (cpu >= cfg.r)
			continue;
		uint32_t key = cpu, qsize = cfg.queue_size;
		if (bpf_map_update_elem(fd, &key, &qsize, BPF_ANY) != 0) {
			*err = "cannot add CPU " + std::to_string(cpu) + " to the cpumap: " + errno_text(errno);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/*
 * Everything of ours goes under /sys/fs/bpf/fastsocket/ (system/bpf_pins.h):
 * the program and its cpumap; and when libxdp attached fs_rfd alone, with
 * rtnetlink (a kernel that refuses the dispatcher's freplace programs, or
 * LIBXDP_SKIP_DISPATCHER=1), that attachment is turned into a bpf_link
 * (the same program detached and attached again as a link: replies meanwhile
 * take the RFS path), pinned, so that `bpftool link` shows it and removing
 * the pin detaches it.  The dispatcher's own link is libxdp's
 * (/sys/fs/bpf/xdp/): a second pin of it would keep an old dispatcher alive
 * after libxdp replaces it.
 */
bool pin_attached(const std::string &ifname, int idx, xdp_program *prog, int cpumap_fd, std::string *err)
{
	MultiprogPtr mp;
	if (!read_programs(ifname, idx, &mp, err))
		return false;
	int prog_fd = xdp_program__fd(prog);
	if (mp && xdp_multiprog__is_legacy(mp.get())) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, detach_opts, .old_prog_fd = prog_fd);
		if (bpf_xdp_detach(idx, XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE, &detach_opts) != 0) {
			*err = ifname + ": cannot take fs_rfd off to attach it as a bpf_link: " + errno_text(errno);
			return false;
		}
		LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
		Fd link(bpf_link_create(prog_fd, idx, BPF_XDP, &link_opts));
		if (link.get() < 0) {
			*err = ifname + ": cannot attach fs_rfd as a bpf_link: " + errno_text(errno);
			return false;
		}
		if (!rfd_pin(link.get(), ifname, RfdPin::Link, err))
			return false; // closing the link detaches it
	}
	return rfd_pin(prog_fd, ifname, RfdPin::Prog, err) && rfd_pin(cpumap_fd, ifname, RfdPin::Cpus, err);
}

// Detaches the XDP bpf_link running prog_id, wherever it is pinned (or held).
bool detach_link_of(const std::string &ifname, uint32_t prog_id, std::string *err)
{
	for (uint32_t id = 0; bpf_link_get_next_id(id, &id) == 0;) {
		Fd link(bpf_link_get_fd_by_id(id));
		bpf_link_info info{};
		uint32_t len = sizeof(info);
		if (link.get() < 0 || bpf_obj_get_info_by_fd(link.get(), &info, &len) != 0 ||
		    info.type != BPF_LINK_TYPE_XDP || info.prog_id != prog_id)
			continue;
		if (bpf_link_detach(link.get()) != 0) {
			*err = ifname + ": cannot detach the bpf_link " + std::to_string(id) + " of XDP program " +
			       std::to_string(prog_id) + ": " + errno_text(errno);
			return false;
		}
	}
	return true;
}

// Detaches prog_id from ifname through libxdp (alone or from the dispatcher).
bool detach_from_interface(const std::string &ifname, int idx, uint32_t prog_id, std::string *err)
{
	LibLog log;
	MultiprogPtr mp;
	if (!read_programs(ifname, idx, &mp, err))
		return false;
	if (!mp || !xdp_multiprog__main_prog(mp.get()) || !runs_there(mp.get(), prog_id))
		return true; // already detached (or replaced by someone else: theirs now)
	xdp_program *raw = xdp_program__from_id(prog_id);
	if (long pe = libxdp_get_error(raw)) {
		*err = ifname + ": cannot open XDP program " + std::to_string(prog_id) + ": " +
		       errno_text(static_cast<int>(-pe)) + LibLog::tail();
		return false;
	}
	ProgPtr prog(raw);
	if (int de = xdp_program__detach(prog.get(), idx, xdp_multiprog__attach_mode(mp.get()), 0)) {
		*err = ifname + ": cannot detach XDP program " + std::to_string(prog_id) + ": " + errno_text(-de) +
		       LibLog::tail();
		return false;
	}
	return true;
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
	int idx = static_cast<int>(if_nametoindex(ifname.c_str()));
	if (!idx) {
		*err = ifname + ": " + errno_text(errno);
		return false;
	}
	LibLog log;
	MultiprogPtr mp;
	if (!read_programs(ifname, idx, &mp, err))
		return false;
	const xdp_program *main = mp ? xdp_multiprog__main_prog(mp.get()) : nullptr;
	if (!main)
		return true; // nothing, or a hardware-offloaded program only
	out->attached = true;
	out->dispatcher = !xdp_multiprog__is_legacy(mp.get());
	out->prog_id = xdp_program__id(main);
	out->prog_name = xdp_program__name(main);
	if (!out->dispatcher)
		return true;
	bool found = false;
	for (xdp_program *p = nullptr; (p = xdp_multiprog__next_prog(p, mp.get()));) {
		if (!found && std::string(xdp_program__name(p)) == kRfdProgName) {
			found = true;
			out->prog_id = xdp_program__id(p);
			out->prog_name = kRfdProgName;
		} else {
			out->others.push_back(prog_label(p));
		}
	}
	return true;
}

bool xdp_attach_rfd(const std::string &ifname, const RfdSteering &cfg, uint32_t *prog_id, std::string *err,
		    bool *unsupported)
{
	*unsupported = false;
	int idx = static_cast<int>(if_nametoindex(ifname.c_str()));
	if (!idx) {
		*err = ifname + ": " + errno_text(errno);
		return false;
	}
	if (cfg.r == 0 || (cfg.r & (cfg.r - 1)) || cfg.port_lo > cfg.port_hi || cfg.port_hi > 65535) {
		*err = "invalid steering parameters";
		return false;
	}
	XdpInfo now;
	if (!xdp_query(ifname, &now, err))
		return false;
	if (now.ours()) {
		*err = ifname + ": " + kRfdProgName + " is already attached (prog " + std::to_string(now.prog_id) + ")";
		return false;
	}
	if (now.attached && !now.dispatcher) {
		*err = ifname + ": XDP program " + std::to_string(now.prog_id) + " '" + now.prog_name +
		       "' is attached without libxdp's dispatcher; it is left alone";
		return false;
	}
	if (!ensure_bpffs(err))
		return false;
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_MEMLOCK, &unlimited);

	LibLog log;
	Fd cpumap(make_cpumap(cfg, err));
	if (cpumap.get() < 0)
		return false;
	std::unique_ptr<fs_rfd_bpf, SkelClose> skel(fs_rfd_bpf__open());
	if (!skel) {
		*err = "cannot open the embedded XDP program: " + errno_text(errno) + LibLog::tail();
		return false;
	}
	skel->rodata->port_lo = static_cast<uint16_t>(cfg.port_lo);
	skel->rodata->port_hi = static_cast<uint16_t>(cfg.port_hi);
	skel->rodata->ring_mask = cfg.r - 1;
	if (int e = bpf_map__reuse_fd(skel->maps.fs_rfd_cpus, cpumap.get())) {
		*err = "cannot use the cpumap: " + errno_text(-e) + LibLog::tail();
		return false;
	}
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .obj = skel->obj, .prog_name = kRfdProgName);
	xdp_program *raw = xdp_program__create(&opts);
	if (long e = libxdp_get_error(raw)) {
		*err = "cannot prepare the XDP program: " + errno_text(static_cast<int>(-e)) + LibLog::tail();
		return false;
	}
	ProgPtr prog(raw);
	// Loads the object (the verifier runs here), then joins the dispatcher.
	if (int e = xdp_program__attach(prog.get(), idx, XDP_MODE_NATIVE, 0)) {
		*unsupported = e == -EOPNOTSUPP;
		*err = ifname + ": cannot attach the XDP program in native mode: " + errno_text(-e) + LibLog::tail();
		return false;
	}
	*prog_id = xdp_program__id(prog.get());
	if (!pin_attached(ifname, idx, prog.get(), cpumap.get(), err)) {
		std::string undo;
		xdp_detach(ifname, *prog_id, &undo);
		return false;
	}
	return true;
}

bool xdp_detach(const std::string &ifname, uint32_t prog_id, std::string *err)
{
	int idx = static_cast<int>(if_nametoindex(ifname.c_str()));
	if (!idx && errno != ENODEV) {
		*err = ifname + ": " + errno_text(errno);
		return false;
	}
	// !idx: the interface is gone, and the program with it; the pins stay.
	if (!detach_link_of(ifname, prog_id, err) || (idx && !detach_from_interface(ifname, idx, prog_id, err)))
		return false;
	// Our pins, unless they are another program's (a newer attach).
	uint32_t pinned = rfd_pinned_prog_id(ifname, RfdPin::Prog);
	if (pinned == 0 || pinned == prog_id)
		rfd_unpin(ifname);
	return true;
}

bool xdp_pins_complete(const std::string &ifname, const XdpInfo &now, std::vector<std::string> *missing)
{
	*missing = rfd_missing_pins(ifname, now.ours() && !now.dispatcher);
	return missing->empty();
}

} // namespace fsock
