/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 */

#ifndef __KNPU_FENCE_H__
#define __KNPU_FENCE_H__

#include <linux/dma-fence.h>
#include <linux/types.h>

struct knpu_job;
struct knpu_queue;

struct dma_fence *knpu_hw_fence_alloc(void);
void knpu_hw_fence_free_unused(struct dma_fence *fence);
void knpu_hw_fence_init(struct dma_fence *fence, struct knpu_queue *queue, u64 seqno);
void knpu_hw_fence_adopt_unrun(struct knpu_job *job);

#endif /* __KNPU_FENCE_H__ */
