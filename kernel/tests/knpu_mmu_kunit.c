// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * KUnit tests of the device address spaces: ASID allocation and recycling,
 * AS_ROOT programming, the page tables knpu_context_map_locked() builds
 * (4 KiB pages, 2 MiB blocks) and frees when they become empty,
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
	/* Removing entries invalidates the context's TLB (6.3). */
	KUNIT_EXPECT_EQ(test, knpu_test_reg(test, KNPU_REG_MMU_TLB_INVAL), ctx->asid);
	/* The tables left empty are gone, up to the root. */
	KUNIT_EXPECT_EQ(test, ctx->root.used, 0U);
	KUNIT_EXPECT_NULL(test, ctx->root.children[knpu_va_index(va, 0)]);
	KUNIT_EXPECT_EQ(test, knpu_test_pte(&ctx->root, va, 0), 0ULL);

	knpu_context_put(ctx);
	dma_unmap_sgtable(dev, &sgt, DMA_BIDIRECTIONAL, 0);
	sg_free_table(&sgt);
	for (i = 0; i < KNPU_TEST_PAGES; i++)
		__free_page(pages[i]);
}

static void knpu_test_leaf_size(struct kunit *test)
{
	/* 2 MiB only when the VA and the target are aligned and a block is left. */
	KUNIT_EXPECT_EQ(test, knpu_mmu_leaf_size(SZ_4G, SZ_2M, SZ_2M, true), (u64)SZ_2M);
	KUNIT_EXPECT_EQ(test, knpu_mmu_leaf_size(SZ_4G, SZ_2M, SZ_2M, false), (u64)SZ_4K);
	KUNIT_EXPECT_EQ(test, knpu_mmu_leaf_size(SZ_4G, SZ_2M, SZ_2M - SZ_4K, true), (u64)SZ_4K);
	KUNIT_EXPECT_EQ(test, knpu_mmu_leaf_size(SZ_4G + SZ_4K, SZ_2M, SZ_4M, true), (u64)SZ_4K);
	KUNIT_EXPECT_EQ(test, knpu_mmu_leaf_size(SZ_4G, SZ_2M + SZ_4K, SZ_4M, true), (u64)SZ_4K);
	KUNIT_EXPECT_EQ(test, knpu_mmu_leaf_size(SZ_4G + SZ_2M, 0, SZ_4M + SZ_4K, true),
			(u64)SZ_2M);
}

/* The level-2 table for @va. */
static struct knpu_pt *knpu_test_walk_l2(struct kunit *test, struct knpu_context *ctx, u64 va)
{
	struct knpu_pt *l1 = ctx->root.children[knpu_va_index(va, 0)];

	KUNIT_ASSERT_NOT_NULL(test, l1);
	KUNIT_ASSERT_NOT_NULL(test, l1->children[knpu_va_index(va, 1)]);
	return l1->children[knpu_va_index(va, 1)];
}

static int knpu_test_map_range(struct knpu_context *ctx, u64 va, u64 addr, u64 size, u64 prot)
{
	int ret;

	mutex_lock(&ctx->lock);
	ret = knpu_context_map_range_locked(ctx, va, addr, size, prot);
	mutex_unlock(&ctx->lock);
	return ret;
}

static void knpu_test_unmap(struct knpu_context *ctx, u64 va, u64 size)
{
	mutex_lock(&ctx->lock);
	knpu_context_unmap_locked(ctx, va, size);
	mutex_unlock(&ctx->lock);
}

static void knpu_test_map_blocks(struct kunit *test)
{
	struct knpu_mmu_test *t = test->priv;
	u64 prot = knpu_pte_prot(false) | KNPU_PTE_DEVMEM;
	/* Two 2 MiB blocks and two 4 KiB pages of device memory. */
	u64 va = KNPU_VA_START + SZ_1G, addr = SZ_4M, size = SZ_4M + 2 * SZ_4K;
	struct knpu_context *ctx;
	struct knpu_pt *l2, *l3;

	t->kdev->info.features = KNPU_FEATURE_LARGE_PAGES;
	ctx = knpu_context_create(t->kdev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx);

	KUNIT_ASSERT_EQ(test, knpu_test_map_range(ctx, va, addr, size, prot), 0);
	l2 = knpu_test_walk_l2(test, ctx, va);
	KUNIT_EXPECT_EQ(test, knpu_test_pte(l2, va, 2), knpu_pte_block(addr, prot));
	KUNIT_EXPECT_EQ(test, knpu_test_pte(l2, va + SZ_2M, 2), knpu_pte_block(addr + SZ_2M, prot));
	KUNIT_EXPECT_NULL(test, l2->children[knpu_va_index(va, 2)]);
	l3 = knpu_test_walk(test, ctx, va + SZ_4M);
	KUNIT_EXPECT_EQ(test, knpu_test_pte(l3, va + SZ_4M, 3), knpu_pte_page(addr + SZ_4M, prot));
	KUNIT_EXPECT_EQ(test, knpu_test_pte(l3, va + SZ_4M + SZ_4K, 3),
			knpu_pte_page(addr + SZ_4M + SZ_4K, prot));
	KUNIT_EXPECT_EQ(test, l2->used, 3U);
	KUNIT_EXPECT_EQ(test, l3->used, 2U);

	knpu_test_unmap(ctx, va, size);
	KUNIT_EXPECT_EQ(test, ctx->root.used, 0U);

	/* A target that is not 2 MiB aligned gets 4 KiB pages only. */
	KUNIT_ASSERT_EQ(test, knpu_test_map_range(ctx, va, addr + SZ_4K, SZ_2M, prot), 0);
	l3 = knpu_test_walk(test, ctx, va);
	KUNIT_EXPECT_EQ(test, l3->used, 512U);
	KUNIT_EXPECT_EQ(test, knpu_test_pte(l3, va + SZ_2M - SZ_4K, 3),
			knpu_pte_page(addr + SZ_2M, prot));
	knpu_test_unmap(ctx, va, SZ_2M);
	KUNIT_EXPECT_EQ(test, ctx->root.used, 0U);

	/* Without large pages in FEATURES, never a block. */
	t->kdev->info.features = 0;
	KUNIT_ASSERT_EQ(test, knpu_test_map_range(ctx, va, addr, SZ_2M, prot), 0);
	KUNIT_EXPECT_EQ(test, knpu_test_walk(test, ctx, va)->used, 512U);
	knpu_test_unmap(ctx, va, SZ_2M);
	KUNIT_EXPECT_EQ(test, ctx->root.used, 0U);

	knpu_context_put(ctx);
}

/* Unmapping one range keeps the tables a neighbouring range still uses. */
static void knpu_test_unmap_keeps_shared_tables(struct kunit *test)
{
	struct knpu_mmu_test *t = test->priv;
	u64 prot = knpu_pte_prot(false) | KNPU_PTE_DEVMEM;
	u64 va = KNPU_VA_START;
	struct knpu_context *ctx;
	struct knpu_pt *l3;

	ctx = knpu_context_create(t->kdev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx);

	KUNIT_ASSERT_EQ(test, knpu_test_map_range(ctx, va, 0, SZ_8K, prot), 0);
	KUNIT_ASSERT_EQ(test, knpu_test_map_range(ctx, va + SZ_16K, SZ_64K, SZ_4K, prot), 0);
	l3 = knpu_test_walk(test, ctx, va);
	KUNIT_EXPECT_EQ(test, l3->used, 3U);

	knpu_test_unmap(ctx, va, SZ_8K);
	KUNIT_EXPECT_PTR_EQ(test, knpu_test_walk(test, ctx, va + SZ_16K), l3);
	KUNIT_EXPECT_EQ(test, l3->used, 1U);
	KUNIT_EXPECT_EQ(test, knpu_test_pte(l3, va, 3), 0ULL);
	KUNIT_EXPECT_EQ(test, knpu_test_pte(l3, va + SZ_16K, 3), knpu_pte_page(SZ_64K, prot));

	knpu_test_unmap(ctx, va + SZ_16K, SZ_4K);
	KUNIT_EXPECT_EQ(test, ctx->root.used, 0U);

	knpu_context_put(ctx);
}

static struct kunit_case knpu_mmu_cases[] = {
	KUNIT_CASE(knpu_test_context_asids),
	KUNIT_CASE(knpu_test_map_unmap),
	KUNIT_CASE(knpu_test_leaf_size),
	KUNIT_CASE(knpu_test_map_blocks),
	KUNIT_CASE(knpu_test_unmap_keeps_shared_tables),
	{}
};

static struct kunit_suite knpu_mmu_suite = {
	.name = "knpu_mmu",
	.init = knpu_mmu_test_init,
	.exit = knpu_mmu_test_exit,
	.test_cases = knpu_mmu_cases,
};

kunit_test_suite(knpu_mmu_suite);
