/* SPDX-License-Identifier: LGPL-2.1-or-later OR GPL-2.0 */
/*
 * The state fs_reuseport.bpf.c and the library (src/lib/backpressure.c)
 * share through a BPF_F_MMAPABLE array: entry 0 is a header, entry 1 + n
 * is CPU n.  Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns()).
 */
#ifndef FS_REUSEPORT_H
#define FS_REUSEPORT_H

#include <linux/types.h>

/* A CPU whose oldest SYN waits this long for an accept is stalled. */
#define FS_RP_STALL_NS 1000000000ULL

#define FS_RP_MAGIC 0x46535250u	/* "FSRP" */

struct fs_rp_slot {
	/* CPU entries: written by the library (the CPU's owner). */
	__u64 last_accept_ns;
	__u32 serving;
	__u32 magic;		/* header: FS_RP_MAGIC */
	/* CPU entries: written by the program. */
	__u64 pending_since_ns;
	__u64 redirected;	/* SYNs sent to the application's listener */
	/* Header: SO_COOKIE of the application's listener.  CPU entries (the
	 * owner): its local listener's cookie, pid and fd number, so that a
	 * process waiting for a CPU can take what a stalled owner left queued. */
	__u64 cookie;
	__u32 owner_pid;
	__u32 owner_fd;
};

#endif
