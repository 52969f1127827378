// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * KUnit tests of the device address spaces: ASID allocation and recycling,
 * AS_ROOT programming, and the page tables knpu_context_map_locked() builds,
 * against a register file in memory and a KUnit device for DMA.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/scatterlist.h>

#include "../knpu_hw.h"
#include "../knpu_mmu.h"

#define KNPU_TEST_ASIDS		4
#define KNPU_TEST_PAGES		3

struct knpu_mmu_test {
	struct knpu_device *kdev;
	u32 *regs;
};

static u32 knpu_test_reg(struct kunit *test, u32 reg)
{
	struct knpu_mmu_test *t = test->priv;

	return READ_ONCE(t->regs[reg / 4]);
}

static int knpu_mmu_test_init(struct kunit *test)
{
	struct knpu_mmu_test *t;
	struct device *dev;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);

	dev = kunit_device_register(test, "knpu-mmu-test");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(52)), 0);

	t->kdev = kunit_kzalloc(test, sizeof(*t->kdev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->kdev);
	t->regs = kunit_kzalloc(test, SZ_64K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->regs);

	t->kdev->drm.dev = dev;
	t->kdev->regs = (__force void __iomem *)t->regs;
	t->kdev->info.num_asids = KNPU_TEST_ASIDS;
	xa_init_flags(&t->kdev->asid_xa, XA_FLAGS_ALLOC);

	test->priv = t;
	return 0;
}

static void knpu_mmu_test_exit(struct kunit *test)
{
	struct knpu_mmu_test *t = test->priv;

	KUNIT_EXPECT_TRUE(test, xa_empty(&t->kdev->asid_xa));
	xa_destroy(&t->kdev->asid_xa);
}

static void knpu_test_context_asids(struct kunit *test)
{
	struct knpu_mmu_test *t = test->priv;
	struct knpu_context *ctx[KNPU_TEST_ASIDS], *extra;
	unsigned int i;
	u32 asid;

	for (i = 0; i < KNPU_TEST_ASIDS; i++) {
		ctx[i] = knpu_context_create(t->kdev);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx[i]);
		asid = ctx[i]->asid;
		KUNIT_EXPECT_LT(test, asid, KNPU_TEST_ASIDS);
		/* AS_ROOT: VALID and the level-0 table's bus address (3.3). */
		KUNIT_EXPECT_EQ(test, knpu_test_reg(test, KNPU_REG_AS_ROOT_LO(asid)),
				lower_32_bits(ctx[i]->root.dma) | KNPU_AS_ROOT_VALID);
		KUNIT_EXPECT_EQ(test, knpu_test_reg(test, KNPU_REG_AS_ROOT_HI(asid)),
				upper_32_bits(ctx[i]->root.dma));
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(ctx[i]->root.dma, KNPU_PT_SIZE));
	}

	extra = knpu_context_create(t->kdev);
	KUNIT_EXPECT_EQ(test, PTR_ERR(extra), -EBUSY);

	/* A released ASID is invalidated, then handed out again. */
	asid = ctx[1]->asid;
	knpu_context_put(ctx[1]);
	KUNIT_EXPECT_EQ(test, knpu_test_reg(test, KNPU_REG_AS_ROOT_LO(asid)), 0U);
	KUNIT_EXPECT_EQ(test, knpu_test_reg(test, KNPU_REG_MMU_TLB_INVAL), asid);
	ctx[1] = knpu_context_create(t->kdev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx[1]);
	KUNIT_EXPECT_EQ(test, ctx[1]->asid, asid);

	for (i = 0; i < KNPU_TEST_ASIDS; i++)
		knpu_context_put(ctx[i]);
}

static u64 knpu_test_pte(struct knpu_pt *pt, u64 va, unsigned int level)
{
	return le64_to_cpu(pt->entries[knpu_va_index(va, level)]);
}

/* The level-3 table for @va, checking each table entry on the way down. */
static struct knpu_pt *knpu_test_walk(struct kunit *test, struct knpu_context *ctx, u64 va)
{
	struct knpu_pt *pt = &ctx->root;
	unsigned int level;

	for (level = 0; level < KNPU_PT_LEVELS - 1; level++) {
		struct knpu_pt *child = pt->children[knpu_va_index(va, level)];

		KUNIT_ASSERT_NOT_NULL(test, child);
		KUNIT_EXPECT_EQ(test, knpu_test_pte(pt, va, level), knpu_pte_table(child->dma));
		pt = child;
	}
	KUNIT_EXPECT_NULL(test, pt->children);
	return pt;
}

static void knpu_test_map_unmap(struct kunit *test)
{
	struct knpu_mmu_test *t = test->priv;
	struct device *dev = t->kdev->drm.dev;
	struct page *pages[KNPU_TEST_PAGES];
	/* Straddles a 2 MiB boundary: two level-3 tables. */
	u64 va = KNPU_VA_START + SZ_2M - SZ_4K;
	struct sg_dma_page_iter iter;
	struct knpu_context *ctx;
	struct sg_table sgt;
	unsigned int i;
	u64 cur;
	int ret;

	for (i = 0; i < KNPU_TEST_PAGES; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}
	KUNIT_ASSERT_EQ(test, sg_alloc_table_from_pages(&sgt, pages, KNPU_TEST_PAGES, 0,
							KNPU_TEST_PAGES * PAGE_SIZE,
							GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, dma_map_sgtable(dev, &sgt, DMA_BIDIRECTIONAL, 0), 0);

	ctx = knpu_context_create(t->kdev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx);

	mutex_lock(&ctx->lock);
	ret = knpu_context_map_locked(ctx, va, &sgt, knpu_pte_prot(true));
	mutex_unlock(&ctx->lock);
	KUNIT_ASSERT_EQ(test, ret, 0);

	cur = va;
	for_each_sgtable_dma_page(&sgt, &iter, 0) {
		struct knpu_pt *pt = knpu_test_walk(test, ctx, cur);

		KUNIT_EXPECT_EQ(test, knpu_test_pte(pt, cur, 3),
				knpu_pte_page(sg_page_iter_dma_address(&iter), KNPU_PTE_READ));
		cur += KNPU_PAGE_SIZE;
	}
	/* Neighbours stay unmapped. */
	KUNIT_EXPECT_EQ(test, knpu_test_pte(knpu_test_walk(test, ctx, va), va - SZ_4K, 3), 0ULL);
	KUNIT_EXPECT_EQ(test, knpu_test_pte(knpu_test_walk(test, ctx, cur), cur, 3), 0ULL);
	KUNIT_EXPECT_PTR_NE(test, knpu_test_walk(test, ctx, va), knpu_test_walk(test, ctx, cur));

	t->regs[KNPU_REG_MMU_TLB_INVAL / 4] = 0xdead;
	mutex_lock(&ctx->lock);
	knpu_context_unmap_locked(ctx, va, KNPU_TEST_PAGES * KNPU_PAGE_SIZE);
	mutex_unlock(&ctx->lock);
	for (cur = va; cur < va + KNPU_TEST_PAGES * KNPU_PAGE_SIZE; cur += KNPU_PAGE_SIZE)
		KUNIT_EXPECT_EQ(test, knpu_test_pte(knpu_test_walk(test, ctx, cur), cur, 3), 0ULL);
	/* Removing entries invalidates the context's TLB (6.3). */
	KUNIT_EXPECT_EQ(test, knpu_test_reg(test, KNPU_REG_MMU_TLB_INVAL), ctx->asid);

	knpu_context_put(ctx);
	dma_unmap_sgtable(dev, &sgt, DMA_BIDIRECTIONAL, 0);
	sg_free_table(&sgt);
	for (i = 0; i < KNPU_TEST_PAGES; i++)
		__free_page(pages[i]);
}

static struct kunit_case knpu_mmu_cases[] = {
	KUNIT_CASE(knpu_test_context_asids),
	KUNIT_CASE(knpu_test_map_unmap),
	{}
};

static struct kunit_suite knpu_mmu_suite = {
	.name = "knpu_mmu",
	.init = knpu_mmu_test_init,
	.exit = knpu_mmu_test_exit,
	.test_cases = knpu_mmu_cases,
};

kunit_test_suite(knpu_mmu_suite);
