// SPDX-License-Identifier: GPL-2.0
// Someone else's XDP program for tests/cli/test_xdp.cpp: counts every packet
// and passes it, so a test can see that it keeps running beside fs_rfd.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} fst_counts SEC(".maps");

SEC("xdp")
int fst_count(struct xdp_md *ctx __attribute__((unused)))
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&fst_counts, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
