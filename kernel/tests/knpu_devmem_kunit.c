// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * KUnit tests of device-memory placement: the blocks
 * knpu_devmem_alloc_blocks() takes from the buddy allocator, and that a
 * buffer mapped at a 2 MiB aligned VA gets 2 MiB device pages from them.
 */

#include <kunit/test.h>
#include <linux/gpu_buddy.h>
#include <linux/list.h>
#include <linux/sizes.h>

#include "../knpu_devmem.h"
#include "../knpu_mmu.h"

#define KNPU_TEST_DEVMEM	SZ_16M

static int knpu_devmem_test_init(struct kunit *test)
{
	struct gpu_buddy *mm;

	mm = kunit_kzalloc(test, sizeof(*mm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mm);
	KUNIT_ASSERT_EQ(test, gpu_buddy_init(mm, KNPU_TEST_DEVMEM, KNPU_PAGE_SIZE), 0);
	test->priv = mm;
	return 0;
}

static void knpu_devmem_test_exit(struct kunit *test)
{
	gpu_buddy_fini(test->priv);
}

/* How many 2 MiB leaves a buffer of @blocks mapped at a 2 MiB aligned VA gets. */
static unsigned int knpu_test_block_leaves(struct gpu_buddy *mm, struct list_head *blocks)
{
	struct gpu_buddy_block *block;
	unsigned int leaves = 0;
	u64 va = KNPU_VA_START;

	list_for_each_entry(block, blocks, link) {
		u64 addr = gpu_buddy_block_offset(block);
		u64 end = addr + gpu_buddy_block_size(mm, block);

		while (addr < end) {
			u64 leaf = knpu_mmu_leaf_size(va, addr, end - addr, true);

			leaves += leaf == SZ_2M;
			va += leaf;
			addr += leaf;
		}
	}
	return leaves;
}

static void knpu_test_devmem_blocks_largest_first(struct kunit *test)
{
	struct gpu_buddy *mm = test->priv;
	struct gpu_buddy_block *block;
	u64 size = SZ_4M + SZ_2M + SZ_8K, total = 0, prev = U64_MAX;
	LIST_HEAD(blocks);

	KUNIT_ASSERT_EQ(test, knpu_devmem_alloc_blocks(mm, size, &blocks), 0);
	list_for_each_entry(block, &blocks, link) {
		u64 bsize = gpu_buddy_block_size(mm, block);

		KUNIT_EXPECT_LE(test, bsize, prev);
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(gpu_buddy_block_offset(block), bsize));
		total += bsize;
		prev = bsize;
	}
	KUNIT_EXPECT_EQ(test, total, size);
	/* 4 MiB + 2 MiB: three 2 MiB device pages, the 8 KiB tail in pages. */
	KUNIT_EXPECT_EQ(test, knpu_test_block_leaves(mm, &blocks), 3U);
	KUNIT_EXPECT_EQ(test, mm->avail, (u64)KNPU_TEST_DEVMEM - size);

	gpu_buddy_free_list(mm, &blocks, 0);
	KUNIT_EXPECT_EQ(test, mm->avail, (u64)KNPU_TEST_DEVMEM);
}

static void knpu_test_devmem_exhausted(struct kunit *test)
{
	struct gpu_buddy *mm = test->priv;
	LIST_HEAD(first);
	LIST_HEAD(second);

	KUNIT_EXPECT_EQ(test, knpu_devmem_alloc_blocks(mm, KNPU_TEST_DEVMEM + SZ_4K, &first),
			-ENOMEM);
	KUNIT_EXPECT_TRUE(test, list_empty(&first));

	KUNIT_ASSERT_EQ(test, knpu_devmem_alloc_blocks(mm, KNPU_TEST_DEVMEM - SZ_4K, &first), 0);
	/* The last page fits, one more byte of device memory does not. */
	KUNIT_EXPECT_EQ(test, knpu_devmem_alloc_blocks(mm, SZ_8K, &second), -ENOMEM);
	KUNIT_EXPECT_TRUE(test, list_empty(&second));
	KUNIT_EXPECT_EQ(test, mm->avail, (u64)SZ_4K);
	KUNIT_EXPECT_EQ(test, knpu_devmem_alloc_blocks(mm, SZ_4K, &second), 0);

	gpu_buddy_free_list(mm, &first, 0);
	gpu_buddy_free_list(mm, &second, 0);
}

/* Fragmented memory still serves a request, in smaller blocks. */
static void knpu_test_devmem_fragmented(struct kunit *test)
{
	struct gpu_buddy *mm = test->priv;
	struct gpu_buddy_block *block, *next;
	LIST_HEAD(pages);
	LIST_HEAD(big);
	unsigned int n;

	/* Take every 4 KiB page, then give back the odd ones: none can merge. */
	for (n = 0; n < KNPU_TEST_DEVMEM / SZ_4K; n++)
		KUNIT_ASSERT_EQ(test, knpu_devmem_alloc_blocks(mm, SZ_4K, &pages), 0);
	list_for_each_entry_safe(block, next, &pages, link) {
		if (gpu_buddy_block_offset(block) & SZ_4K) {
			list_del(&block->link);
			gpu_buddy_free_block(mm, block);
		}
	}

	KUNIT_ASSERT_EQ(test, knpu_devmem_alloc_blocks(mm, SZ_2M, &big), 0);
	KUNIT_EXPECT_EQ(test, knpu_test_block_leaves(mm, &big), 0U);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&big), SZ_2M / SZ_4K);

	gpu_buddy_free_list(mm, &big, 0);
	gpu_buddy_free_list(mm, &pages, 0);
}

static struct kunit_case knpu_devmem_cases[] = {
	KUNIT_CASE(knpu_test_devmem_blocks_largest_first),
	KUNIT_CASE(knpu_test_devmem_exhausted),
	KUNIT_CASE(knpu_test_devmem_fragmented),
	{}
};

static struct kunit_suite knpu_devmem_suite = {
	.name = "knpu_devmem",
	.init = knpu_devmem_test_init,
	.exit = knpu_devmem_test_exit,
	.test_cases = knpu_devmem_cases,
};

kunit_test_suite(knpu_devmem_suite);
