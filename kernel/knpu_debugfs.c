// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * debugfs, under /sys/kernel/debug/accel/<PCI address>/: the hardware
 * queues, the address spaces and the device's registers, and fault
 * injection for tests. For developers; the format may change
 * (docs/npu-smi.md describes it).
 *
 * Fault injection: Debian's kernels are built without
 * CONFIG_FAULT_INJECTION, so the faults are plain counters rather than
 * fault_attr: writing N to inject_<fault> makes the next N chances fail
 * (knpu_inject_fault()); reading it gives how many are still armed.
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_drv.h>
#include <drm/drm_mm.h>

#include "knpu_debugfs.h"
#include "knpu_fdinfo.h"
#include "knpu_hw.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_queue.h"
#include "knpu_mmu.h"

static struct knpu_device *knpu_debugfs_kdev(struct seq_file *m)
{
	struct drm_debugfs_entry *entry = m->private;

	return to_knpu_device(entry->dev);
}

/* One line about a hardware queue; its lock held. */
static void knpu_debugfs_hwq_locked(struct seq_file *m, struct knpu_hw_queue *hwq,
				    bool present)
{
	struct knpu_queue *queue = hwq->queue;

	lockdep_assert_held(&hwq->lock);

	seq_printf(m, "hwq %2u: ", hwq->id);
	if (!queue) {
		seq_puts(m, "free\n");
		return;
	}
	seq_printf(m, "queue %u asid %u priority %u %s ring head %u tail %u in_flight %u completed %llu submitted %llu",
		   queue->id, queue->ctx->asid, queue->priority,
		   queue->banned ? "banned" : "active", hwq->head, hwq->tail,
		   (hwq->tail - hwq->head) % KNPU_RING_SIZE, queue->completed_seqno,
		   READ_ONCE(queue->last_seqno));
	if (queue->banned)
		seq_printf(m, " error 0x%x at %llu addr 0x%llx", queue->error,
			   queue->error_seqno, queue->error_addr);
	if (present)
		seq_printf(m, " | device head %u tail %u status 0x%x",
			   readl(hwq->regs + KNPU_Q_HEAD), readl(hwq->regs + KNPU_Q_TAIL),
			   readl(hwq->regs + KNPU_Q_STATUS));
	seq_putc(m, '\n');
}

static int knpu_debugfs_queues(struct seq_file *m, void *unused)
{
	struct knpu_device *kdev = knpu_debugfs_kdev(m);
	bool present;
	int idx;
	u32 q;

	present = drm_dev_enter(&kdev->drm, &idx);
	for (q = 0; q < kdev->info.num_queues; q++) {
		struct knpu_hw_queue *hwq = &kdev->hwq[q];

		spin_lock_irq(&hwq->lock);
		knpu_debugfs_hwq_locked(m, hwq, present);
		spin_unlock_irq(&hwq->lock);
	}
	if (present)
		drm_dev_exit(idx);

	return 0;
}

/* Page tables under @pt (a level-@level table), @pt included. */
static unsigned long knpu_debugfs_pt_pages(const struct knpu_pt *pt, unsigned int level)
{
	unsigned long pages = 1;
	unsigned int i;

	if (level == KNPU_PT_LEVELS - 1 || !pt->children)
		return pages;

	for (i = 0; i < KNPU_PT_ENTRIES; i++)
		if (pt->children[i])
			pages += knpu_debugfs_pt_pages(pt->children[i], level + 1);
	return pages;
}

static void knpu_debugfs_context(struct seq_file *m, struct knpu_context *ctx)
{
	struct drm_mm_node *node;
	u64 mapped = 0;

	guard(mutex)(&ctx->lock);

	/* The same busy time as fdinfo's: running jobs included. */
	seq_printf(m, "asid %u: page-table pages %lu busy_ns %llu\n", ctx->asid,
		   knpu_debugfs_pt_pages(&ctx->root, 0), knpu_busy_ns(ctx));
	drm_mm_for_each_node(node, &ctx->mm) {
		seq_printf(m, "  0x%012llx-0x%012llx %llu KiB\n", node->start,
			   node->start + node->size, node->size / SZ_1K);
		mapped += node->size;
	}
	seq_printf(m, "  mapped %llu KiB\n", mapped / SZ_1K);
}

static int knpu_debugfs_contexts(struct seq_file *m, void *unused)
{
	struct knpu_device *kdev = knpu_debugfs_kdev(m);
	struct knpu_context *ctx;
	unsigned long asid;
	bool alive;

	/* A context whose last reference is being dropped is skipped. */
	for (asid = 0; ; asid++) {
		xa_lock(&kdev->asid_xa);
		ctx = xa_find(&kdev->asid_xa, &asid, ULONG_MAX, XA_PRESENT);
		alive = ctx && kref_get_unless_zero(&ctx->ref);
		xa_unlock(&kdev->asid_xa);
		if (!ctx)
			break;
		if (alive) {
			knpu_debugfs_context(m, ctx);
			knpu_context_put(ctx);
		}
	}

	return 0;
}

#define KNPU_DEBUGFS_REG(_name) { #_name, KNPU_REG_##_name }

static const struct {
	const char *name;
	u32 reg;
} knpu_debugfs_regs[] = {
	KNPU_DEBUGFS_REG(ID),
	KNPU_DEBUGFS_REG(HW_VERSION),
	KNPU_DEBUGFS_REG(FW_VERSION),
	KNPU_DEBUGFS_REG(CONFIG0),
	KNPU_DEBUGFS_REG(FEATURES),
	KNPU_DEBUGFS_REG(DEV_CTRL),
	KNPU_DEBUGFS_REG(DEV_STATUS),
	KNPU_DEBUGFS_REG(EVENT_STATUS),
	KNPU_DEBUGFS_REG(EVENT_MASK),
	KNPU_DEBUGFS_REG(MMU_CTRL),
	KNPU_DEBUGFS_REG(MMU_FAULT_COUNT),
	KNPU_DEBUGFS_REG(TEMP),
	KNPU_DEBUGFS_REG(POWER),
	KNPU_DEBUGFS_REG(CLOCK),
	KNPU_DEBUGFS_REG(ERR_CORRECTABLE),
	KNPU_DEBUGFS_REG(ERR_UNCORRECTABLE),
};

static int knpu_debugfs_registers(struct seq_file *m, void *unused)
{
	struct knpu_device *kdev = knpu_debugfs_kdev(m);
	unsigned int i;
	int idx;
	u32 q;

	if (!drm_dev_enter(&kdev->drm, &idx))
		return -ENODEV;

	for (i = 0; i < ARRAY_SIZE(knpu_debugfs_regs); i++)
		seq_printf(m, "0x%04x %-18s 0x%08x\n", knpu_debugfs_regs[i].reg,
			   knpu_debugfs_regs[i].name, knpu_rd(kdev, knpu_debugfs_regs[i].reg));

	for (q = 0; q < kdev->info.num_queues; q++) {
		void __iomem *regs = kdev->hwq[q].regs;

		seq_printf(m, "0x%04x Q%-2u status 0x%08x config 0x%08x head %u tail %u error 0x%x\n",
			   KNPU_REG_Q_BASE(q), q, readl(regs + KNPU_Q_STATUS),
			   readl(regs + KNPU_Q_CONFIG), readl(regs + KNPU_Q_HEAD),
			   readl(regs + KNPU_Q_TAIL), readl(regs + KNPU_Q_ERROR));
	}

	drm_dev_exit(idx);
	return 0;
}

static const struct drm_debugfs_info knpu_debugfs_list[] = {
	{ "queues", knpu_debugfs_queues },
	{ "contexts", knpu_debugfs_contexts },
	{ "registers", knpu_debugfs_registers },
};

/* The faults of &struct knpu_inject, each as inject_<name>. */
static void knpu_debugfs_inject_init(struct knpu_device *kdev)
{
	struct dentry *root = kdev->drm.debugfs_root;

	debugfs_create_atomic_t("inject_submit_error", 0600, root, &kdev->inject.submit_error);
	debugfs_create_atomic_t("inject_lost_doorbell", 0600, root, &kdev->inject.lost_doorbell);
	debugfs_create_atomic_t("inject_device_error", 0600, root, &kdev->inject.device_error);
}

/**
 * knpu_debugfs_init() - add the driver's debugfs files
 * @kdev: the device, not registered yet (its debugfs directory exists)
 */
void knpu_debugfs_init(struct knpu_device *kdev)
{
	drm_debugfs_add_files(&kdev->drm, knpu_debugfs_list, ARRAY_SIZE(knpu_debugfs_list));
	knpu_debugfs_inject_init(kdev);
}
