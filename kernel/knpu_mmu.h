/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_MMU_H__
#define __KNPU_MMU_H__

#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sizes.h>

#include <drm/drm_mm.h>

#include "knpu_drv.h"
#include "knpu_regs.h"

/* The device VA range the driver hands out in every address space. */
#define KNPU_VA_START		SZ_4G
#define KNPU_VA_SIZE		BIT_ULL(40)

#define KNPU_PT_SIZE		SZ_4K
#define KNPU_PAGE_SIZE		SZ_4K
#define KNPU_BLOCK_SIZE		SZ_2M

/**
 * struct knpu_pt - one page table (hw-spec 6.1) and its software shadow
 * @entries: the 512 entries, in coherent DMA memory the device walks
 * @dma: bus address of @entries
 * @children: the next-level tables, NULL for a level-3 table
 * @used: valid entries in @entries; the table is freed when it drops to 0
 * @free_link: on the list of tables to free once the TLB forgot them
 */
struct knpu_pt {
	__le64 *entries;
	dma_addr_t dma;
	struct knpu_pt **children;
	unsigned int used;
	struct list_head free_link;
};

/**
 * struct knpu_context - a device address space, one per open file
 * @ref: held by the file, its buffers and its queues
 * @kdev: the device
 * @asid: the hardware address space ID
 * @lock: protects @mm and the page tables
 * @mm: allocator of device VAs in [%KNPU_VA_START, %KNPU_VA_START + %KNPU_VA_SIZE)
 * @root: the level-0 page table
 * @busy_ns: time the device spent on this context's jobs, for fdinfo
 * @pinned_bytes: host memory the file's buffers pin, see knpu_context_pin()
 */
struct knpu_context {
	struct kref ref;
	struct knpu_device *kdev;
	u32 asid;
	/*
	 * Protects @mm and the page tables. Page tables are allocated under
	 * it with GFP_KERNEL: that is safe because memory reclaim never takes
	 * it (knpu has no shrinker and no MMU notifier; userptr pages are
	 * pinned FOLL_LONGTERM). Lockdep checks this in the debug tier: an
	 * allocation under the lock records lock -> fs_reclaim, so a future
	 * reclaim path taking it would be reported as an inversion.
	 */
	struct mutex lock;
	struct drm_mm mm;
	struct knpu_pt root;
	atomic64_t busy_ns;
	atomic64_t pinned_bytes;
};

/* Index into the level-@level table (0 is the root) for @va. */
static inline unsigned int knpu_va_index(u64 va, unsigned int level)
{
	unsigned int shift = KNPU_PT_SHIFT_L3 +
			     KNPU_PT_BITS_PER_LEVEL * (KNPU_PT_LEVELS - 1 - level);

	return (va >> shift) & (KNPU_PT_ENTRIES - 1);
}

/* An L0, L1 or L2 entry pointing at a next-level table. */
static inline u64 knpu_pte_table(dma_addr_t table)
{
	return FIELD_PREP(KNPU_PTE_ADDR, (u64)table >> KNPU_PT_SHIFT_L3) | KNPU_PTE_VALID;
}

/* Leaf permission bits: device reads always, writes unless @readonly. */
static inline u64 knpu_pte_prot(bool readonly)
{
	return readonly ? KNPU_PTE_READ : KNPU_PTE_READ | KNPU_PTE_WRITE;
}

/* An L3 entry mapping the 4 KiB page at bus address @addr. */
static inline u64 knpu_pte_page(dma_addr_t addr, u64 prot)
{
	return FIELD_PREP(KNPU_PTE_ADDR, (u64)addr >> KNPU_PT_SHIFT_L3) |
	       (prot & (KNPU_PTE_READ | KNPU_PTE_WRITE | KNPU_PTE_DEVMEM)) |
	       KNPU_PTE_VALID;
}

/* An L2 entry mapping the 2 MiB block at @addr (2 MiB aligned). */
static inline u64 knpu_pte_block(dma_addr_t addr, u64 prot)
{
	return knpu_pte_page(addr, prot) | KNPU_PTE_BLOCK;
}

/*
 * The leaf to map @va to @addr with when @remaining bytes are left: a 2 MiB
 * block when the device has large pages and both are 2 MiB aligned with a
 * whole block left, else a 4 KiB page.
 */
static inline u64 knpu_mmu_leaf_size(u64 va, u64 addr, u64 remaining, bool large_pages)
{
	if (large_pages && IS_ALIGNED(va | addr, KNPU_BLOCK_SIZE) &&
	    remaining >= KNPU_BLOCK_SIZE)
		return KNPU_BLOCK_SIZE;
	return KNPU_PAGE_SIZE;
}

static inline u64 knpu_pte_addr(u64 pte)
{
	return FIELD_GET(KNPU_PTE_ADDR, pte) << KNPU_PT_SHIFT_L3;
}

struct knpu_context *knpu_context_create(struct knpu_device *kdev);
void knpu_context_release(struct kref *ref);
void knpu_contexts_unplug(struct knpu_device *kdev);

static inline struct knpu_context *knpu_context_get(struct knpu_context *ctx)
{
	kref_get(&ctx->ref);
	return ctx;
}

static inline void knpu_context_put(struct knpu_context *ctx)
{
	kref_put(&ctx->ref, knpu_context_release);
}

int knpu_context_map_locked(struct knpu_context *ctx, u64 va,
			    struct sg_table *sgt, u64 prot);
int knpu_context_map_range_locked(struct knpu_context *ctx, u64 va, u64 addr,
				  u64 size, u64 prot);
void knpu_context_unmap_locked(struct knpu_context *ctx, u64 va, u64 size);

#endif /* __KNPU_MMU_H__ */
