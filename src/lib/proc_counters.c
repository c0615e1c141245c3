// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The per-process counters file `fastsocket ps` reads (format:
 * fsock_counters.h, docs/library.md).  Made when this process first has
 * an accelerated listener (or, in a forked child, at the first counter
 * update: the child never writes into its parent's file), filled through a
 * temporary file renamed into place, then only updated through a MAP_SHARED
 * mapping with relaxed atomics.  No fd is kept, nothing is allocated, no
 * lock is taken (a creator flag only makes concurrent creators skip), and a
 * failure just means no counters: the application never notices.
 *
 * Listener entry i is listen group i (fs.groups[i]).  A vfork child (same
 * memory, another pid) changes nothing; the file is removed at exit() by
 * the process that made it.
 */
#include "fsock.h"
#include "fsock_counters.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(FS_PC_MAX_LISTENERS == FS_MAX_GROUPS, "one entry per listen group");

#define PC_ROOT_PARENT "/run/fastsocket"
#define PC_ROOT_DIR PC_ROOT_PARENT "/lib"
#define PC_PATH_MAX 256

/* The mapping of this process's file; h->pid says whose it is. */
static struct fs_pc_header *pc_map;
static pid_t pc_failed;		/* creation failed for this pid: not retried */
static pid_t pc_creator;	/* pid creating the file now (0: nobody) */
static char pc_path[PC_PATH_MAX];	/* this process's file (removed at exit) */
static char pc_xdg[PC_PATH_MAX];	/* $XDG_RUNTIME_DIR/fastsocket, or "" */

static struct fs_pc_listener *pc_entries(struct fs_pc_header *h)
{
	return (struct fs_pc_listener *)(h + 1);
}

/* Appends s to buf[*n] (bounded); -1 when it does not fit. */
static int put_str(char *buf, size_t *n, const char *s)
{
	size_t l = strlen(s);

	if (*n + l >= PC_PATH_MAX)
		return -1;
	memcpy(buf + *n, s, l + 1);
	*n += l;
	return 0;
}

static int put_num(char *buf, size_t *n, unsigned long v)
{
	char d[24];
	int i = sizeof(d) - 1;

	d[i] = 0;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put_str(buf, n, d + i);
}

/* Field 22 of /proc/self/stat (start time in clock ticks), 0 if unknown. */
static uint64_t start_time(void)
{
	char buf[1024];
	ssize_t len;
	uint64_t v = 0;
	char *p;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), field;

	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	fs_real.close(fd);
	if (len <= 0)
		return 0;
	buf[len] = 0;
	p = strrchr(buf, ')');	/* the comm may hold spaces and ')' */
	if (!p)
		return 0;
	/* ") S ppid ..." : field 3 starts after ") ". */
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

/* A directory we own, that nobody else may enter: created when missing. */
static int own_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return -1;
	return 0;
}

/* The directory for this process's file (by its euid now), made if missing. */
static int pc_dir(char *dir, size_t *n)
{
	*n = 0;
	if (geteuid() == 0) {
		if (mkdir(PC_ROOT_PARENT, 0755) < 0 && errno != EEXIST)
			return -1;
		put_str(dir, n, PC_ROOT_DIR);
	} else if (!pc_xdg[0] || put_str(dir, n, pc_xdg) < 0) {
		return -1;
	}
	return own_dir(dir);
}

static void fill_entry(struct fs_pc_listener *e, const struct fs_group *g)
{
	int i;

	e->family = g->addr.ss_family;
	e->port = (uint16_t)g->port;
	memset(e->addr, 0, sizeof(e->addr));
	if (g->addr.ss_family == AF_INET6)
		memcpy(e->addr, &((const struct sockaddr_in6 *)&g->addr)->sin6_addr, 16);
	else
		memcpy(e->addr, &((const struct sockaddr_in *)&g->addr)->sin_addr, 4);
	e->path = g->module ? FS_PC_PATH_MODULE : FS_PC_PATH_FALLBACK;
	__atomic_store_n(&e->accepts_local, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->accepts_global, 0, __ATOMIC_RELAXED);
	for (i = 0; i < FS_PC_CPU_WORDS; i++)
		__atomic_store_n(&e->cpus[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->in_use, 1, __ATOMIC_RELEASE);
}

/* Header and the listeners this process has now, into a fresh mapping. */
static void fill_file(struct fs_pc_header *h, pid_t me)
{
	int i;

	memcpy(h->magic, FS_PC_MAGIC, sizeof(h->magic));
	h->version = FS_PC_VERSION;
	h->header_size = sizeof(*h);
	h->listener_size = sizeof(struct fs_pc_listener);
	h->max_listeners = FS_PC_MAX_LISTENERS;
	h->pid = me;
	h->backend = (uint32_t)fs.backend;
	h->start_time = start_time();
	for (i = 0; i < FS_MAX_GROUPS && fs.groups; i++)
		if (__atomic_load_n(&fs.groups[i].used, __ATOMIC_ACQUIRE) == 2) {
			fill_entry(&pc_entries(h)[i], &fs.groups[i]);
			h->listeners_total++;
		}
}

/*
 * Make this process's file: DIR/.PID.tmp filled, renamed to DIR/PID (an
 * older file of a process that had this pid is replaced whole), mapped.
 * In a forked child the parent's mapping (inherited) is replaced in place
 * (MAP_FIXED), so a thread reading pc_map meanwhile never touches an
 * unmapped page.
 */
static struct fs_pc_header *pc_make(pid_t me)
{
	char dir[PC_PATH_MAX], tmp[PC_PATH_MAX], path[PC_PATH_MAX];
	size_t n, tn, pn;
	struct fs_pc_header *h, *old;
	int fd;

	if (pc_dir(dir, &n) < 0)
		return NULL;
	tn = pn = 0;
	if (put_str(tmp, &tn, dir) < 0 || put_str(tmp, &tn, "/.") < 0 ||
	    put_num(tmp, &tn, (unsigned long)me) < 0 || put_str(tmp, &tn, ".tmp") < 0 ||
	    put_str(path, &pn, dir) < 0 || put_str(path, &pn, "/") < 0 ||
	    put_num(path, &pn, (unsigned long)me) < 0)
		return NULL;
	unlink(tmp);	/* left by a process that had our pid */
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	h = MAP_FAILED;
	if (ftruncate(fd, FS_PC_FILE_SIZE) == 0)
		h = mmap(NULL, FS_PC_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		fs_real.close(fd);
		unlink(tmp);
		return NULL;
	}
	fill_file(h, me);
	if (rename(tmp, path) < 0) {
		munmap(h, FS_PC_FILE_SIZE);
		fs_real.close(fd);
		unlink(tmp);
		return NULL;
	}
	old = __atomic_load_n(&pc_map, __ATOMIC_ACQUIRE);
	if (old && mmap(old, FS_PC_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			fd, 0) == old) {
		munmap(h, FS_PC_FILE_SIZE);
		h = old;
	} else {
		__atomic_store_n(&pc_map, h, __ATOMIC_RELEASE);
	}
	fs_real.close(fd);
	memcpy(pc_path, path, pn + 1);
	return h;
}

/* This process's file, made when missing; NULL: no counters. */
static struct fs_pc_header *pc_slow(void)
{
	pid_t me = __atomic_load_n(&fs.pid, __ATOMIC_RELAXED), busy;
	struct fs_pc_header *h = NULL;
	int saved = errno;

	if (__atomic_load_n(&pc_failed, __ATOMIC_RELAXED) == me || getpid() != me)
		return NULL;	/* gave up already, or a vfork child */
	busy = __atomic_load_n(&pc_creator, __ATOMIC_ACQUIRE);
	/* Another thread (or the code this signal handler interrupted) is at it. */
	if (busy == me ||
	    !__atomic_compare_exchange_n(&pc_creator, &busy, me, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return NULL;
	h = __atomic_load_n(&pc_map, __ATOMIC_ACQUIRE);
	if (!h || h->pid != me) {
		h = pc_make(me);
		if (!h)
			__atomic_store_n(&pc_failed, me, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&pc_creator, 0, __ATOMIC_RELEASE);
	errno = saved;
	return h;
}

/* The file of this process if it has one (a forked child: not yet). */
static inline struct fs_pc_header *pc_current(void)
{
	struct fs_pc_header *h = __atomic_load_n(&pc_map, __ATOMIC_ACQUIRE);

	if (__builtin_expect(h != NULL, 1) &&
	    __builtin_expect(h->pid == __atomic_load_n(&fs.pid, __ATOMIC_RELAXED), 1))
		return h;
	return NULL;
}

static inline struct fs_pc_header *pc_get(void)
{
	struct fs_pc_header *h = pc_current();

	return h ? h : pc_slow();
}

static inline struct fs_pc_listener *pc_entry(struct fs_pc_header *h,
					      const struct fs_group *g)
{
	return &pc_entries(h)[g - fs.groups];
}

void fs_pc_listener_add(struct fs_group *g)
{
	struct fs_pc_header *h = pc_current();

	if (!h) {
		pc_slow();	/* the new file has g already */
		return;
	}
	fill_entry(pc_entry(h, g), g);
	__atomic_fetch_add(&h->listeners_total, 1, __ATOMIC_RELAXED);
}

void fs_pc_listener_gone(struct fs_group *g)
{
	struct fs_pc_header *h = pc_current();
	struct fs_pc_listener *e;

	if (!h)
		return;
	e = pc_entry(h, g);
	if (!__atomic_load_n(&e->in_use, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&e->in_use, 0, __ATOMIC_RELEASE);
	__atomic_fetch_add(&h->closed_accepts_local,
			   __atomic_load_n(&e->accepts_local, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->closed_accepts_global,
			   __atomic_load_n(&e->accepts_global, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

int fs_pc_accepted(struct fs_group *g, int nfd, int local)
{
	struct fs_pc_header *h;

	if (nfd < 0 || !(h = pc_get()))
		return nfd;
	__atomic_fetch_add(local ? &pc_entry(h, g)->accepts_local :
				   &pc_entry(h, g)->accepts_global, 1, __ATOMIC_RELAXED);
	return nfd;
}

void fs_pc_cpu(struct fs_group *g, int cpu, int held)
{
	struct fs_pc_header *h;
	uint64_t bit;

	/* Only taking a CPU makes a forked child's file; letting one go does not. */
	if (cpu < 0 || cpu >= FS_PC_CPU_WORDS * 64 || !(h = held ? pc_get() : pc_current()))
		return;
	bit = 1ULL << (cpu % 64);
	if (held)
		__atomic_fetch_or(&pc_entry(h, g)->cpus[cpu / 64], bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&pc_entry(h, g)->cpus[cpu / 64], ~bit, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void pc_init(void)
{
	const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
	size_t n = 0;

	if (!xdg || xdg[0] != '/' || put_str(pc_xdg, &n, xdg) < 0 ||
	    put_str(pc_xdg, &n, "/fastsocket") < 0)
		pc_xdg[0] = 0;
}

/* exit(): the process that made the file removes it (not a forked child). */
__attribute__((destructor)) static void pc_fini(void)
{
	struct fs_pc_header *h = __atomic_load_n(&pc_map, __ATOMIC_ACQUIRE);

	if (h && pc_path[0] && h->pid == getpid())
		unlink(pc_path);
}
