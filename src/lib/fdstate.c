// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the library remembers about fds, checked against the kernel before
 * it is acted on: an fd number the application closed behind the wrapper's
 * back (close_range, fclose, syscall(SYS_close), a vfork child...) may name
 * another file now, so every remembered fd carries the identity of the file
 * (st_dev, st_ino) it had, and is only used, closed or accepted on while it
 * still has it.
 *
 * Also here: the library's own fds are moved out of the application's way
 * (to high numbers, so the application's next socket() or open() gets the
 * number it would get without the library), and the CPU slot locks: POSIX
 * record locks on the application's listening socket itself, byte n = CPU n.
 * Every process that holds the listener sees the same locks however it got
 * it (fork, exec with inherited fds as in nginx's binary upgrade, SCM_RIGHTS
 * as in Node's cluster, socket activation); they belong to a process (not
 * inherited by fork, dropped at exit), need no file and no permissions.
 * One catch: a process drops all its locks on a file when it closes any fd
 * of it, so closing a dup of a listener re-takes them (fs_slots_relock).
 */
#include "fsock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_ident_of(int fd, struct fs_ident *id)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		id->dev = id->ino = 0;
		return -1;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

int fs_ident_same(int fd, const struct fs_ident *id)
{
	struct fs_ident now;

	if (fs_ident_of(fd, &now) < 0)
		return 0;
	return now.dev == id->dev && now.ino == id->ino;
}

/* Close one of our fds, but only if it is still ours. */
void fs_close_own(int fd, const struct fs_ident *id)
{
	if (fd < 0)
		return;
	if (fs_ident_same(fd, id)) {
		fs_set_kind(fd, FD_NONE);
		fs_real.close(fd);
	} else if ((fs_kind(fd) & FD_KIND_MASK) == FD_INTERNAL) {
		fs_set_kind(fd, FD_NONE);	/* the application's now */
	}
}

/*
 * Move a new internal fd to fs.fd_base or above (close-on-exec); records its
 * identity.  Returns the fd to use.
 */
int fs_hide_fd(int fd, struct fs_ident *id)
{
	int hi;

	if (fd < 0)
		return fd;
	if (fs.fd_base > 0 && fd < fs.fd_base) {
		hi = fcntl(fd, F_DUPFD_CLOEXEC, fs.fd_base);
		if (hi >= 0) {
			fs_real.close(fd);
			fd = hi;
		}
	}
	fs_set_kind(fd, FD_INTERNAL);
	if (id)
		fs_ident_of(fd, id);
	return fd;
}

/* A vfork()/posix_spawn() child shares our memory: it must change nothing. */
int fs_in_other_process(void)
{
	return getpid() != fs.pid;
}

/* ---- CPU slot locks ------------------------------------------------------ */

static int slot_lock(struct fs_group *g, int cpu, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = cpu, .l_len = 1 };

	if (g->fd < 0 || !fs_ident_same(g->fd, &g->id))
		return -1;
	return fcntl(g->fd, F_SETLK, &fl);
}

/* Take CPU @cpu of group g for this process: 0, or -1 (taken elsewhere). */
int fs_slot_take(struct fs_group *g, int cpu)
{
	return slot_lock(g, cpu, F_WRLCK);
}

void fs_slot_release(struct fs_group *g, int cpu)
{
	slot_lock(g, cpu, F_UNLCK);
}

/* After a close of another fd of g's listener: the slots we hold, again. */
void fs_slots_relock(struct fs_group *g)
{
	int c;

	for (c = 0; c < fs.ncpu; c++)
		if (__atomic_load_n(&g->ent[c].locked, __ATOMIC_ACQUIRE) &&
		    slot_lock(g, c, F_WRLCK) < 0)
			fs_log(2, "fd %d: CPU %d slot lost to another process", g->fd, c);
}
