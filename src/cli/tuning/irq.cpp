// SPDX-License-Identifier: GPL-2.0
// Queue interrupts: found by name in /proc/interrupts (virtio "virtio0-input.0",
// drivers that name vectors "<if>-TxRx-0", "<if>-rx-0", "i40e-<if>-TxRx-0" ...),
// else the device's msi_irqs in number order.  Each queue's IRQs (rx and tx
// vectors of one queue share a CPU) go to the least used CPU of irq.cpus,
// counted over all NICs, NUMA-local to the NIC first: two 8-queue NICs on a
// 48-CPU, 2-node machine get 16 distinct CPUs, each NIC on its own node.
#include <algorithm>
#include <climits>
#include <regex>
#include <sstream>

#include "system/sysinfo.h"
#include "tuning/tuning.h"

namespace fsock {

namespace {

std::string regex_escape(const std::string &s)
{
	static const std::string special = R"(\^$.|?*+()[]{}-)";
	std::string out;
	for (char c : s) {
		if (special.find(c) != std::string::npos)
			out += '\\';
		out += c;
	}
	return out;
}

} // namespace

std::vector<QueueIrq> find_queue_irqs(const Root &root, const Interface &iface)
{
	std::vector<QueueIrq> out;
	auto text = root.read("/proc/interrupts");
	if (text) {
		std::regex by_if("(^|-)" + regex_escape(iface.name) +
				 "-(?:(?:TxRx|txrx|rx|tx|Rx|Tx|RxTx|fp|queue|comp)-?)?([0-9]+)$");
		std::regex by_dev(iface.device.empty()
					  ? std::string("^$^")
					  : "^" + regex_escape(iface.device) + "-(?:input|output)\\.([0-9]+)$");
		std::istringstream in(*text);
		std::string line;
		while (std::getline(in, line)) {
			std::size_t colon = line.find(':');
			if (colon == std::string::npos)
				continue;
			std::string num = trim(line.substr(0, colon));
			if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos)
				continue;
			std::istringstream toks(line.substr(colon + 1));
			std::string tok, last;
			while (toks >> tok)
				last = tok;
			std::smatch m;
			unsigned long long queue, irq;
			if (std::regex_search(last, m, by_dev)) {
				if (!parse_decimal(m[1].str(), 65535, &queue))
					continue;
			} else if (std::regex_search(last, m, by_if)) {
				if (!parse_decimal(m[2].str(), 65535, &queue))
					continue;
			} else {
				continue;
			}
			if (!parse_decimal(num, UINT_MAX, &irq))
				continue;
			out.push_back({static_cast<unsigned>(irq), static_cast<unsigned>(queue), last});
		}
	}
	if (!out.empty() || !iface.physical)
		return out;
	// No recognisable names: the device's MSI vectors, in number order.
	for (const char *sub : {"/device/msi_irqs", "/device/../msi_irqs"}) {
		std::vector<unsigned> irqs;
		for (const auto &e : root.list("/sys/class/net/" + iface.name + sub))
			if (unsigned long long n; parse_decimal(e, UINT_MAX, &n))
				irqs.push_back(static_cast<unsigned>(n));
		std::sort(irqs.begin(), irqs.end());
		for (std::size_t i = 0; i < irqs.size(); i++)
			out.push_back({irqs[i], static_cast<unsigned>(i), "msi"});
		if (!out.empty())
			break;
	}
	return out;
}

unsigned IrqCpuAllocator::pick(const CpuSet &allowed, const CpuSet &local)
{
	bool found = false;
	unsigned best = 0;
	auto key = [&](unsigned c) { return std::make_pair(used_[c], local.test(c) ? 0 : 1); };
	for (unsigned c : allowed.cpus())
		if (!found || key(c) < key(best)) {
			best = c;
			found = true;
		}
	used_[best]++;
	return best;
}

static void plan_iface_irqs(const PlanInput &in, const Interface &iface, IrqCpuAllocator *alloc, Plan *plan)
{
	CpuSet allowed = resolve_cpus(in, in.profile.irq.cpus, &iface, "irq.cpus");
	CpuSet local = iface.numa_node >= 0 ? node_cpus(in.root, iface.numa_node) : allowed;
	std::vector<QueueIrq> irqs = find_queue_irqs(in.root, iface);
	if (irqs.empty()) {
		if (iface.physical)
			plan->warnings.push_back("irq: " + iface.name + ": no queue interrupts found in /proc/interrupts "
					       "or the device's msi_irqs; IRQ affinity not set");
		return;
	}
	std::stable_sort(irqs.begin(), irqs.end(),
			 [](const QueueIrq &a, const QueueIrq &b) { return a.queue < b.queue; });
	std::map<unsigned, unsigned> queue_cpu;
	for (const auto &qi : irqs) {
		auto it = queue_cpu.find(qi.queue);
		if (it == queue_cpu.end())
			it = queue_cpu.emplace(qi.queue, alloc->pick(allowed, local)).first;
		unsigned cpu = it->second;
		std::string target = iface.name + " irq " + std::to_string(qi.irq) + " (" + qi.name + ")";
		std::size_t before = plan->changes.size();
		add_change(in, plan, "irq", target, "/proc/irq/" + std::to_string(qi.irq) + "/smp_affinity_list",
			   std::to_string(cpu) + "\n", ValueKind::CpuList, "queue " + std::to_string(qi.queue));
		if (plan->changes.size() > before)
			plan->changes.back().skip_on_eio = true;
	}
}

void plan_irq(const PlanInput &in, Plan *plan)
{
	if (!in.profile.irq.enabled)
		return;
	IrqCpuAllocator alloc;
	for (const auto &iface : in.interfaces)
		plan_iface_irqs(in, iface, &alloc, plan);
}

void plan_irqbalance(const PlanInput &in, Plan *plan)
{
	std::vector<std::string> irqs;
	for (const auto &c : plan->changes)
		if (c.area == "irq")
			irqs.push_back(c.path.substr(10, c.path.find('/', 10) - 10));
	if (irqs.empty() || !process_running(in.root, "irqbalance"))
		return;
	std::string ban;
	for (const auto &i : irqs)
		ban += " --banirq=" + i;
	plan->warnings.push_back("irqbalance is running and will move these IRQs again. Either stop it "
				 "(systemctl disable --now irqbalance), or make it leave them alone: add"
				 " IRQBALANCE_ARGS=\"" + ban.substr(1) + "\" (or IRQBALANCE_BANNED_CPULIST=<the CPUs "
				 "of irq.cpus>) to /etc/default/irqbalance and restart it");
}

} // namespace fsock
