// SPDX-License-Identifier: GPL-2.0
/*
 * The receive half of RFD on a stock kernel (docs/module.md, "RFD"): a TCP
 * segment to a local port in [port_lo, port_hi] that no listener owns is a
 * reply to a connection this host opened, and the library chose that port
 * so that port & (R - 1) is the CPU of the worker that owns the connection
 * (src/lib/rfd.c).  Such a segment goes to that CPU through the cpumap;
 * everything else passes untouched, as does a segment for a CPU without a
 * cpumap entry (bpf_redirect_map's XDP_PASS fallback).
 *
 * Loaded and attached by the CLI (src/cli/system/xdp.cpp), which sets the
 * read-only configuration below before loading.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

/* Set by the loader (host byte order); port_hi == 0 steers nothing. */
const volatile __u16 port_lo;
const volatile __u16 port_hi;
const volatile __u32 ring_mask; /* R - 1, R a power of two */

/* CPU -> queue size; created and filled by the loader before attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 1);
} fs_rfd_cpus SEC(".maps");

/*
 * Under libxdp's dispatcher: run after programs of the default priority
 * (50), so filters and counters see every packet before we redirect it;
 * XDP_PASS goes on to the next program.
 */
struct {
	__uint(priority, 200);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(fs_rfd);

/*
 * Steers a segment to local port `dport` (network order) whose destination
 * is in *tuple.  The remote end of the tuple is zero, so the lookup finds a
 * listener only: a server whose port lies in the range is not pinned to one
 * CPU.
 */
static __always_inline int steer(struct xdp_md *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size,
				 __be16 dport)
{
	__u16 port = bpf_ntohs(dport);
	struct bpf_sock *sk;

	if (port < port_lo || port > port_hi)
		return XDP_PASS;
	sk = bpf_sk_lookup_tcp(ctx, tuple, tuple_size, BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		bpf_sk_release(sk);
		return XDP_PASS;
	}
	return bpf_redirect_map(&fs_rfd_cpus, port & ring_mask, XDP_PASS);
}

static __always_inline int steer_ipv4(struct xdp_md *ctx, void *l3, void *data_end)
{
	struct bpf_sock_tuple tuple = {};
	struct iphdr *ip = l3;
	struct tcphdr *tcp;
	__u32 ihl;

	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	if (ip->frag_off & bpf_htons(0x3fff)) /* MF or an offset: a fragment */
		return XDP_PASS;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return XDP_PASS;
	tcp = l3 + ihl;
	if ((void *)&tcp->dest + sizeof(tcp->dest) > data_end)
		return XDP_PASS;
	tuple.ipv4.daddr = ip->daddr;
	tuple.ipv4.dport = tcp->dest;
	return steer(ctx, &tuple, sizeof(tuple.ipv4), tcp->dest);
}

/* TCP as the first header only: extension headers pass. */
static __always_inline int steer_ipv6(struct xdp_md *ctx, void *l3, void *data_end)
{
	struct bpf_sock_tuple tuple = {};
	struct ipv6hdr *ip6 = l3;
	struct tcphdr *tcp = (void *)(ip6 + 1);

	if ((void *)&tcp->dest + sizeof(tcp->dest) > data_end || ip6->nexthdr != IPPROTO_TCP)
		return XDP_PASS;
	__builtin_memcpy(tuple.ipv6.daddr, &ip6->daddr, sizeof(tuple.ipv6.daddr));
	tuple.ipv6.dport = tcp->dest;
	return steer(ctx, &tuple, sizeof(tuple.ipv6), tcp->dest);
}

SEC("xdp")
int fs_rfd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return steer_ipv4(ctx, eth + 1, data_end);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return steer_ipv6(ctx, eth + 1, data_end);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
