// SPDX-License-Identifier: GPL-2.0
// Builds a temporary directory shaped like / for the CLI tests:
// sys/devices/system/cpu/{online,possible}, sys/devices/system/node,
// sys/class/net/<if>/queues/{rx,tx}-N, sys/class/net/<if>/device,
// proc/interrupts, proc/irq/N/smp_affinity_list, proc/sys/..., and a fake
// fastsocket.ko driven by a fake `modprobe` (a Root CommandRunner).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "system/root.h"

namespace fsock::test {

struct FakeNic {
	std::string name = "eth0";
	unsigned rx = 4;
	unsigned tx = 4;
	// "virtio": IRQs named virtio0-input.N/-output.N (device link ends in
	// virtio0); "txrx": <if>-TxRx-N; "msi": unnamed, only device/msi_irqs.
	std::string style = "virtio";
	std::string device = "virtio0";
	unsigned first_irq = 24;
	int numa_node = -1;
};

class FakeRoot {
public:
	explicit FakeRoot(unsigned online_cpus, unsigned possible_cpus = 0);
	~FakeRoot();
	FakeRoot(const FakeRoot &) = delete;
	FakeRoot &operator=(const FakeRoot &) = delete;

	const std::string &dir() const { return dir_; }
	unsigned nr_cpu_ids() const { return possible_; }

	void add_nic(const FakeNic &nic);
	void add_virtual(const std::string &name); // no device link (lo, veth)
	void add_numa_node(int node, const std::string &cpulist);
	void add_process(int pid, const std::string &comm);
	// Creates sys/module/fastsocket as if loaded with these parameters.
	void load_module(const std::map<std::string, std::string> &params, long refcnt = 0);
	void set_refcnt(long refcnt);

	void write(const std::string &rel, const std::string &content);
	std::string read(const std::string &rel) const;
	bool exists(const std::string &rel) const;
	// Every regular file below the root (relative path -> bytes), except
	// the saved state: for byte-for-byte comparisons.
	std::map<std::string, std::string> snapshot() const;

	// A CommandRunner implementing `modprobe fastsocket` (reads
	// etc/modprobe.d/fastsocket.conf) and `modprobe -r fastsocket`.
	Root::CommandRunner modprobe_runner();
	std::vector<std::string> commands; // what the runner was asked to run

	static std::map<std::string, std::string> default_params();

private:
	std::string dir_;
	unsigned online_;
	unsigned possible_;
	unsigned irq_next_ = 0;
};

} // namespace fsock::test
