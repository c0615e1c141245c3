// SPDX-License-Identifier: GPL-2.0
#include "fake_root.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "fastsocket_params.h"
#include "system/cpuset.h"

namespace fs = std::filesystem;

namespace fsock::test {

FakeRoot::FakeRoot(unsigned online_cpus, unsigned possible_cpus)
	: online_(online_cpus), possible_(possible_cpus ? possible_cpus : online_cpus)
{
	char tmpl[] = "/tmp/fastsocket-cli-test.XXXXXX";
	if (!::mkdtemp(tmpl))
		throw std::runtime_error("mkdtemp failed");
	dir_ = tmpl;
	auto range = [](unsigned n) { return n == 1 ? std::string("0") : "0-" + std::to_string(n - 1); };
	write("sys/devices/system/cpu/online", range(online_) + "\n");
	write("sys/devices/system/cpu/possible", range(possible_) + "\n");
	write("sys/devices/system/node/node0/cpulist", range(online_) + "\n");
	std::string hdr = "     ";
	for (unsigned c = 0; c < online_; c++)
		hdr += "       CPU" + std::to_string(c);
	std::string cnt;
	for (unsigned c = 0; c < online_; c++)
		cnt += "          0";
	write("proc/interrupts", hdr + "\n  0:" + cnt + "   IO-APIC   2-edge      timer\n  1:" + cnt +
					 "   IO-APIC   1-edge      i8042\n");
	write("proc/irq/0/smp_affinity_list", range(online_) + "\n");
	write("proc/irq/1/smp_affinity_list", range(online_) + "\n");
	const std::map<std::string, std::string> sysctls = {
		{"net/core/somaxconn", "4096"},
		{"net/core/netdev_max_backlog", "1000"},
		{"net/core/rps_sock_flow_entries", "0"},
		{"net/ipv4/tcp_max_syn_backlog", "512"},
		{"net/ipv4/tcp_fin_timeout", "60"},
		{"net/ipv4/tcp_migrate_req", "0"},
		{"net/ipv4/tcp_early_demux", "1"},
		{"net/ipv4/tcp_tw_reuse", "2"},
		{"net/ipv4/tcp_max_tw_buckets", "262144"},
		{"net/ipv4/ip_local_port_range", "32768\t60999"},
	};
	for (const auto &kv : sysctls)
		write("proc/sys/" + kv.first, kv.second + "\n");
	add_virtual("lo");
	irq_next_ = 24;
	fs::create_directories(dir_ + "/proc/1");
	write("proc/1/comm", "systemd\n");
}

FakeRoot::~FakeRoot()
{
	std::error_code ec;
	fs::remove_all(dir_, ec);
}

void FakeRoot::write(const std::string &rel, const std::string &content)
{
	fs::path p = fs::path(dir_) / rel;
	fs::create_directories(p.parent_path());
	std::ofstream out(p, std::ios::binary | std::ios::trunc);
	out << content;
}

std::string FakeRoot::read(const std::string &rel) const
{
	std::ifstream in(fs::path(dir_) / rel, std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

bool FakeRoot::exists(const std::string &rel) const
{
	return fs::exists(fs::path(dir_) / rel);
}

void FakeRoot::add_virtual(const std::string &name)
{
	std::string base = "sys/class/net/" + name + "/queues/";
	write(base + "rx-0/rps_cpus", CpuSet().to_mask(possible_) + "\n");
	write(base + "rx-0/rps_flow_cnt", "0\n");
	write(base + "tx-0/xps_cpus", CpuSet().to_mask(possible_) + "\n");
}

void FakeRoot::add_nic(const FakeNic &nic)
{
	std::string base = "sys/class/net/" + nic.name;
	std::string zero = CpuSet().to_mask(possible_) + "\n";
	for (unsigned q = 0; q < nic.rx; q++) {
		write(base + "/queues/rx-" + std::to_string(q) + "/rps_cpus", zero);
		write(base + "/queues/rx-" + std::to_string(q) + "/rps_flow_cnt", "0\n");
	}
	for (unsigned q = 0; q < nic.tx; q++)
		write(base + "/queues/tx-" + std::to_string(q) + "/xps_cpus", zero);
	// device -> ../../devices/pci0000:00/0000:00:0N.0/<device>
	std::string pci = "sys/devices/pci0000:00/0000:00:0" + std::to_string(3 + irq_next_ % 5) + ".0";
	std::string devdir = pci + "/" + nic.device;
	fs::create_directories(fs::path(dir_) / devdir);
	write(devdir + "/numa_node", std::to_string(nic.numa_node) + "\n");
	fs::create_symlink("../../../../" + devdir, fs::path(dir_) / base / "device");

	std::string all = online_ == 1 ? "0\n" : "0-" + std::to_string(online_ - 1) + "\n";
	std::string cnt;
	for (unsigned c = 0; c < online_; c++)
		cnt += "          0";
	std::string lines;
	auto add_irq = [&](const std::string &name) {
		unsigned irq = irq_next_++;
		if (nic.style != "msi")
			lines += " " + std::to_string(irq) + ":" + cnt + "  PCI-MSIX-0000:00:03.0 " +
				 std::to_string(irq) + "-edge      " + name + "\n";
		write("proc/irq/" + std::to_string(irq) + "/smp_affinity_list", all);
		write(pci + "/msi_irqs/" + std::to_string(irq), "msix\n");
	};
	unsigned nq = std::max(nic.rx, nic.tx);
	if (nic.style == "virtio") {
		add_irq(nic.device + "-config");
		for (unsigned q = 0; q < nq; q++) {
			add_irq(nic.device + "-input." + std::to_string(q));
			add_irq(nic.device + "-output." + std::to_string(q));
		}
	} else {
		for (unsigned q = 0; q < nq; q++)
			add_irq(nic.name + "-TxRx-" + std::to_string(q));
	}
	write("proc/interrupts", read("proc/interrupts") + lines);
}

void FakeRoot::add_numa_node(int node, const std::string &cpulist)
{
	write("sys/devices/system/node/node" + std::to_string(node) + "/cpulist", cpulist + "\n");
}

void FakeRoot::add_process(int pid, const std::string &comm)
{
	write("proc/" + std::to_string(pid) + "/comm", comm + "\n");
}

std::map<std::string, std::string> FakeRoot::default_params()
{
	std::map<std::string, std::string> m;
#define X(name, def, min, max, allowed, desc) m[#name] = std::to_string(def);
	FSOCKET_PARAMS(X)
#undef X
	return m;
}

void FakeRoot::load_module(const std::map<std::string, std::string> &params, long refcnt)
{
	for (const auto &kv : params)
		write("sys/module/fastsocket/parameters/" + kv.first, kv.second + "\n");
	write("sys/module/fastsocket/refcnt", std::to_string(refcnt) + "\n");
	write("sys/module/fastsocket/version", "0.1.0\n");
	write("sys/module/fastsocket/initstate", "live\n");
}

void FakeRoot::set_refcnt(long refcnt)
{
	write("sys/module/fastsocket/refcnt", std::to_string(refcnt) + "\n");
}

std::map<std::string, std::string> FakeRoot::snapshot() const
{
	std::map<std::string, std::string> m;
	for (const auto &e : fs::recursive_directory_iterator(dir_)) {
		if (!e.is_regular_file() || e.is_symlink())
			continue;
		std::string rel = fs::relative(e.path(), dir_).string();
		if (rel.rfind("var/lib/fastsocket", 0) == 0)
			continue;
		m[rel] = read(rel);
	}
	return m;
}

Root::CommandRunner FakeRoot::modprobe_runner()
{
	return [this](const std::vector<std::string> &argv, std::string *out) -> int {
		std::string line;
		for (const auto &a : argv)
			line += (line.empty() ? "" : " ") + a;
		commands.push_back(line);
		if (argv.size() == 3 && argv[1] == "-r") {
			if (!exists("sys/module/fastsocket"))
				return 0;
			if (std::stol(read("sys/module/fastsocket/refcnt")) > 0) {
				*out = "modprobe: FATAL: Module fastsocket is in use.";
				return 1;
			}
			fs::remove_all(fs::path(dir_) / "sys/module/fastsocket");
			return 0;
		}
		if (argv.size() == 2 && argv[1] == "fastsocket") {
			if (exists("sys/module/fastsocket"))
				return 0;
			auto params = default_params();
			std::istringstream conf(read("etc/modprobe.d/fastsocket.conf"));
			std::string w;
			bool opts = false;
			while (conf >> w) {
				if (w == "options") {
					opts = true;
					continue;
				}
				if (w[0] == '#') {
					std::string rest;
					std::getline(conf, rest);
					continue;
				}
				std::size_t eq = w.find('=');
				if (opts && eq != std::string::npos)
					params[w.substr(0, eq)] = w.substr(eq + 1);
			}
			load_module(params, 0);
			return 0;
		}
		*out = "fake modprobe: unexpected arguments";
		return 1;
	};
}

} // namespace fsock::test
