// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Backpressure on the user-space fallback: a worker that keeps watching its
 * listener but stops accepting (blocked, overloaded) hands its CPU's new
 * connections to the group within 1 s, and takes them back when it accepts
 * again (issue 10 item 3; the module does it in src/kernel/stall.c).
 *
 * Nothing of the library runs in a stalled process, so the decision is
 * made where the connections arrive: an SK_REUSEPORT program
 * (src/bpf/fs_reuseport.bpf.c) attached to the listener's reuseport group
 * looks, for every SYN, at the state of the CPU that processes it.  The
 * state is a BPF_F_MMAPABLE array mapped here: the CPU's owner writes
 * "serving" and the time of its last accept (one clock read and a store per
 * accept), the program the time of the first SYN since.
 *
 * Who can: loading a program and reading a map by id need CAP_SYS_ADMIN,
 * so the program is attached by a privileged process at listen() (nginx's
 * and haproxy's masters); workers forked after that share the mapping
 * whatever uid they switch to.  A privileged process that gets a listener
 * some other way (a new binary after exec, a Node cluster worker) finds the
 * group's map by the listener's SO_COOKIE, kept in the map's header.  A
 * process without the mapping never marks a CPU serving, so the program
 * leaves its CPUs to the kernel's own choice: no backpressure, no harm.
 * libbpf is opened with dlopen() only then (the library links libc only)
 * and only its messages go to the library's log; no fd is kept (the
 * socket holds the program, the mapping holds the map).
 * What a stalled owner had queued before stays on its listener, except that
 * a process waiting for a CPU takes it (fs_bp_before_wait, below).
 * FASTSOCKET_BACKPRESSURE=0 turns it off.
 */
#include "fsock.h"
#include "fs_reuseport.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The program, compiled by clang at build time (FS_RP_OBJ). */
#ifdef FS_RP_OBJ
__asm__(".section .rodata\n"
	".balign 8\n"
	"fs_rp_obj:\n"
	".incbin \"" FS_RP_OBJ "\"\n"
	"fs_rp_obj_end:\n"
	".previous\n");
extern const char fs_rp_obj[] FS_HIDDEN, fs_rp_obj_end[] FS_HIDDEN;
#endif

/* The libbpf calls used (libbpf 1.x, Debian's libbpf1). */
struct bpf_object;
struct bpf_map;
struct bpf_program;
typedef int (*print_fn_t)(int level, const char *fmt, va_list ap);
static struct {
	int state;	/* 0 not tried, 1 usable, -1 not */
	print_fn_t (*set_print)(print_fn_t fn);
	int (*set_memlock_rlim)(size_t);
	struct bpf_object *(*open_mem)(const void *, size_t, const void *);
	struct bpf_map *(*find_map)(const struct bpf_object *, const char *);
	int (*set_max_entries)(struct bpf_map *, __u32);
	int (*map_fd)(const struct bpf_map *);
	int (*load)(struct bpf_object *);
	struct bpf_program *(*find_prog)(const struct bpf_object *, const char *);
	int (*prog_fd)(const struct bpf_program *);
	void (*close)(struct bpf_object *);
} lb;

int fs_bp_enabled = 1;

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* CAP_SYS_ADMIN in the effective set: may load and find programs and maps. */
static int privileged(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return !!(d[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32)));
}

static int quiet(int level, const char *fmt, va_list ap)
{
	char b[160];

	if (level == 0) {	/* LIBBPF_WARN */
		vsnprintf(b, sizeof(b), fmt, ap);
		fs_log(2, "libbpf: %s", b);
	}
	return 0;
}

static int libbpf_open(void)
{
	void *h;

	if (lb.state)
		return lb.state > 0;
	lb.state = -1;
	h = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fs_log(1, "backpressure off: libbpf.so.1 not found");
		return 0;
	}
#define SYM(f, n) (*(void **)&lb.f = dlsym(h, n))
	if (!SYM(set_print, "libbpf_set_print") || !SYM(open_mem, "bpf_object__open_mem") ||
	    !SYM(find_map, "bpf_object__find_map_by_name") ||
	    !SYM(set_max_entries, "bpf_map__set_max_entries") ||
	    !SYM(map_fd, "bpf_map__fd") || !SYM(load, "bpf_object__load") ||
	    !SYM(find_prog, "bpf_object__find_program_by_name") ||
	    !SYM(prog_fd, "bpf_program__fd") || !SYM(close, "bpf_object__close")) {
		fs_log(1, "backpressure off: libbpf.so.1 lacks a function");
		return 0;
	}
	SYM(set_memlock_rlim, "libbpf_set_memlock_rlim");
#undef SYM
	/* Never raise the application's RLIMIT_MEMLOCK (memcg accounts BPF). */
	if (lb.set_memlock_rlim)
		lb.set_memlock_rlim(0);
	lb.state = 1;
	return 1;
}

/*
 * Entries of the state map: the header and one per possible CPU (the
 * machine's, not this process's allowed CPUs: every process holding the
 * group must agree on it).
 */
static int nslots(void)
{
	static int n;
	char b[256] = "";
	cpu_set_t possible;
	int fd, hi = -1, c;

	if (n)
		return n;
	fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, b, sizeof(b) - 1);

		fs_real.close(fd);
		b[r > 0 ? r : 0] = 0;
		b[strcspn(b, "\n")] = 0;
		if (fs_parse_cpulist(b, &possible) == 0)
			for (c = 0; c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &possible))
					hi = c;
	}
	if (hi < 0)
		hi = (int)sysconf(_SC_NPROCESSORS_CONF) - 1;
	n = 1 + (hi >= 0 ? hi + 1 : fs.ncpu);
	return n;
}

static size_t state_len(void)
{
	size_t n = sizeof(struct fs_rp_slot) * (size_t)nslots();
	long pg = sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

/*
 * at: the group's area (see fs_bp_release), mapped over in place; NULL: a
 * new one.
 */
static struct fs_rp_slot *map_state(int fd, void *at)
{
	void *p = mmap(at, state_len(), PROT_READ | PROT_WRITE,
		       MAP_SHARED | (at ? MAP_FIXED : 0), fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * The group's state goes.  Another thread may still be in accept() on it
 * with the old pointer, so the area is never unmapped: private zero pages
 * take the map's place (a late store lands there), and the group's next map
 * is mapped over them (map_group), so there is one area per group slot.
 */
static void unmap_group(struct fs_group *g)
{
	mmap(g->bp_area, state_len(), PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* g's state, mapped at the group's area if it has one: the area's address. */
static struct fs_rp_slot *map_group(struct fs_group *g, int fd)
{
	struct fs_rp_slot *s = map_state(fd, g->bp_area);

	if (s)
		g->bp_area = s;
	return s;
}

/* The group's map if another process attached the program: by cookie. */
static struct fs_rp_slot *find_state(struct fs_group *g, __u64 cookie)
{
	union bpf_attr a;
	__u32 id = 0, zero = 0;

	for (;;) {
		struct bpf_map_info info;
		struct fs_rp_slot hdr, *s = NULL;
		int fd;

		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(BPF_MAP_GET_NEXT_ID, &a) < 0)
			return NULL;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.map_id = id;
		fd = (int)sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = fd;
		a.info.info_len = sizeof(info);
		a.info.info = (__u64)(unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 &&
		    !strcmp(info.name, "fs_rp_state") && info.type == BPF_MAP_TYPE_ARRAY &&
		    info.value_size == sizeof(hdr) && info.max_entries == (__u32)nslots() &&
		    (info.map_flags & BPF_F_MMAPABLE)) {
			memset(&a, 0, sizeof(a));
			a.map_fd = (__u32)fd;
			a.key = (__u64)(unsigned long)&zero;
			a.value = (__u64)(unsigned long)&hdr;
			if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) == 0 && hdr.magic == FS_RP_MAGIC &&
			    hdr.cookie == cookie)
				s = map_group(g, fd);
		}
		fs_real.close(fd);
		if (s)
			return s;
	}
}

/* Load the program for g's group, attach it, map its state. */
static struct fs_rp_slot *attach(struct fs_group *g, __u64 cookie)
{
#ifdef FS_RP_OBJ
	struct fs_rp_slot *s = NULL;
	struct bpf_object *obj;
	struct bpf_map *state;
	struct bpf_program *prog;
	print_fn_t old;
	__u64 lfd = (__u64)g->fd;
	__u32 zero = 0;
	union bpf_attr a;
	int pfd, sfd;

	if (!libbpf_open())
		return NULL;
	old = lb.set_print(quiet);
	obj = lb.open_mem(fs_rp_obj, (size_t)(fs_rp_obj_end - fs_rp_obj), NULL);
	if (!obj)
		goto out;
	state = lb.find_map(obj, "fs_rp_state");
	if (!state || lb.set_max_entries(state, (__u32)nslots()) < 0 || lb.load(obj) < 0)
		goto out;
	prog = lb.find_prog(obj, "fs_rp_select");
	pfd = prog ? lb.prog_fd(prog) : -1;
	sfd = lb.map_fd(state);
	memset(&a, 0, sizeof(a));
	a.map_fd = (__u32)lb.map_fd(lb.find_map(obj, "fs_rp_socks"));
	a.key = (__u64)(unsigned long)&zero;
	a.value = (__u64)(unsigned long)&lfd;
	if (pfd < 0 || sfd < 0 || sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0)
		goto out;
	s = map_group(g, sfd);
	if (!s)
		goto out;
	s[0].cookie = cookie;
	s[0].magic = FS_RP_MAGIC;
	if (fs_real.setsockopt(g->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &pfd,
			       sizeof(pfd)) < 0) {
		unmap_group(g);
		s = NULL;
	}
out:
	if (!s)
		fs_log(1, "fd %d: backpressure program not attached: %s", g->fd,
		       strerror(errno));
	if (obj)
		lb.close(obj);	/* the socket holds the program, s the map */
	lb.set_print(old);
	return s;
#else
	(void)g;
	(void)cookie;
	return NULL;
#endif
}

/*
 * g became a group in this process (listen(), or a listener it got some
 * other way).  fresh: this process's listen() made it listen, so no other
 * process can have attached anything yet.
 */
void fs_bp_listen(struct fs_group *g, int fresh)
{
	__u64 cookie = 0;
	socklen_t l = sizeof(cookie);
	int saved = errno;
	const char *how = "";

	if (!fs_bp_enabled || fs.backend != FS_BACKEND_USER || !privileged() ||
	    fs_real.getsockopt(g->fd, SOL_SOCKET, SO_COOKIE, &cookie, &l) < 0)
		goto out;
	if (!fresh && (g->bp = find_state(g, cookie)) != NULL)
		how = "the group's program found";
	else if ((g->bp = attach(g, cookie)) != NULL)
		how = "program attached";
	if (g->bp)
		fs_log(1, "fd %d: backpressure on (a stalled CPU goes back after 1 s; %s)",
		       g->fd, how);
out:
	errno = saved;
}

static __u64 now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000000000ULL + (__u64)t.tv_nsec;
}

/* This process took (1) or let go of (0) CPU c of g. */
void fs_bp_cpu(struct fs_group *g, int c, int serving)
{
	struct fs_rp_slot *s = g->bp;
	__u64 cookie = 0;
	socklen_t l = sizeof(cookie);
	int lfd;

	if (!s || c < 0 || c >= fs.ncpu || 1 + c >= nslots())
		return;
	lfd = g->ent[c].local_fd;
	s += 1 + c;
	if (serving) {
		if (lfd < 0 || fs_real.getsockopt(lfd, SOL_SOCKET, SO_COOKIE, &cookie, &l) < 0)
			cookie = 0;
		__atomic_store_n(&s->serving, 0, __ATOMIC_RELEASE);
		s->cookie = cookie;
		s->owner_pid = (__u32)fs.pid;
		s->owner_fd = (__u32)lfd;
		__atomic_store_n(&s->last_accept_ns, now_ns(), __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->serving, (__u32)serving, __ATOMIC_RELEASE);
}

int fs_bp_waiting;

/*
 * The map is writable by every worker, whatever uid it switched to, so
 * what a CPU entry names is checked before anything is accepted from it:
 * a listening socket on the group's own address and port in the same
 * network namespace is a member of the group (bind() allows no other).
 */
static int same_listener(const struct fs_group *g, int lfd)
{
	struct sockaddr_storage a;
	socklen_t al = sizeof(a), l;
	__u64 n1 = 0, n2 = 0;
	int acc = 0;

	l = sizeof(acc);
	if (fs_real.getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0 || !acc)
		return 0;
	l = sizeof(n1);
	if (fs_real.getsockopt(lfd, SOL_SOCKET, SO_NETNS_COOKIE, &n1, &l) < 0)
		return 0;
	l = sizeof(n2);
	if (fs_real.getsockopt(g->fd, SOL_SOCKET, SO_NETNS_COOKIE, &n2, &l) < 0 || n1 != n2)
		return 0;
	if (getsockname(lfd, (struct sockaddr *)&a, &al) < 0 || al != g->addrlen)
		return 0;
	return !memcmp(&a, &g->addr, al);
}

/*
 * CPU c of g, if another process owns it and it has been stalled for 1 s:
 * its owner's listener is copied and what waits there is accepted into this
 * process's stash.  Returns how many.
 */
static int take_stalled(struct fs_group *g, int c, __u64 now)
{
	struct fs_rp_slot *s = &g->bp[1 + c];
	__u64 last, since, cookie = 0;
	socklen_t l = sizeof(cookie);
	int pidfd, lfd, n = 0;

	if (!__atomic_load_n(&s->serving, __ATOMIC_ACQUIRE) ||
	    s->owner_pid == (__u32)fs.pid || !s->cookie)
		return 0;
	last = __atomic_load_n(&s->last_accept_ns, __ATOMIC_RELAXED);
	since = __atomic_load_n(&s->pending_since_ns, __ATOMIC_RELAXED);
	if (since <= last || now - since < FS_RP_STALL_NS)
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)s->owner_pid, 0);
	if (pidfd < 0)
		return 0;
	lfd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)s->owner_fd, 0);
	fs_real.close(pidfd);
	if (lfd < 0)
		return 0;
	if (fs_real.getsockopt(lfd, SOL_SOCKET, SO_COOKIE, &cookie, &l) == 0 &&
	    cookie == s->cookie && same_listener(g, lfd))
		n = fs_stash_from(g, c % fs.ncpu, lfd);
	fs_real.close(lfd);
	if (n > 0)
		fs_log(2, "fd %d: %d connection(s) taken from stalled CPU %d (pid %u)",
		       g->fd, n, c, s->owner_pid);
	return n;
}

/*
 * A watcher that found every CPU taken (the new binary of an nginx upgrade
 * while the old master holds a CPU and blocks) is about to wait in epfd.
 * Connections the kernel queued on a stalled owner's local listener before
 * the program sent that CPU to the group would wait for the owner; plain
 * Linux gives them to whoever accepts.  So, at most every 100 ms, a CPU
 * stalled for 1 s (the program's test) that another process owns has its
 * queue taken: the owner's listener is copied with pidfd_getfd() (ptrace
 * rules: the same user, or CAP_SYS_PTRACE; the cookie proves it is still
 * the owner's listener), its connections are accepted into this process's
 * stash and the watcher's set is told (the eventfd of a hand-back).
 */
void fs_bp_before_wait(int epfd)
{
	static long next_ms;
	int saved = errno, i, c, any = 0;
	__u64 now = now_ns();
	long ms = (long)(now / 1000000);

	if (ms < __atomic_load_n(&next_ms, __ATOMIC_RELAXED))
		return;
	__atomic_store_n(&next_ms, ms + 100, __ATOMIC_RELAXED);
	for (i = 0; i < FS_MAX_GROUPS; i++) {
		struct fs_group *g = &fs.groups[i];

		if (__atomic_load_n(&g->used, __ATOMIC_ACQUIRE) != 2 || !g->bp ||
		    g->wait_epfd < 0)
			continue;
		any = 1;
		if (g->wait_epfd != epfd || !fs_ident_same(epfd, &g->wait_epid))
			continue;
		for (c = 0; 1 + c < nslots(); c++)
			if (take_stalled(g, c, now) > 0)
				fs_kick(g, epfd, &g->wait_ev);
	}
	if (!any)
		__atomic_store_n(&fs_bp_waiting, 0, __ATOMIC_RELAXED);
	errno = saved;
}

/* The calling thread accepted a connection of g: its CPU is served. */
void fs_bp_accepted_slow(struct fs_group *g)
{
	int c = fs_tl_cpu;

	if (c >= 0 && 1 + c < nslots())
		__atomic_store_n(&g->bp[1 + c].last_accept_ns, now_ns(), __ATOMIC_RELAXED);
}

/* The group is gone (see unmap_group). */
void fs_bp_release(struct fs_group *g)
{
	if (!g->bp)
		return;
	g->bp = NULL;
	unmap_group(g);
}
