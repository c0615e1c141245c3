/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging for fastsocket.ko.
 *
 * enable_fastsocket_debug (0..7) uses the kernel's console log levels:
 * a message of level L is printed when L <= max(3, enable_fastsocket_debug).
 * Errors (level 3) are therefore always printed; 4 adds warnings, 5
 * notices, 6 info and 7 debug.  Every message that user space can trigger
 * is rate limited.
 */
#ifndef _FSOCKET_LOG_H
#define _FSOCKET_LOG_H

#include <linux/compiler.h>
#include <linux/printk.h>
#include <linux/types.h>

extern int fsocket_enable_fastsocket_debug;

static inline bool fs_log_on(int level)
{
	return level <= 3 || level <= READ_ONCE(fsocket_enable_fastsocket_debug);
}

#define fs_err(fmt, ...) \
	pr_err_ratelimited(fmt, ##__VA_ARGS__)

#define fs_warn(fmt, ...)						\
	do {								\
		if (fs_log_on(4))					\
			pr_warn_ratelimited(fmt, ##__VA_ARGS__);	\
	} while (0)

#define fs_notice(fmt, ...)						\
	do {								\
		if (fs_log_on(5))					\
			pr_notice_ratelimited(fmt, ##__VA_ARGS__);	\
	} while (0)

#define fs_info(fmt, ...)						\
	do {								\
		if (fs_log_on(6))					\
			pr_info_ratelimited(fmt, ##__VA_ARGS__);	\
	} while (0)

/*
 * KERN_DEBUG through printk_ratelimited() rather than pr_debug_ratelimited():
 * the module's own level decides, dynamic debug does not hide it.
 */
#define fs_dbg(fmt, ...)						\
	do {								\
		if (fs_log_on(7))					\
			printk_ratelimited(KERN_DEBUG pr_fmt(fmt),	\
					   ##__VA_ARGS__);		\
	} while (0)

#endif /* _FSOCKET_LOG_H */
