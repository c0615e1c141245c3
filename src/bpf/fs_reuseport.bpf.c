// SPDX-License-Identifier: GPL-2.0
/*
 * Backpressure on the user-space fallback (docs/library.md, "Backpressure"):
 * a worker that keeps its CPU's local listener but stops accepting hands
 * that CPU's new connections to the application's listener (every worker
 * watches it) within FS_RP_STALL_NS, and gets them back when it accepts
 * again.  The fastsocket.ko equivalent is src/kernel/stall.c.
 *
 * Runs for every SYN of the listener's SO_REUSEPORT group, on the CPU that
 * processes it, the CPU the kernel's SO_INCOMING_CPU choice uses.  Per CPU,
 * fs_rp_state (mmapped by the library, shared by the workers forked after
 * listen()) holds:
 *   serving          a worker holds this CPU's local listener (library)
 *   last_accept_ns   when it last accepted, or took the CPU (library)
 *   pending_since_ns the first SYN after that accept (here)
 * A CPU whose first SYN since the last accept is FS_RP_STALL_NS old is
 * stalled: its SYNs go to fs_rp_socks[0], the application's listener.
 * Anything else returns SK_PASS without a choice: the kernel's own
 * selection (SO_INCOMING_CPU, then the hash), exactly as without us.
 *
 * Loaded by the library (src/lib/backpressure.c) through libbpf.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "fs_reuseport.h"

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
	__uint(max_entries, 1);
} fs_rp_socks SEC(".maps");

/* Entry 0: header; entry 1 + n: CPU n.  max_entries set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fs_rp_slot);
	__uint(max_entries, 2);
} fs_rp_state SEC(".maps");

SEC("sk_reuseport")
int fs_rp_select(struct sk_reuseport_md *md)
{
	__u32 key = bpf_get_smp_processor_id() + 1, zero = 0;
	struct fs_rp_slot *s = bpf_map_lookup_elem(&fs_rp_state, &key);
	__u64 now, last, since;

	if (!s || !s->serving)
		return SK_PASS;
	now = bpf_ktime_get_ns();
	last = s->last_accept_ns;
	since = s->pending_since_ns;
	if (since <= last) {
		/* First SYN since the worker's last accept: the clock starts. */
		s->pending_since_ns = now;
		return SK_PASS;
	}
	if (now - since < FS_RP_STALL_NS)
		return SK_PASS;
	/* Stalled: the application's listener; none there: the kernel's choice. */
	if (bpf_sk_select_reuseport(md, &fs_rp_socks, &zero, 0) == 0)
		__sync_fetch_and_add(&s->redirected, 1);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
