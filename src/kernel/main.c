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
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "fsocket.h"
#include "log.h"

/*
 * One variable, module_param and description per table row.  (A declaration
 * macro: checkpatch's "trailing semicolon" warning does not apply.)
 */
#define FSOCKET_PARAM_DEFINE(name, def, min, max, allowed, desc)	\
	int fsocket_##name = def;					\
	module_param_named(name, fsocket_##name, int, 0444);		\
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

	ret = fsocket_stats_init();
	if (ret)
		return ret;

	ret = fsocket_dev_init();
	if (ret)
		goto err_stats;

	pr_info("version %s loaded (abi %d, listen_spawn %d, features 0x%llx)\n",
		FSOCKET_VERSION, FSOCKET_ABI_VERSION,
		fsocket_enable_listen_spawn,
		(unsigned long long)fsocket_features());
	return 0;

err_stats:
	fsocket_stats_exit();
	return ret;
}

static void __exit fsocket_exit(void)
{
	fsocket_dev_exit();
	fsocket_listen_exit();
	fsocket_stats_exit();
	pr_info("unloaded\n");
}

module_init(fsocket_init);
module_exit(fsocket_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("Fastsocket developers");
MODULE_DESCRIPTION("Fastsocket: per-CPU listen spawn for stock kernels");
MODULE_VERSION(FSOCKET_VERSION);
