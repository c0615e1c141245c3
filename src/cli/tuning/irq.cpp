// SPDX-License-Identifier: GPL-2.0
// Queue interrupts: found by name in /proc/interrupts (virtio "virtio0-input.0",
// drivers that name vectors "<if>-TxRx-0", "<if>-rx-0", "i40e-<if>-TxRx-0" ...),
// else the device's msi_irqs in number order.  Queue i's IRQs go to the i-th
// chosen CPU, round-robin.
#include <algorithm>
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
			unsigned queue;
			if (std::regex_search(last, m, by_dev))
				queue = static_cast<unsigned>(std::stoul(m[1].str()));
			else if (std::regex_search(last, m, by_if))
				queue = static_cast<unsigned>(std::stoul(m[2].str()));
			else
				continue;
			out.push_back({static_cast<unsigned>(std::stoul(num)), queue, last});
		}
	}
	if (!out.empty() || !iface.physical)
		return out;
	// No recognisable names: the device's MSI vectors, in number order.
	for (const char *sub : {"/device/msi_irqs", "/device/../msi_irqs"}) {
		std::vector<unsigned> irqs;
		for (const auto &e : root.list("/sys/class/net/" + iface.name + sub))
			if (!e.empty() && e.find_first_not_of("0123456789") == std::string::npos)
				irqs.push_back(static_cast<unsigned>(std::stoul(e)));
		std::sort(irqs.begin(), irqs.end());
		for (std::size_t i = 0; i < irqs.size(); i++)
			out.push_back({irqs[i], static_cast<unsigned>(i), "msi"});
		if (!out.empty())
			break;
	}
	return out;
}

void plan_irq(const PlanInput &in, const Interface &iface, Plan *plan)
{
	if (!in.profile.irq.enabled)
		return;
	std::vector<unsigned> cpus = resolve_cpus(in, in.profile.irq.cpus, &iface, "irq.cpus").cpus();
	std::vector<QueueIrq> irqs = find_queue_irqs(in.root, iface);
	if (irqs.empty()) {
		if (iface.physical)
			plan->warnings.push_back("irq: " + iface.name + ": no queue interrupts found in /proc/interrupts "
					       "or the device's msi_irqs; IRQ affinity not set");
		return;
	}
	for (const auto &qi : irqs) {
		unsigned cpu = cpus[qi.queue % cpus.size()];
		std::string target = iface.name + " irq " + std::to_string(qi.irq) + " (" + qi.name + ")";
		std::size_t before = plan->changes.size();
		add_change(in, plan, "irq", target, "/proc/irq/" + std::to_string(qi.irq) + "/smp_affinity_list",
			   std::to_string(cpu) + "\n", ValueKind::CpuList, "queue " + std::to_string(qi.queue));
		if (plan->changes.size() > before)
			plan->changes.back().skip_on_eio = true;
	}
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
