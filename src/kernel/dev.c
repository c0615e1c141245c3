// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/fastsocket: the misc device and the ioctl dispatcher.
 *
 * Any user may open the device (mode 0666): every command acts only on the
 * caller's own fds.  Each command's argument is copied in whole (its size is
 * part of the command number), handled, and copied back.  A new fd produced
 * by a command is installed only once the result reached user space.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "fsocket.h"
#include "log.h"

union fsocket_ioc_arg {
	struct fsocket_version version;
	struct fsocket_socket_arg socket;
	struct fsocket_listen_arg listen;
	struct fsocket_spawn_arg spawn;
	struct fsocket_accept_arg accept;
	struct fsocket_fd_arg fd;
};

struct fsocket_cmd {
	unsigned int cmd;
	const char *name;
	/* NULL: not implemented, -EOPNOTSUPP */
	long (*fn)(void *arg, struct fsocket_newfd *nfd);
	u64 feature;		/* advertised in fsocket_version.features */
	bool needs_spawn;	/* -EOPNOTSUPP when enable_listen_spawn == 0 */
};

static long fsocket_cmd_version(void *arg, struct fsocket_newfd *nfd);

static const struct fsocket_cmd fsocket_cmds[] = {
	[_IOC_NR(FSOCKET_IOC_VERSION)] = {
		.cmd = FSOCKET_IOC_VERSION, .name = "VERSION",
		.fn = fsocket_cmd_version,
	},
	[_IOC_NR(FSOCKET_IOC_SOCKET)] = {
		.cmd = FSOCKET_IOC_SOCKET, .name = "SOCKET",
		.fn = fsocket_cmd_socket, .feature = FSOCKET_FEAT_SOCKET,
	},
	[_IOC_NR(FSOCKET_IOC_LISTEN)] = {
		.cmd = FSOCKET_IOC_LISTEN, .name = "LISTEN",
		.fn = fsocket_cmd_listen, .feature = FSOCKET_FEAT_LISTEN,
	},
	[_IOC_NR(FSOCKET_IOC_SPAWN_LISTEN)] = {
		.cmd = FSOCKET_IOC_SPAWN_LISTEN, .name = "SPAWN_LISTEN",
		.fn = fsocket_cmd_spawn, .feature = FSOCKET_FEAT_SPAWN_LISTEN,
		.needs_spawn = true,
	},
	[_IOC_NR(FSOCKET_IOC_ACCEPT)] = {
		.cmd = FSOCKET_IOC_ACCEPT, .name = "ACCEPT",
		.fn = fsocket_cmd_accept, .feature = FSOCKET_FEAT_ACCEPT,
	},
	[_IOC_NR(FSOCKET_IOC_CLOSE)] = {
		.cmd = FSOCKET_IOC_CLOSE, .name = "CLOSE",
		.fn = fsocket_cmd_close, .feature = FSOCKET_FEAT_CLOSE,
		.needs_spawn = true,
	},
	[_IOC_NR(FSOCKET_IOC_SHUTDOWN_LISTEN)] = {
		.cmd = FSOCKET_IOC_SHUTDOWN_LISTEN, .name = "SHUTDOWN_LISTEN",
		.fn = fsocket_cmd_shutdown,
		.feature = FSOCKET_FEAT_SHUTDOWN_LISTEN,
		.needs_spawn = true,
	},
	[_IOC_NR(FSOCKET_IOC_SPAWN_ALL_LISTEN)] = {
		.cmd = FSOCKET_IOC_SPAWN_ALL_LISTEN, .name = "SPAWN_ALL_LISTEN",
		.fn = fsocket_cmd_spawn_all,
		.feature = FSOCKET_FEAT_SPAWN_ALL_LISTEN,
		.needs_spawn = true,
	},
};

static bool fsocket_cmd_usable(const struct fsocket_cmd *c)
{
	if (!c->fn)
		return false;
	return !c->needs_spawn || fsocket_enable_listen_spawn != 0;
}

u64 fsocket_features(void)
{
	u64 features = FSOCKET_FEAT_STATS;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fsocket_cmds); i++) {
		if (fsocket_cmd_usable(&fsocket_cmds[i]))
			features |= fsocket_cmds[i].feature;
	}
	return features;
}

static long fsocket_cmd_version(void *arg, struct fsocket_newfd *nfd)
{
	struct fsocket_version *v = arg;

	memset(v, 0, sizeof(*v));
	v->abi_version = FSOCKET_ABI_VERSION;
	v->nr_cpu_ids = nr_cpu_ids;
	v->features = fsocket_features();
	v->listen_spawn = fsocket_enable_listen_spawn;
	strscpy(v->module_version, FSOCKET_VERSION, sizeof(v->module_version));
	return 0;
}

int fsocket_newfd_prepare(struct fsocket_newfd *nfd, struct socket *sock,
			  unsigned int flags)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(flags & O_CLOEXEC);
	if (fd < 0) {
		sock_release(sock);
		return fd;
	}
	/* On failure sock_alloc_file() releases the socket. */
	file = sock_alloc_file(sock, flags & O_NONBLOCK, NULL);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	nfd->file = file;
	nfd->fd = fd;
	return fd;
}

void fsocket_newfd_commit(struct fsocket_newfd *nfd)
{
	if (!nfd->file)
		return;
	fd_install(nfd->fd, nfd->file);
	nfd->file = NULL;
}

void fsocket_newfd_abort(struct fsocket_newfd *nfd)
{
	/* Runs while the file is still referenced (abort_data may be it). */
	if (nfd->abort)
		nfd->abort(nfd->abort_data);
	if (nfd->file) {
		put_unused_fd(nfd->fd);
		fput(nfd->file);
		nfd->file = NULL;
	}
}

static long fsocket_ioctl(struct file *file, unsigned int cmd,
			  unsigned long uarg)
{
	void __user *argp = (void __user *)uarg;
	struct fsocket_newfd nfd = { .fd = -1 };
	const struct fsocket_cmd *c;
	union fsocket_ioc_arg karg;
	unsigned int nr = _IOC_NR(cmd);
	long ret;

	if (_IOC_TYPE(cmd) != FSOCKET_IOC_MAGIC ||
	    nr >= ARRAY_SIZE(fsocket_cmds) || fsocket_cmds[nr].cmd != cmd) {
		fs_err("unknown ioctl 0x%08x from %s[%d]\n", cmd,
		       current->comm, task_pid_nr(current));
		return -ENOTTY;
	}
	c = &fsocket_cmds[nr];
	BUILD_BUG_ON(sizeof(karg) > 128);
	if (WARN_ON_ONCE(_IOC_SIZE(cmd) > sizeof(karg)))
		return -ENOTTY;
	if (!fsocket_cmd_usable(c)) {
		fs_dbg("%s: not supported (listen_spawn %d)\n", c->name,
		       fsocket_enable_listen_spawn);
		return -EOPNOTSUPP;
	}
	if (copy_from_user(&karg, argp, _IOC_SIZE(cmd)))
		return -EFAULT;

	ret = c->fn(&karg, &nfd);
	if (ret < 0) {
		fs_dbg("%s from %s[%d]: error %ld\n", c->name, current->comm,
		       task_pid_nr(current), ret);
		return ret;
	}
	if (copy_to_user(argp, &karg, _IOC_SIZE(cmd))) {
		fsocket_newfd_abort(&nfd);
		return -EFAULT;
	}
	fsocket_newfd_commit(&nfd);
	return ret;
}

static const struct file_operations fsocket_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= fsocket_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice fsocket_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= FSOCKET_DEVICE_NAME,
	.fops	= &fsocket_fops,
	.mode	= 0666,
};

int fsocket_dev_init(void)
{
	int ret = misc_register(&fsocket_misc);

	if (ret)
		pr_err("cannot register /dev/%s: %d\n", FSOCKET_DEVICE_NAME,
		       ret);
	return ret;
}

void fsocket_dev_exit(void)
{
	misc_deregister(&fsocket_misc);
}
