// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * KUnit tests of the queue and job paths, from the ioctls through the
 * scheduler to the interrupt handlers, against an emulated device: a
 * register file in memory, and the test playing the device's part by
 * reading descriptors from the ring, writing the completion fence and
 * calling the interrupt handlers with interrupts off.
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/dma-fence-chain.h>
#include <linux/irqflags.h>
#include <linux/mman.h>
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_managed.h>
#include <drm/drm_syncobj.h>
#include <drm/knpu_accel.h>

#include "../knpu_hw.h"
#include "../knpu_hwq.h"
#include "../knpu_job.h"
#include "../knpu_mmu.h"
#include "../knpu_queue.h"
#include "../knpu_reset.h"

#define KNPU_TEST_QUEUES	2
#define KNPU_TEST_PROGRAM_VA	(KNPU_VA_START + SZ_64K)
#define KNPU_TEST_ARGS_VA	(KNPU_VA_START + SZ_128K)

struct knpu_job_test {
	struct knpu_device *kdev;
	u32 *regs;
	struct knpu_file_priv fpriv;
	struct drm_file file;
	unsigned int saved_timeout_ms;
};

static const struct drm_driver knpu_test_driver = {
	.driver_features = DRIVER_GEM | DRIVER_COMPUTE_ACCEL,
	.name = "knpu-test",
	.desc = "knpu KUnit",
};

static u32 *knpu_test_qreg(struct knpu_job_test *t, u32 q, u32 reg)
{
	return &t->regs[(KNPU_REG_Q_BASE(q) + reg) / 4];
}

static int knpu_job_test_init(struct kunit *test)
{
	struct knpu_job_test *t;
	struct knpu_device *kdev;
	struct device *dev;
	u32 q;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->regs = kunit_kzalloc(test, SZ_64K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->regs);

	dev = kunit_device_register(test, "knpu-job-test");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(52)), 0);

	kdev = devm_drm_dev_alloc(dev, &knpu_test_driver, struct knpu_device, drm);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, kdev);
	KUNIT_ASSERT_EQ(test, drmm_mutex_init(&kdev->drm, &kdev->hwq_lock), 0);
	xa_init_flags(&kdev->asid_xa, XA_FLAGS_ALLOC);
	kdev->regs = (__force void __iomem *)t->regs;
	kdev->info.num_cores = 1;
	kdev->info.num_queues = KNPU_TEST_QUEUES;
	kdev->info.num_asids = 4;
	kdev->info.va_bits = KNPU_VA_BITS;
	KUNIT_ASSERT_EQ(test, knpu_reset_init(kdev), 0);
	KUNIT_ASSERT_EQ(test, knpu_hwq_init_all(kdev), 0);
	t->kdev = kdev;

	/* A reset of this device completes at once. */
	t->regs[KNPU_REG_ID / 4] = KNPU_ID_MAGIC;
	t->regs[KNPU_REG_DEV_STATUS / 4] = KNPU_DEV_STATUS_READY;

	/* Enabling a queue always works on this device. */
	for (q = 0; q < KNPU_TEST_QUEUES; q++)
		*knpu_test_qreg(t, q, KNPU_Q_STATUS) = KNPU_Q_STATUS_ENABLED;

	t->fpriv.kdev = kdev;
	xa_init_flags(&t->fpriv.queues, XA_FLAGS_ALLOC1);
	t->fpriv.ctx = knpu_context_create(kdev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->fpriv.ctx);
	t->file.driver_priv = &t->fpriv;

	t->saved_timeout_ms = knpu_job_timeout_ms;
	test->priv = t;
	return 0;
}

/*
 * The scheduler frees finished jobs from its own work item and the jobs drop
 * their context references from knpu_cleanup_wq, so the last context may go
 * a little after the queues are destroyed.
 */
static void knpu_test_wait_contexts_released(struct kunit *test, struct knpu_job_test *t)
{
	int i;

	for (i = 0; i < 100 && !xa_empty(&t->kdev->asid_xa); i++) {
		flush_workqueue(knpu_cleanup_wq);
		usleep_range(10000, 20000);
	}
	KUNIT_EXPECT_TRUE(test, xa_empty(&t->kdev->asid_xa));
}

static void knpu_job_test_exit(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;

	knpu_queue_destroy_all(&t->fpriv);
	xa_destroy(&t->fpriv.queues);
	knpu_context_put(t->fpriv.ctx);
	knpu_test_wait_contexts_released(test, t);
	knpu_job_timeout_ms = t->saved_timeout_ms;
}

static u32 knpu_test_queue(struct kunit *test, u32 priority)
{
	struct knpu_job_test *t = test->priv;
	struct drm_knpu_queue_create args = { .priority = priority };

	KUNIT_ASSERT_EQ(test, knpu_queue_create_ioctl(&t->kdev->drm, &args, &t->file), 0);
	return args.queue_id;
}

static int knpu_test_submit(struct kunit *test, u32 queue_id, u64 *seqno)
{
	struct knpu_job_test *t = test->priv;
	struct drm_knpu_submit args = {
		.queue_id = queue_id,
		.program_va = KNPU_TEST_PROGRAM_VA,
		.program_size = 24,
		.args_va = KNPU_TEST_ARGS_VA,
		.args_size = 8,
	};
	int ret;

	ret = knpu_submit_ioctl(&t->kdev->drm, &args, &t->file);
	if (!ret && seqno)
		*seqno = args.seqno;
	return ret;
}

static int knpu_test_wait(struct kunit *test, u32 queue_id, u64 seqno,
			  struct drm_knpu_wait *w, unsigned int ms)
{
	struct knpu_job_test *t = test->priv;

	*w = (struct drm_knpu_wait) {
		.queue_id = queue_id,
		.seqno = seqno,
		.timeout_ns = ms ? ktime_get_ns() + (u64)ms * NSEC_PER_MSEC : 0,
	};
	return knpu_wait_ioctl(&t->kdev->drm, w, &t->file);
}

/* The hardware queue the file's queue @queue_id is bound to. */
static struct knpu_hw_queue *knpu_test_hwq(struct kunit *test, u32 queue_id)
{
	struct knpu_job_test *t = test->priv;
	struct knpu_queue *queue = xa_load(&t->fpriv.queues, queue_id);

	KUNIT_ASSERT_NOT_NULL(test, queue);
	return queue->hwq;
}

/* Waits until the driver has moved @hwq's tail to @tail. */
static void knpu_test_wait_tail(struct kunit *test, struct knpu_hw_queue *hwq, u32 tail)
{
	struct knpu_job_test *t = test->priv;
	int i;

	for (i = 0; i < 500; i++) {
		if (READ_ONCE(*knpu_test_qreg(t, hwq->id, KNPU_Q_TAIL)) == tail)
			return;
		usleep_range(1000, 2000);
	}
	KUNIT_FAIL(test, "tail of hardware queue %u is %u, want %u", hwq->id,
		   *knpu_test_qreg(t, hwq->id, KNPU_Q_TAIL), tail);
}

/* The device's part: raise the queue's interrupt with @irq_status. */
static irqreturn_t knpu_test_irq(struct knpu_job_test *t, struct knpu_hw_queue *hwq,
				 u32 irq_status)
{
	unsigned long flags;
	irqreturn_t ret;

	*knpu_test_qreg(t, hwq->id, KNPU_Q_IRQ_STATUS) = irq_status;
	local_irq_save(flags);
	ret = knpu_hwq_irq(0, hwq);
	local_irq_restore(flags);
	if (ret == IRQ_WAKE_THREAD)
		knpu_hwq_irq_thread(0, hwq);
	return ret;
}

static void knpu_test_complete(struct knpu_job_test *t, struct knpu_hw_queue *hwq,
			       u64 fence)
{
	WRITE_ONCE(*hwq->fence_cpu, cpu_to_le64(fence));
	knpu_test_irq(t, hwq, KNPU_Q_IRQ_COMPLETE);
}

static void knpu_test_job_complete(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct knpu_hw_queue *hwq;
	struct drm_knpu_wait w;
	struct knpu_hw_desc *d;
	u32 q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_HIGH);
	u64 seqno;

	hwq = knpu_test_hwq(test, q);
	/* 5.2: the queue was set up with the file's ASID and the priority. */
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_CTRL), KNPU_Q_CTRL_ENABLE);
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_CONFIG),
			FIELD_PREP(KNPU_Q_CONFIG_ASID, t->fpriv.ctx->asid) |
			FIELD_PREP(KNPU_Q_CONFIG_PRIORITY, KNPU_QUEUE_PRIORITY_HIGH));
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_RING_SIZE), KNPU_RING_SIZE);
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_RING_BASE_LO),
			lower_32_bits(hwq->ring_dma));
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_FENCE_ADDR_LO),
			lower_32_bits(hwq->fence_dma));

	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, &seqno), 0);
	KUNIT_EXPECT_EQ(test, seqno, 1ULL);
	knpu_test_wait_tail(test, hwq, 1);

	d = &hwq->ring[0];
	KUNIT_EXPECT_EQ(test, le16_to_cpu(d->type), KNPU_DESC_TYPE_KERNEL);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(d->flags), KNPU_DESC_FLAG_IRQ);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(d->program_va), KNPU_TEST_PROGRAM_VA);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(d->program_size), 24U);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(d->args_va), KNPU_TEST_ARGS_VA);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(d->fence_value), seqno);

	/* Not done yet: a poll answers -ETIME. */
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, seqno, &w, 0), -ETIME);

	knpu_test_complete(t, hwq, seqno);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, seqno, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
	KUNIT_EXPECT_EQ(test, w.error, KNPU_ERR_NONE);
	/* The interrupt status was acknowledged (W1C). */
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_IRQ_STATUS), KNPU_Q_IRQ_COMPLETE);

	/* An interrupt with nothing pending is not ours. */
	KUNIT_EXPECT_EQ(test, knpu_test_irq(t, hwq, 0), IRQ_NONE);
	KUNIT_EXPECT_EQ(test, knpu_test_irq(t, hwq, U32_MAX), IRQ_NONE);
}

static void knpu_test_job_batch(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	u32 q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	struct knpu_hw_queue *hwq = knpu_test_hwq(test, q);
	struct drm_knpu_queue_status st = { .queue_id = q };
	struct drm_knpu_wait w;
	u64 seqno, i;

	for (i = 1; i <= 10; i++) {
		KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, &seqno), 0);
		KUNIT_EXPECT_EQ(test, seqno, i);
	}
	knpu_test_wait_tail(test, hwq, 10);

	/* One fence write completes every job up to it. */
	knpu_test_complete(t, hwq, 6);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 6, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 7, &w, 0), -ETIME);
	KUNIT_EXPECT_EQ(test, knpu_queue_status_ioctl(&t->kdev->drm, &st, &t->file), 0);
	KUNIT_EXPECT_EQ(test, st.completed_seqno, 6ULL);
	KUNIT_EXPECT_EQ(test, st.state, KNPU_QUEUE_STATE_ACTIVE);

	knpu_test_complete(t, hwq, 10);
	for (i = 1; i <= 10; i++) {
		KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, i, &w, 1000), 0);
		KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
	}
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 11, &w, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 0, &w, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q + 1, 1, &w, 0), -ENOENT);
}

static void knpu_test_job_error(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	u32 q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	u32 q2 = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	struct knpu_hw_queue *hwq = knpu_test_hwq(test, q);
	struct drm_knpu_queue_status st = { .queue_id = q };
	struct drm_knpu_wait w;
	u64 seqno;
	int i;

	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, &seqno), 0);
	knpu_test_wait_tail(test, hwq, 3);

	/* Job 1 completes, job 2 faults (5.4): the device stops the queue. */
	WRITE_ONCE(*hwq->fence_cpu, cpu_to_le64(1));
	*knpu_test_qreg(t, hwq->id, KNPU_Q_STATUS) |= KNPU_Q_STATUS_ERROR;
	*knpu_test_qreg(t, hwq->id, KNPU_Q_ERROR) = KNPU_ERR_MMU_FAULT;
	*knpu_test_qreg(t, hwq->id, KNPU_Q_ERROR_ADDR_LO) = 0xdead000;
	*knpu_test_qreg(t, hwq->id, KNPU_Q_ERROR_ADDR_HI) = 0x1;
	KUNIT_EXPECT_EQ(test, knpu_test_irq(t, hwq, KNPU_Q_IRQ_ERROR), IRQ_WAKE_THREAD);
	/* The hardware queue was reset. */
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_CTRL), KNPU_Q_CTRL_RESET);
	*knpu_test_qreg(t, hwq->id, KNPU_Q_STATUS) &= ~KNPU_Q_STATUS_ERROR;

	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 1, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 2, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_FAILED);
	KUNIT_EXPECT_EQ(test, w.error, KNPU_ERR_MMU_FAULT);
	KUNIT_EXPECT_EQ(test, w.error_addr, 0x10dead000ULL);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 3, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_CANCELED);
	KUNIT_EXPECT_EQ(test, w.error, KNPU_ERR_NONE);

	KUNIT_EXPECT_EQ(test, knpu_queue_status_ioctl(&t->kdev->drm, &st, &t->file), 0);
	KUNIT_EXPECT_EQ(test, st.state, KNPU_QUEUE_STATE_BANNED);
	KUNIT_EXPECT_EQ(test, st.error, KNPU_ERR_MMU_FAULT);
	KUNIT_EXPECT_EQ(test, st.error_seqno, 2ULL);
	KUNIT_EXPECT_EQ(test, st.completed_seqno, 3ULL);
	KUNIT_EXPECT_EQ(test, knpu_test_submit(test, q, NULL), -ECANCELED);

	/* The other queue is not affected. */
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q2, &seqno), 0);
	hwq = knpu_test_hwq(test, q2);
	knpu_test_wait_tail(test, hwq, 1);
	knpu_test_complete(t, hwq, seqno);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q2, seqno, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
}

static void knpu_test_job_timeout(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct knpu_hw_queue *hwq;
	struct drm_knpu_wait w;
	u64 seqno;
	u32 q;

	knpu_job_timeout_ms = 100;
	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_LOW);
	hwq = knpu_test_hwq(test, q);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, &seqno), 0);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, NULL), 0);
	knpu_test_wait_tail(test, hwq, 2);

	/* The device never completes: the scheduler's timeout resets the queue. */
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, seqno, &w, 5000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_FAILED);
	KUNIT_EXPECT_EQ(test, w.error, KNPU_ERR_TIMEOUT);
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_CTRL), KNPU_Q_CTRL_RESET);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, seqno + 1, &w, 5000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_CANCELED);
	KUNIT_EXPECT_EQ(test, knpu_test_submit(test, q, NULL), -ECANCELED);
}

static void knpu_test_queue_lifecycle(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct drm_knpu_queue_create qc = { .priority = KNPU_QUEUE_PRIORITY_NORMAL };
	struct drm_knpu_queue_destroy qd = { 0 };
	struct drm_device *drm = &t->kdev->drm;
	struct knpu_hw_queue *hwq;
	struct drm_knpu_wait w;
	u32 q[KNPU_TEST_QUEUES];
	u64 seqno;
	int i;

	for (i = 0; i < KNPU_TEST_QUEUES; i++)
		q[i] = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	KUNIT_EXPECT_EQ(test, knpu_queue_create_ioctl(drm, &qc, &t->file), -EBUSY);

	/* A queue is destroyed only once its jobs are done. */
	hwq = knpu_test_hwq(test, q[0]);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q[0], &seqno), 0);
	knpu_test_wait_tail(test, hwq, 1);
	knpu_test_complete(t, hwq, seqno);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q[0], seqno, &w, 1000), 0);
	qd.queue_id = q[0];
	KUNIT_EXPECT_EQ(test, knpu_queue_destroy_ioctl(drm, &qd, &t->file), 0);
	KUNIT_EXPECT_EQ(test, knpu_queue_destroy_ioctl(drm, &qd, &t->file), -ENOENT);
	KUNIT_EXPECT_EQ(test, knpu_test_submit(test, q[0], NULL), -ENOENT);
	KUNIT_EXPECT_NULL(test, hwq->queue);

	/* Its hardware queue is free again. */
	KUNIT_EXPECT_EQ(test, knpu_queue_create_ioctl(drm, &qc, &t->file), 0);
	KUNIT_EXPECT_PTR_EQ(test, knpu_test_hwq(test, qc.queue_id), hwq);

	/* Argument checks */
	qc.pad = 1;
	KUNIT_EXPECT_EQ(test, knpu_queue_create_ioctl(drm, &qc, &t->file), -EINVAL);
	qc.pad = 0;
	qc.priority = KNPU_QUEUE_PRIORITY_REALTIME + 1;
	KUNIT_EXPECT_EQ(test, knpu_queue_create_ioctl(drm, &qc, &t->file), -EINVAL);
	qd.pad = 1;
	KUNIT_EXPECT_EQ(test, knpu_queue_destroy_ioctl(drm, &qd, &t->file), -EINVAL);
}

static void knpu_test_submit_checks(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	u32 q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	struct drm_device *drm = &t->kdev->drm;
	const struct drm_knpu_submit good = {
		.queue_id = q,
		.program_va = KNPU_TEST_PROGRAM_VA,
		.program_size = 24,
		.args_va = KNPU_TEST_ARGS_VA,
		.args_size = 8,
	};
	struct knpu_hw_queue *hwq;
	struct drm_knpu_submit s;

#define KNPU_EXPECT_SUBMIT(field, value, err)				\
	do {								\
		s = good;						\
		s.field = value;					\
		KUNIT_EXPECT_EQ_MSG(test, knpu_submit_ioctl(drm, &s, &t->file), err, \
				    #field " = " #value);		\
	} while (0)

	KNPU_EXPECT_SUBMIT(flags, BIT(5), -EINVAL);
	KNPU_EXPECT_SUBMIT(fence_fd, 7, -EINVAL);
	KNPU_EXPECT_SUBMIT(program_size, 0, -EINVAL);
	KNPU_EXPECT_SUBMIT(program_size, 6, -EINVAL);
	KNPU_EXPECT_SUBMIT(program_size, KNPU_MAX_PROGRAM_SIZE + 4, -EINVAL);
	KNPU_EXPECT_SUBMIT(program_va, KNPU_TEST_PROGRAM_VA + 2, -EINVAL);
	KNPU_EXPECT_SUBMIT(program_va, U64_MAX - 3, -EINVAL);
	KNPU_EXPECT_SUBMIT(args_size, 12, -EINVAL);
	KNPU_EXPECT_SUBMIT(args_size, KNPU_MAX_ARGS_SIZE + 8, -EINVAL);
	KNPU_EXPECT_SUBMIT(args_va, KNPU_TEST_ARGS_VA + 4, -EINVAL);
	KNPU_EXPECT_SUBMIT(bo_count, KNPU_MAX_SUBMIT_BOS + 1, -EINVAL);
	KNPU_EXPECT_SUBMIT(in_sync_count, KNPU_MAX_SUBMIT_SYNCS + 1, -EINVAL);
	KNPU_EXPECT_SUBMIT(out_sync_count, KNPU_MAX_SUBMIT_SYNCS + 1, -EINVAL);
	KNPU_EXPECT_SUBMIT(queue_id, q + 100, -ENOENT);
#undef KNPU_EXPECT_SUBMIT

	/* Without arguments the table address is not looked at. */
	s = good;
	s.args_size = 0;
	s.args_va = 3;
	KUNIT_ASSERT_EQ(test, knpu_submit_ioctl(drm, &s, &t->file), 0);
	hwq = knpu_test_hwq(test, q);
	knpu_test_wait_tail(test, hwq, 1);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(hwq->ring[0].args_va), 0ULL);
	knpu_test_complete(t, hwq, s.seqno);
}

/* User memory for @count entries of @stride bytes, each a copy of @entry. */
static void __user *knpu_test_batch_entries(struct kunit *test,
					    const struct drm_knpu_submit *entry,
					    u32 count, u32 stride)
{
	unsigned long user;
	u32 i;

	user = kunit_vm_mmap(test, NULL, 0, PAGE_ALIGN(count * stride),
			     PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, user, 0UL, "no user memory");
	for (i = 0; i < count; i++)
		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)(user + i * stride), entry,
						   sizeof(*entry)), 0UL);
	return (void __user *)user;
}

/* The entry at @index of @entries, @stride bytes apart, as userspace sees it. */
static struct drm_knpu_submit knpu_test_batch_entry(struct kunit *test, void __user *entries,
						    u32 index, u32 stride)
{
	struct drm_knpu_submit entry;

	KUNIT_ASSERT_EQ(test, copy_from_user(&entry, entries + index * stride, sizeof(entry)),
			0UL);
	return entry;
}

/* A batch is submitted in array order; each entry gets its own seqno back. */
static void knpu_test_submit_batch(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	u32 q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	struct knpu_hw_queue *hwq = knpu_test_hwq(test, q);
	const struct drm_knpu_submit entry = {
		.queue_id = q,
		.program_va = KNPU_TEST_PROGRAM_VA,
		.program_size = 24,
		.args_va = KNPU_TEST_ARGS_VA,
		.args_size = 8,
	};
	/* A newer userspace's larger entries, their unknown tail zero. */
	const u32 stride = sizeof(entry) + 16;
	void __user *entries = knpu_test_batch_entries(test, &entry, 3, stride);
	struct drm_knpu_submit_batch batch = {
		.submits = (uintptr_t)entries,
		.count = 3,
		.stride = stride,
	};
	struct drm_knpu_wait w;
	u32 i;

	KUNIT_ASSERT_EQ(test, knpu_submit_batch_ioctl(&t->kdev->drm, &batch, &t->file), 0);
	KUNIT_EXPECT_EQ(test, batch.submitted, 3U);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, knpu_test_batch_entry(test, entries, i, stride).seqno, i + 1);
	knpu_test_wait_tail(test, hwq, 3);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, le64_to_cpu(hwq->ring[i].fence_value), (u64)i + 1);

	knpu_test_complete(t, hwq, 3);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 3, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
}

/*
 * A failing entry stops the batch there: those before it are in flight,
 * it and those after it were not submitted.
 */
static void knpu_test_submit_batch_stops(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	u32 q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	struct knpu_hw_queue *hwq = knpu_test_hwq(test, q);
	struct drm_device *drm = &t->kdev->drm;
	const u32 stride = sizeof(struct drm_knpu_submit);
	struct drm_knpu_submit entry = {
		.queue_id = q,
		.program_va = KNPU_TEST_PROGRAM_VA,
		.program_size = 24,
	};
	void __user *entries = knpu_test_batch_entries(test, &entry, 4, stride);
	const struct drm_knpu_submit_batch good = {
		.submits = (uintptr_t)entries,
		.count = 4,
		.stride = stride,
	};
	struct drm_knpu_submit_batch batch;
	struct drm_knpu_wait w;
	u64 tail_byte = 1;

	entry.program_size = 6;
	KUNIT_ASSERT_EQ(test, copy_to_user(entries + 2 * stride, &entry, sizeof(entry)), 0UL);
	batch = good;
	KUNIT_EXPECT_EQ(test, knpu_submit_batch_ioctl(drm, &batch, &t->file), -EINVAL);
	KUNIT_EXPECT_EQ(test, batch.submitted, 2U);
	KUNIT_EXPECT_EQ(test, knpu_test_batch_entry(test, entries, 1, stride).seqno, 2ULL);
	KUNIT_EXPECT_EQ(test, knpu_test_batch_entry(test, entries, 3, stride).seqno, 0ULL);
	knpu_test_wait_tail(test, hwq, 2);
	knpu_test_complete(t, hwq, 2);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 2, &w, 1000), 0);

	/* An entry with a non-zero byte past the struct this kernel knows. */
	batch = good;
	batch.count = 1;
	batch.stride = stride + 8;
	KUNIT_ASSERT_EQ(test, copy_to_user(entries + stride, &tail_byte, sizeof(tail_byte)), 0UL);
	KUNIT_EXPECT_EQ(test, knpu_submit_batch_ioctl(drm, &batch, &t->file), -E2BIG);
	KUNIT_EXPECT_EQ(test, batch.submitted, 0U);

	/* The first entry failing: nothing goes in. */
	batch = good;
	batch.submits = (uintptr_t)(entries + 2 * stride);
	KUNIT_EXPECT_EQ(test, knpu_submit_batch_ioctl(drm, &batch, &t->file), -EINVAL);
	KUNIT_EXPECT_EQ(test, batch.submitted, 0U);

#define KNPU_EXPECT_BATCH(field, value)					\
	do {								\
		batch = good;						\
		batch.submitted = 7;					\
		batch.field = value;					\
		KUNIT_EXPECT_EQ_MSG(test, knpu_submit_batch_ioctl(drm, &batch, &t->file), \
				    -EINVAL, #field " = " #value);	\
		KUNIT_EXPECT_EQ(test, batch.submitted, 0U);		\
	} while (0)

	KNPU_EXPECT_BATCH(count, 0);
	KNPU_EXPECT_BATCH(count, KNPU_MAX_BATCH_SUBMITS + 1);
	KNPU_EXPECT_BATCH(stride, KNPU_SUBMIT_SIZE_VER0 - 8);
	KNPU_EXPECT_BATCH(stride, stride + 4);
	KNPU_EXPECT_BATCH(stride, KNPU_MAX_BATCH_STRIDE + 8);
	KNPU_EXPECT_BATCH(pad, 1);
#undef KNPU_EXPECT_BATCH

	/* Nothing went in after the first two entries. */
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 3, &w, 0), -EINVAL);
}

/*
 * A job completes just as the timeout fires, its interrupt still pending:
 * nothing of the queue may be reset, canceled or freed.
 */
static void knpu_test_false_timeout(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct knpu_hw_queue *hwq;
	struct drm_knpu_wait w;
	u32 q;

	knpu_job_timeout_ms = 400;
	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq = knpu_test_hwq(test, q);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, NULL), 0);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, NULL), 0);
	knpu_test_wait_tail(test, hwq, 2);

	/* Job 1 is done but its interrupt comes only after the timeout. */
	WRITE_ONCE(*hwq->fence_cpu, cpu_to_le64(1));
	msleep(knpu_job_timeout_ms * 3 / 2);

	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 1, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
	/* Job 2 is still on the device: it must not be finished (or freed). */
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 2, &w, 0), -ETIME);
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_CTRL), KNPU_Q_CTRL_ENABLE);

	knpu_test_complete(t, hwq, 2);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 2, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
}

/*
 * A hung head job is found after the timeout even while the file keeps
 * submitting: the timeout measures the head's progress, not the newest job.
 */
static void knpu_test_hang_busy_submitter(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct knpu_hw_queue *hwq;
	struct drm_knpu_wait w;
	u32 q;
	int i;

	knpu_job_timeout_ms = 200;
	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq = knpu_test_hwq(test, q);
	for (i = 0; i < 24; i++) {
		if (knpu_test_submit(test, q, NULL))
			break;
		msleep(knpu_job_timeout_ms / 4);
	}

	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 1, &w, 0), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_FAILED);
	KUNIT_EXPECT_EQ(test, w.error, KNPU_ERR_TIMEOUT);
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_CTRL), KNPU_Q_CTRL_RESET);
}

/* A head job that makes progress is not timed out by the age of the queue. */
static void knpu_test_timeout_progress(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct knpu_hw_queue *hwq;
	struct drm_knpu_wait w;
	u32 q;

	knpu_job_timeout_ms = 1000;
	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq = knpu_test_hwq(test, q);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, NULL), 0);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, NULL), 0);
	knpu_test_wait_tail(test, hwq, 2);

	msleep(knpu_job_timeout_ms * 3 / 5);
	knpu_test_complete(t, hwq, 1);
	msleep(knpu_job_timeout_ms * 3 / 5);
	knpu_test_complete(t, hwq, 2);

	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 2, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
}

/*
 * Drops @fence, the last reference, and returns how many references on the
 * device that let go: the hardware fence's release drops its own from
 * knpu_cleanup_wq.
 */
static unsigned int knpu_test_put_last_fence(struct knpu_job_test *t, struct dma_fence *fence)
{
	unsigned int refs;

	flush_workqueue(knpu_cleanup_wq);
	refs = kref_read(&t->kdev->drm.ref);
	dma_fence_put(fence);
	flush_workqueue(knpu_cleanup_wq);
	return refs - kref_read(&t->kdev->drm.ref);
}

/*
 * A job's fence stays valid, names and all, after its queue is destroyed,
 * and holds the device (its scheduler) until it is released.
 */
static void knpu_test_fence_after_destroy(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct drm_knpu_queue_destroy qd = { 0 };
	struct drm_sched_fence *s_fence;
	struct knpu_hw_queue *hwq;
	struct knpu_queue *queue;
	struct dma_fence *fence;
	char name[sizeof(hwq->name)];
	u64 seqno;
	u32 q;

	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq = knpu_test_hwq(test, q);
	strscpy(name, hwq->name);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, &seqno), 0);
	queue = xa_load(&t->fpriv.queues, q);
	fence = dma_fence_get(xa_load(&queue->fences, seqno));
	KUNIT_ASSERT_NOT_NULL(test, fence);
	knpu_test_wait_tail(test, hwq, 1);
	knpu_test_complete(t, hwq, seqno);

	qd.queue_id = q;
	KUNIT_ASSERT_EQ(test, knpu_queue_destroy_ioctl(&t->kdev->drm, &qd, &t->file), 0);
	/* What SYNC_IOC_FILE_INFO and the dma_fence tracepoints read. */
	KUNIT_EXPECT_EQ(test, dma_fence_wait_timeout(fence, false, HZ), HZ);
	KUNIT_EXPECT_STREQ(test, fence->ops->get_driver_name(fence), "drm_sched");
	KUNIT_EXPECT_STREQ(test, fence->ops->get_timeline_name(fence), name);
	KUNIT_EXPECT_EQ(test, dma_fence_get_status(fence), 1);
	/* Its parent, the hardware fence, holds the device until it goes. */
	s_fence = to_drm_sched_fence(fence);
	KUNIT_ASSERT_NOT_NULL(test, s_fence);
	KUNIT_EXPECT_NOT_NULL(test, s_fence->parent);
	KUNIT_EXPECT_EQ(test, knpu_test_put_last_fence(t, fence), 1U);
}

static const char *knpu_test_fence_name(struct dma_fence *fence)
{
	return "knpu-test";
}

static DEFINE_SPINLOCK(knpu_test_fence_lock);

static const struct dma_fence_ops knpu_test_fence_ops = {
	.get_driver_name = knpu_test_fence_name,
	.get_timeline_name = knpu_test_fence_name,
};

/* A fence the test signals itself, not signalled yet. */
static struct dma_fence *knpu_test_fence_new(struct kunit *test)
{
	struct dma_fence *fence = kzalloc(sizeof(*fence), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fence);
	dma_fence_init(fence, &knpu_test_fence_ops, &knpu_test_fence_lock,
		       dma_fence_context_alloc(1), 1);
	return fence;
}

/* A syncobj of the test's file, its handle in *@handle. */
static struct drm_syncobj *knpu_test_syncobj(struct kunit *test, u32 *handle)
{
	struct knpu_job_test *t = test->priv;
	struct drm_syncobj *syncobj;

	idr_init_base(&t->file.syncobj_idr, 1);
	spin_lock_init(&t->file.syncobj_table_lock);
	KUNIT_ASSERT_EQ(test, drm_syncobj_create(&syncobj, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, drm_syncobj_get_handle(&t->file, syncobj, handle), 0);
	return syncobj;
}

/* The file's reference, as drm_syncobj_release() would drop it at close. */
static void knpu_test_syncobj_fini(struct knpu_job_test *t, struct drm_syncobj *syncobj,
				   u32 handle)
{
	drm_syncobj_put(idr_remove(&t->file.syncobj_idr, handle));
	drm_syncobj_put(syncobj);
	idr_destroy(&t->file.syncobj_idr);
}

/* Submits a job on @queue_id that waits for syncobj @handle at @point. */
static u64 knpu_test_submit_after(struct kunit *test, u32 queue_id, u32 handle, u64 point)
{
	struct knpu_job_test *t = test->priv;
	struct drm_knpu_sync sync = { .handle = handle, .point = point };
	struct drm_knpu_submit s;
	unsigned long user;

	user = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, user, 0UL, "no user memory");
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)user, &sync, sizeof(sync)), 0UL);
	s = (struct drm_knpu_submit) {
		.queue_id = queue_id,
		.program_va = KNPU_TEST_PROGRAM_VA,
		.program_size = 24,
		.in_syncs = user,
		.in_sync_count = 1,
	};
	KUNIT_ASSERT_EQ(test, knpu_submit_ioctl(&t->kdev->drm, &s, &t->file), 0);
	return s.seqno;
}

/* A wait on timeline point 2^32 + 1 is not a wait on point 1. */
static void knpu_test_timeline_u64_point(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	const u64 far_point = BIT_ULL(32) + 1;
	struct drm_syncobj *syncobj;
	struct knpu_hw_queue *hwq;
	struct dma_fence *fence;
	u32 handle, q;
	u64 seqno;

	syncobj = knpu_test_syncobj(test, &handle);

	/* Point 1 is signalled, point 2^32 + 1 is not. */
	fence = knpu_test_fence_new(test);
	drm_syncobj_add_point(syncobj, dma_fence_chain_alloc(), dma_fence_get_stub(), 1);
	drm_syncobj_add_point(syncobj, dma_fence_chain_alloc(), dma_fence_get(fence), far_point);

	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq = knpu_test_hwq(test, q);
	seqno = knpu_test_submit_after(test, q, handle, far_point);

	/* The job waits for its producer at 2^32 + 1. */
	msleep(100);
	KUNIT_EXPECT_EQ(test, READ_ONCE(*knpu_test_qreg(t, hwq->id, KNPU_Q_TAIL)), 0U);

	dma_fence_signal(fence);
	knpu_test_wait_tail(test, hwq, 1);
	knpu_test_complete(t, hwq, seqno);

	knpu_test_syncobj_fini(t, syncobj, handle);
	dma_fence_put(fence);
}

/*
 * A job that never ran (its queue destroyed while it waited for an in-fence)
 * still gets a parent, signalled with the job's error, that holds the device
 * as long as its scheduler fences live.
 */
static void knpu_test_unrun_fence_holds_device(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct drm_knpu_queue_destroy qd = { 0 };
	struct dma_fence *in_fence, *fence;
	struct drm_sched_fence *s_fence;
	struct drm_syncobj *syncobj;
	struct knpu_queue *queue;
	u32 handle, q;
	u64 seqno;
	int i;

	syncobj = knpu_test_syncobj(test, &handle);
	in_fence = knpu_test_fence_new(test);
	drm_syncobj_replace_fence(syncobj, in_fence);

	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	seqno = knpu_test_submit_after(test, q, handle, 0);
	queue = xa_load(&t->fpriv.queues, q);
	fence = dma_fence_get(xa_load(&queue->fences, seqno));
	KUNIT_ASSERT_NOT_NULL(test, fence);

	/* Destroyed while the job waits: the scheduler drops it unrun. */
	qd.queue_id = q;
	KUNIT_ASSERT_EQ(test, knpu_queue_destroy_ioctl(&t->kdev->drm, &qd, &t->file), 0);
	dma_fence_signal(in_fence);
	/* The scheduler's worker drops the job: signalled soon, not at once. */
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(fence, false, HZ), 0);
	KUNIT_EXPECT_LT(test, fence->error, 0);

	s_fence = to_drm_sched_fence(fence);
	KUNIT_ASSERT_NOT_NULL(test, s_fence);
	for (i = 0; i < 100 && !READ_ONCE(s_fence->parent); i++)
		usleep_range(1000, 2000);
	KUNIT_ASSERT_NOT_NULL(test, s_fence->parent);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(s_fence->parent));
	KUNIT_EXPECT_EQ(test, s_fence->parent->error, fence->error);
	/* free_job() queues the job's release right after it set the parent. */
	usleep_range(10000, 20000);
	KUNIT_EXPECT_EQ(test, knpu_test_put_last_fence(t, fence), 1U);

	knpu_test_syncobj_fini(t, syncobj, handle);
	dma_fence_put(in_fence);
}

/* The ring never holds more than KNPU_RING_SIZE - 1 jobs; slots come back. */
static void knpu_test_ring_credits(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	const u32 jobs = KNPU_RING_SIZE + 16;
	struct knpu_hw_queue *hwq;
	struct drm_knpu_wait w;
	u32 q, i;

	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq = knpu_test_hwq(test, q);
	for (i = 0; i < jobs; i++)
		KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, NULL), 0);

	/* Full: one slot stays free. */
	knpu_test_wait_tail(test, hwq, KNPU_RING_SIZE - 1);
	msleep(50);
	KUNIT_EXPECT_EQ(test, READ_ONCE(*knpu_test_qreg(t, hwq->id, KNPU_Q_TAIL)),
			KNPU_RING_SIZE - 1);

	/*
	 * Completing 20 makes room for the last 17, the tail wraps: slot 0
	 * holds job KNPU_RING_SIZE + 1 (seqnos start at 1, slot 255 has job 256).
	 */
	knpu_test_complete(t, hwq, 20);
	knpu_test_wait_tail(test, hwq, (KNPU_RING_SIZE - 1 + 17) % KNPU_RING_SIZE);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(hwq->ring[0].fence_value), (u64)KNPU_RING_SIZE + 1);

	knpu_test_complete(t, hwq, jobs);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, jobs, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
}

/*
 * Destroying a queue whose job the device never completes, with no timeout
 * to stop it, returns (after the grace a kernel thread gets), cancels the
 * job and frees the hardware queue.
 */
static void knpu_test_destroy_bounded(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct drm_knpu_queue_destroy qd = { 0 };
	struct knpu_hw_queue *hwq;
	struct knpu_queue *queue;
	struct dma_fence *fence;
	u64 seqno;
	u32 q;

	knpu_job_timeout_ms = 0;
	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq = knpu_test_hwq(test, q);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, &seqno), 0);
	knpu_test_wait_tail(test, hwq, 1);
	queue = xa_load(&t->fpriv.queues, q);
	fence = dma_fence_get(xa_load(&queue->fences, seqno));

	qd.queue_id = q;
	KUNIT_ASSERT_EQ(test, knpu_queue_destroy_ioctl(&t->kdev->drm, &qd, &t->file), 0);
	KUNIT_EXPECT_NULL(test, hwq->queue);
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq->id, KNPU_Q_CTRL), KNPU_Q_CTRL_RESET);
	KUNIT_EXPECT_EQ(test, dma_fence_wait_timeout(fence, false, HZ), HZ);
	KUNIT_EXPECT_EQ(test, fence->error, -ECANCELED);
	dma_fence_put(fence);

	/* The hardware queue is reusable. */
	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	KUNIT_EXPECT_PTR_EQ(test, knpu_test_hwq(test, q), hwq);
}

/*
 * A device reset runs the interrupted jobs of every queue again, from the
 * start of their rings, and counts itself in each queue's status.
 */
static void knpu_test_device_reset_replays(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct drm_knpu_queue_status st = { 0 };
	struct knpu_hw_queue *hwq1, *hwq2;
	struct drm_knpu_wait w;
	u32 q1, q2, i;

	q1 = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	q2 = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq1 = knpu_test_hwq(test, q1);
	hwq2 = knpu_test_hwq(test, q2);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q1, NULL), 0);
	for (i = 0; i < 2; i++)
		KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q2, NULL), 0);
	knpu_test_wait_tail(test, hwq1, 3);
	knpu_test_wait_tail(test, hwq2, 2);

	/* q1's first job completed just before the reset, its interrupt lost. */
	WRITE_ONCE(*hwq1->fence_cpu, cpu_to_le64(1));
	knpu_reset_schedule(t->kdev);
	flush_workqueue(t->kdev->recovery_wq);

	KUNIT_EXPECT_EQ(test, atomic_read(&t->kdev->reset_count), 1);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q1, 1, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
	/* Jobs 2 and 3 of q1, 1 and 2 of q2, handed to the device again. */
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq1->id, KNPU_Q_TAIL), 2U);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(hwq1->ring[0].fence_value), 2ULL);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(hwq1->ring[1].fence_value), 3ULL);
	KUNIT_EXPECT_EQ(test, *knpu_test_qreg(t, hwq2->id, KNPU_Q_TAIL), 2U);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(hwq2->ring[0].fence_value), 1ULL);
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q2, 1, &w, 0), -ETIME);

	knpu_test_complete(t, hwq1, 3);
	knpu_test_complete(t, hwq2, 2);
	for (i = 1; i <= 3; i++) {
		KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q1, i, &w, 1000), 0);
		KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);
	}
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q2, 2, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_OK);

	st.queue_id = q2;
	KUNIT_EXPECT_EQ(test, knpu_queue_status_ioctl(&t->kdev->drm, &st, &t->file), 0);
	KUNIT_EXPECT_EQ(test, st.state, KNPU_QUEUE_STATE_ACTIVE);
	KUNIT_EXPECT_EQ(test, st.reset_count, 1U);
}

/* A device that does not come back from a reset is lost. */
static void knpu_test_device_lost(struct kunit *test)
{
	struct knpu_job_test *t = test->priv;
	struct knpu_hw_queue *hwq;
	struct drm_knpu_wait w;
	u32 q;

	q = knpu_test_queue(test, KNPU_QUEUE_PRIORITY_NORMAL);
	hwq = knpu_test_hwq(test, q);
	KUNIT_ASSERT_EQ(test, knpu_test_submit(test, q, NULL), 0);
	knpu_test_wait_tail(test, hwq, 1);

	t->regs[KNPU_REG_ID / 4] = U32_MAX;
	knpu_reset_schedule(t->kdev);
	flush_workqueue(t->kdev->recovery_wq);

	KUNIT_EXPECT_FALSE(test, knpu_device_usable(t->kdev));
	KUNIT_EXPECT_EQ(test, knpu_test_wait(test, q, 1, &w, 1000), 0);
	KUNIT_EXPECT_EQ(test, w.status, KNPU_JOB_CANCELED);
	KUNIT_EXPECT_EQ(test, w.error, KNPU_ERR_DEVICE_LOST);
}

static struct kunit_case knpu_job_cases[] = {
	KUNIT_CASE(knpu_test_job_complete),
	KUNIT_CASE(knpu_test_job_batch),
	KUNIT_CASE(knpu_test_job_error),
	KUNIT_CASE(knpu_test_job_timeout),
	KUNIT_CASE(knpu_test_queue_lifecycle),
	KUNIT_CASE(knpu_test_submit_checks),
	KUNIT_CASE(knpu_test_submit_batch),
	KUNIT_CASE(knpu_test_submit_batch_stops),
	KUNIT_CASE(knpu_test_timeline_u64_point),
	KUNIT_CASE(knpu_test_timeout_progress),
	KUNIT_CASE(knpu_test_hang_busy_submitter),
	KUNIT_CASE(knpu_test_fence_after_destroy),
	KUNIT_CASE(knpu_test_unrun_fence_holds_device),
	KUNIT_CASE(knpu_test_false_timeout),
	KUNIT_CASE(knpu_test_ring_credits),
	KUNIT_CASE(knpu_test_destroy_bounded),
	KUNIT_CASE(knpu_test_device_reset_replays),
	KUNIT_CASE(knpu_test_device_lost),
	{}
};

static struct kunit_suite knpu_job_suite = {
	.name = "knpu_job",
	.init = knpu_job_test_init,
	.exit = knpu_job_test_exit,
	.test_cases = knpu_job_cases,
};

kunit_test_suite(knpu_job_suite);
