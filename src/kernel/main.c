// SPDX-License-Identifier: GPL-2.0
/*
 * fastsocket.ko: module load and unload, module parameters.
 *
 * The parameters come from the FSOCKET_PARAMS table in
 * uapi/fastsocket_params.h (shared with the CLI and the tests): same names,
 * defaults and descriptions.  They are read-only once loaded and checked at
 * load time; an out-of-range value makes the load fail.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kconfig.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "fsocket.h"
#include "log.h"

static bool fsocket_running;

/*
 * enable_listen_spawn is the run-time off switch (mode 0644): writing 0
 * removes every listen group at once (plain SO_REUSEPORT hashing among the
 * same listeners, no connection dropped); 1 or 2 allows LISTEN again.  At
 * load time the value is only stored: fsocket_check_params() checks it
 * with the others.
 */
static int fsocket_switch_set(const char *val, const struct kernel_param *kp)
{
	int v, err;

	err = kstrtoint(val, 0, &v);
	if (err)
		return err;
	if (!fsocket_running) {
		*(int *)kp->arg = v;
		return 0;
	}
	if (v < 0 || v > 2)
		return -EINVAL;
	WRITE_ONCE(*(int *)kp->arg, v);
	if (!v)
		fsocket_remove_all_groups();
	pr_info("enable_listen_spawn=%d%s\n", v,
		v ? "" : ": every listen group removed");
	return 0;
}

static const struct kernel_param_ops fsocket_switch_ops = {
	.set = fsocket_switch_set,
	.get = param_get_int,
};

/* Parameters writable at run time: defined as 1 (see __is_defined). */
#define fsocket_runtime_enable_listen_spawn 1
#define FSOCKET_RUNTIME(name) __is_defined(fsocket_runtime_##name)

/*
 * One variable, module_param and description per table row.  (A declaration
 * macro: checkpatch's "trailing semicolon" warning does not apply.)
 */
#define FSOCKET_PARAM_DEFINE(name, def, min, max, allowed, desc)	\
	int fsocket_##name = def;					\
	module_param_cb(name, FSOCKET_RUNTIME(name) ?			\
			&fsocket_switch_ops : &param_ops_int,		\
			&fsocket_##name,				\
			FSOCKET_RUNTIME(name) ? 0644 : 0444);		\
	MODULE_PARM_DESC(name, desc);
FSOCKET_PARAMS(FSOCKET_PARAM_DEFINE)
#undef FSOCKET_PARAM_DEFINE

struct fsocket_param {
	const char *name;
	const int *value;
	int def;
	int min;
	int max;
	const char *allowed;
};

#define FSOCKET_PARAM_ENTRY(n, d, lo, hi, text, desc) \
	{ .name = #n, .value = &fsocket_##n, .def = d, \
	  .min = lo, .max = hi, .allowed = text },

static struct fsocket_param fsocket_params[] __initdata = {
	FSOCKET_PARAMS(FSOCKET_PARAM_ENTRY)
};

#undef FSOCKET_PARAM_ENTRY

/*
 * Parameters this module does not act on itself.  A non-default value is
 * accepted (the table allows it) but never silently ignored: the load logs
 * what the parameter maps to on a stock kernel.
 */
struct fsocket_param_note {
	const char *name;
	const char *note;
};

static const struct fsocket_param_note fsocket_param_notes[] __initconst = {
	{ "enable_receive_flow_deliver",
	  "libfsocket encodes the CPU in the source port; RFS steers replies (fastsocket apply)" },
	{ "enable_fast_epoll",
	  "not implemented in the kernel; the preload library decides what to skip" },
	{ "enable_direct_tcp",
	  "upstream equivalent is net.ipv4.tcp_early_demux (fastsocket apply)" },
	{ "enable_skb_pool",
	  "upstream equivalent is the per-CPU NAPI skb cache; nothing to do" },
	{ "enable_receive_cpu_selection",
	  "upstream equivalent is RFS/aRFS (fastsocket apply)" },
	{ "enable_socket_pool_size",
	  "upstream equivalent is the per-CPU slab allocator; nothing to do" },
};

static int __init fsocket_check_params(void)
{
	int ret = 0;
	size_t i, j;

	BUILD_BUG_ON(ARRAY_SIZE(fsocket_params) != FSOCKET_NR_PARAMS);

	for (i = 0; i < ARRAY_SIZE(fsocket_params); i++) {
		const struct fsocket_param *p = &fsocket_params[i];
		int v = *p->value;

		if (v < p->min || v > p->max) {
			pr_err("invalid value %d for parameter %s: allowed values are %s\n",
			       v, p->name, p->allowed);
			ret = -EINVAL;
			continue;
		}
		if (v == p->def)
			continue;
		for (j = 0; j < ARRAY_SIZE(fsocket_param_notes); j++) {
			if (!strcmp(fsocket_param_notes[j].name, p->name))
				pr_notice("%s=%d: %s\n", p->name, v,
					  fsocket_param_notes[j].note);
		}
	}
	return ret;
}

static int __init fsocket_init(void)
{
	int ret;

	ret = fsocket_check_params();
	if (ret)
		return ret;

	ret = fsocket_listen_init();
	if (ret)
		return ret;

	ret = fsocket_proc_init();
	if (ret)
		goto err_listen;

	ret = fsocket_dev_init();
	if (ret)
		goto err_proc;
	fsocket_running = true;

	pr_info("version %s loaded (abi %d, listen_spawn %d, features 0x%llx)\n",
		FSOCKET_VERSION, FSOCKET_ABI_VERSION,
		fsocket_enable_listen_spawn,
		(unsigned long long)fsocket_features());
	return 0;

err_proc:
	fsocket_proc_exit();
err_listen:
	fsocket_listen_exit();
	return ret;
}

static void __exit fsocket_exit(void)
{
	/* The off switch must not run while the groups are torn down. */
	kernel_param_lock(THIS_MODULE);
	fsocket_running = false;
	kernel_param_unlock(THIS_MODULE);
	fsocket_dev_exit();
	fsocket_proc_exit();
	fsocket_listen_exit();
	pr_info("unloaded\n");
}

module_init(fsocket_init);
module_exit(fsocket_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("Fastsocket developers");
MODULE_DESCRIPTION("Fastsocket: per-CPU listen spawn for stock kernels");
MODULE_VERSION(FSOCKET_VERSION);
