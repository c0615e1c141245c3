// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/fastsocket: the misc device and the ioctl dispatcher.
 *
 * Any user may open the device (mode 0666): every command acts only on
 * sockets the caller made itself with plain system calls and holds in its
 * own fd table, and does nothing the caller could not do with those calls
 * (see "Security model" in docs/module.md).  Each command's argument is
 * copied in whole (its size is part of the command number), handled, and
 * copied back; a command whose result cannot be copied back is undone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "fsocket.h"
#include "log.h"

union fsocket_ioc_arg {
	struct fsocket_version version;
	struct fsocket_listen_arg listen;
	struct fsocket_join_arg join;
	struct fsocket_fd_arg fd;
};

struct fsocket_cmd {
	unsigned int cmd;
	const char *name;
	long (*fn)(void *arg);
	void (*undo)(void *arg);	/* the result did not reach the caller */
	u64 feature;		/* advertised in fsocket_version.features */
	bool needs_spawn;	/* -EOPNOTSUPP when enable_listen_spawn == 0 */
};

static long fsocket_cmd_version(void *arg);

/* Numbers of removed commands have no entry: -ENOTTY. */
static const struct fsocket_cmd fsocket_cmds[] = {
	[_IOC_NR(FSOCKET_IOC_VERSION)] = {
		.cmd = FSOCKET_IOC_VERSION, .name = "VERSION",
		.fn = fsocket_cmd_version,
	},
	[_IOC_NR(FSOCKET_IOC_LISTEN)] = {
		.cmd = FSOCKET_IOC_LISTEN, .name = "LISTEN",
		.fn = fsocket_cmd_listen, .feature = FSOCKET_FEAT_LISTEN,
		.needs_spawn = true,
	},
	[_IOC_NR(FSOCKET_IOC_SHUTDOWN_LISTEN)] = {
		.cmd = FSOCKET_IOC_SHUTDOWN_LISTEN, .name = "SHUTDOWN_LISTEN",
		.fn = fsocket_cmd_shutdown,
		.feature = FSOCKET_FEAT_SHUTDOWN_LISTEN,
	},
	[_IOC_NR(FSOCKET_IOC_JOIN)] = {
		.cmd = FSOCKET_IOC_JOIN, .name = "JOIN",
		.fn = fsocket_cmd_join, .undo = fsocket_cmd_join_undo,
		.feature = FSOCKET_FEAT_JOIN, .needs_spawn = true,
	},
	[_IOC_NR(FSOCKET_IOC_LEAVE)] = {
		.cmd = FSOCKET_IOC_LEAVE, .name = "LEAVE",
		.fn = fsocket_cmd_leave, .feature = FSOCKET_FEAT_LEAVE,
	},
};

static bool fsocket_cmd_usable(const struct fsocket_cmd *c)
{
	if (!c->fn)
		return false;
	return !c->needs_spawn || READ_ONCE(fsocket_enable_listen_spawn) != 0;
}

u64 fsocket_features(void)
{
	u64 features = FSOCKET_FEAT_STATS | FSOCKET_FEAT_LISTENERS;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fsocket_cmds); i++) {
		if (fsocket_cmd_usable(&fsocket_cmds[i]))
			features |= fsocket_cmds[i].feature;
	}
	return features;
}

static long fsocket_cmd_version(void *arg)
{
	struct fsocket_version *v = arg;

	memset(v, 0, sizeof(*v));
	v->abi_version = FSOCKET_ABI_VERSION;
	v->nr_cpu_ids = nr_cpu_ids;
	v->features = fsocket_features();
	v->listen_spawn = READ_ONCE(fsocket_enable_listen_spawn);
	strscpy(v->module_version, FSOCKET_VERSION, sizeof(v->module_version));
	return 0;
}

static long fsocket_ioctl(struct file *file, unsigned int cmd,
			  unsigned long uarg)
{
	void __user *argp = (void __user *)uarg;
	const struct fsocket_cmd *c;
	union fsocket_ioc_arg karg;
	unsigned int nr = _IOC_NR(cmd);
	long ret;

	if (_IOC_TYPE(cmd) != FSOCKET_IOC_MAGIC ||
	    nr >= ARRAY_SIZE(fsocket_cmds) || !fsocket_cmds[nr].fn ||
	    fsocket_cmds[nr].cmd != cmd) {
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
		       READ_ONCE(fsocket_enable_listen_spawn));
		return -EOPNOTSUPP;
	}
	if (copy_from_user(&karg, argp, _IOC_SIZE(cmd)))
		return -EFAULT;

	ret = c->fn(&karg);
	if (ret < 0) {
		fs_dbg("%s from %s[%d]: error %ld\n", c->name, current->comm,
		       task_pid_nr(current), ret);
		return ret;
	}
	if (copy_to_user(argp, &karg, _IOC_SIZE(cmd))) {
		if (c->undo)
			c->undo(&karg);
		return -EFAULT;
	}
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
