// SPDX-License-Identifier: GPL-2.0
/*
 * fs_rig_test: the QEMU rig's self-test module.
 *
 * A misc device /dev/fs_rig_test whose read returns one line with the
 * module parameter "value".  The smoke suite loads it with a parameter,
 * reads the line back and unloads it, which proves the whole chain: build
 * root, compiler, headers, kernel image, initramfs and guest tooling.
 * warn_on_load=1 raises a WARN so that the rig's own tests can check that
 * a kernel warning fails a run; int3_on_load=1 executes a breakpoint that
 * stays in the text, which the rig must fail and not retry as a stale one.
 */
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/uaccess.h>

static int value = 42;
module_param(value, int, 0444);
MODULE_PARM_DESC(value, "number reported by a read of /dev/fs_rig_test");

static bool warn_on_load;
module_param(warn_on_load, bool, 0444);
MODULE_PARM_DESC(warn_on_load,
		 "raise a kernel warning at load (tests the rig's log checks)");

static bool int3_on_load;
module_param(int3_on_load, bool, 0444);
MODULE_PARM_DESC(int3_on_load,
		 "execute an int3 at load (an oops the rig must not retry)");

static ssize_t fs_rig_test_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	char line[64];
	int len;

	len = scnprintf(line, sizeof(line), "fs-rig-test value=%d\n", value);
	return simple_read_from_buffer(buf, count, ppos, line, len);
}

static const struct file_operations fs_rig_test_fops = {
	.owner = THIS_MODULE,
	.read = fs_rig_test_read,
	.llseek = noop_llseek,
};

static struct miscdevice fs_rig_test_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "fs_rig_test",
	.fops = &fs_rig_test_fops,
	.mode = 0444,
};

static int __init fs_rig_test_init(void)
{
	int err;

	err = misc_register(&fs_rig_test_dev);
	if (err) {
		pr_err("fs_rig_test: misc_register failed: %d\n", err);
		return err;
	}
	pr_info("fs_rig_test: loaded, value=%d\n", value);
	WARN(warn_on_load, "fs_rig_test: warning requested by warn_on_load\n");
	if (int3_on_load)
		asm volatile("int3");
	return 0;
}

static void __exit fs_rig_test_exit(void)
{
	misc_deregister(&fs_rig_test_dev);
	pr_info("fs_rig_test: unloaded\n");
}

module_init(fs_rig_test_init);
module_exit(fs_rig_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("fastsocket QEMU rig self-test module");
MODULE_AUTHOR("fastsocket project");
