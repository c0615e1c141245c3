/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-process counters file of libfsocket (proc_counters.c writes it,
 * `fastsocket ps` reads it: src/cli/system/lib_counters.cpp).  Format
 * described in docs/library.md, "Per-process counters file".
 *
 * One file per process that has an accelerated listener:
 *   euid 0:     /run/fastsocket/lib/<pid>
 *   otherwise:  $XDG_RUNTIME_DIR/fastsocket/<pid>
 * (directories 0700, file 0600), a fixed size of
 * header_size + max_listeners * listener_size bytes, host byte order,
 * updated in place through a MAP_SHARED mapping with relaxed atomics:
 * a reader may see a counter one behind, never a torn header (the file
 * is complete before it is renamed into place).
 */
#ifndef FSOCK_COUNTERS_H
#define FSOCK_COUNTERS_H

#include <stdint.h>

#define FS_PC_MAGIC "FSOCKCTR"	/* 8 bytes, no NUL */
#define FS_PC_VERSION 1
#define FS_PC_MAX_LISTENERS 64	/* = FS_MAX_GROUPS: entry i is listen group i */
#define FS_PC_CPU_WORDS 16	/* CPUs 0-1023 */

enum fs_pc_path {
	FS_PC_PATH_MODULE = 1,	 /* fastsocket.ko (ABI v2 LISTEN/JOIN) */
	FS_PC_PATH_FALLBACK = 2, /* user space: SO_REUSEPORT + SO_INCOMING_CPU */
};

struct fs_pc_listener {
	uint32_t in_use;	/* 0 free, 1 an accelerated listener */
	uint16_t family;	/* AF_INET (2) or AF_INET6 (10) */
	uint16_t port;		/* host order */
	uint8_t addr[16];	/* network order; IPv4 in addr[0..3] */
	uint32_t path;		/* enum fs_pc_path */
	uint32_t reserved;
	uint64_t accepts_local;	 /* accepted from a per-CPU local listener */
	uint64_t accepts_global; /* accepted from the application's listener */
	/* bit n of word n / 64: this process holds a local listener on CPU n */
	uint64_t cpus[FS_PC_CPU_WORDS];
};

struct fs_pc_header {
	char magic[8];		/* FS_PC_MAGIC */
	uint32_t version;	/* FS_PC_VERSION */
	uint32_t header_size;	/* sizeof(struct fs_pc_header) */
	uint32_t listener_size;	/* sizeof(struct fs_pc_listener) */
	uint32_t max_listeners;	/* FS_PC_MAX_LISTENERS */
	int32_t pid;
	uint32_t backend;	/* 1 module, 2 user space (enum fs_backend) */
	uint64_t start_time;	/* /proc/<pid>/stat field 22: clock ticks after boot */
	uint64_t listeners_total; /* listeners accelerated since the file was made */
	/* accepts of listeners closed since (their entries were freed) */
	uint64_t closed_accepts_local;
	uint64_t closed_accepts_global;
	uint64_t reserved[2];
};

#define FS_PC_FILE_SIZE (sizeof(struct fs_pc_header) + \
			 FS_PC_MAX_LISTENERS * sizeof(struct fs_pc_listener))

#endif /* FSOCK_COUNTERS_H */
