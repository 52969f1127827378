// SPDX-License-Identifier: GPL-2.0-only
/*
 * A module that leaks on purpose: the harness's kmemleak check
 * (tests/harness/selftest-kmemleak.sh) must fail a run that loads it.
 */
#include <linux/module.h>
#include <linux/slab.h>

static int __init knpu_leak_test_init(void)
{
	void *lost = kmalloc(2048, GFP_KERNEL);

	if (!lost)
		return -ENOMEM;
	pr_info("knpu_leak_test: lost a 2048-byte object\n");
	return 0;
}
module_init(knpu_leak_test_init);

MODULE_DESCRIPTION("Leaks one object so that kmemleak has something to report");
MODULE_LICENSE("GPL");
