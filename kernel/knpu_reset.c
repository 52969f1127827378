// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Device recovery. A device-fatal error (an UNCORRECTABLE event or queue
 * error, a device that stops answering, an FLR from sysfs, a PCI error)
 * resets the whole device: the schedulers stop handing out jobs, the device
 * is reset (soft reset, or the PCI core's FLR or slot reset), the MMU, the
 * address spaces and the bound queues are programmed again and the jobs the
 * reset interrupted run again, oldest first, with their fences unchanged. A
 * job interrupted more than %KNPU_MAX_REPLAYS times is failed instead and
 * bans its queue; so is a queue whose jobs use device memory the reset
 * cleared (knpu_devmem.c). Each reset is counted (QUEUE_STATUS reset_count), leaves a
 * devcoredump of the device state and sends a change uevent. A device that
 * does not come back is lost: its jobs complete with -ENODEV and every ioctl
 * fails with -ENODEV.
 *
 * The PCI core's error recovery calls error_detected() with pci_bus_sem
 * held for reading, then takes it again for the link reset before
 * slot_reset(); so &knpu_device.reset_lock, taken under pci_bus_sem, must
 * not be held from one callback to the next (lockdep reports the inversion,
 * and a pci_bus_sem writer in between would deadlock). In between, the
 * device is marked down (&knpu_device.pci_recovering) instead: the driver's
 * own resets skip it, queue binding waits for it to end.
 */

#include <linux/devcoredump.h>
#include <linux/pci.h>
#include <linux/vmalloc.h>

#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/knpu_accel.h>

#include "knpu_devmem.h"
#include "knpu_gem.h"
#include "knpu_hw.h"
#include "knpu_hwq.h"
#include "knpu_job.h"
#include "knpu_queue.h"
#include "knpu_reset.h"

#define KNPU_COREDUMP_SIZE	SZ_8K

static void knpu_reset_uevent(struct knpu_device *kdev, const char *event)
{
	char *envp[2] = { (char *)event, NULL };

	kobject_uevent_env(&kdev->drm.dev->kobj, KOBJ_CHANGE, envp);
}

/* Saves the device's registers and the driver's view of its rings. */
static void knpu_reset_coredump(struct knpu_device *kdev, const char *reason)
{
	size_t size = KNPU_COREDUMP_SIZE, len = 0;
	char *buf;
	u32 q;

	buf = vmalloc(size);
	if (!buf)
		return;

	len += scnprintf(buf + len, size - len,
			 "reason: %s\nreset_count: %d\nDEV_STATUS: 0x%08x\nEVENT_STATUS: 0x%08x\nMMU_FAULT_COUNT: %u\n",
			 reason, atomic_read(&kdev->reset_count),
			 knpu_rd(kdev, KNPU_REG_DEV_STATUS),
			 knpu_rd(kdev, KNPU_REG_EVENT_STATUS),
			 knpu_rd(kdev, KNPU_REG_MMU_FAULT_COUNT));
	for (q = 0; q < kdev->info.num_queues; q++) {
		struct knpu_hw_queue *hwq = &kdev->hwq[q];

		spin_lock_irq(&hwq->lock);
		len += scnprintf(buf + len, size - len,
				 "queue %u: bound %d ring %u..%u head_seqno %llu fence %llu CTRL 0x%x STATUS 0x%x HEAD %u TAIL %u ERROR 0x%x ERROR_INFO 0x%x ERROR_ADDR 0x%llx ERROR_PC 0x%x\n",
				 q, !!hwq->queue, hwq->head, hwq->tail,
				 hwq->head != hwq->tail ? hwq->jobs[hwq->head]->seqno : 0,
				 le64_to_cpu(READ_ONCE(*hwq->fence_cpu)),
				 knpu_hwq_rd(hwq, KNPU_Q_CTRL), knpu_hwq_rd(hwq, KNPU_Q_STATUS),
				 knpu_hwq_rd(hwq, KNPU_Q_HEAD), knpu_hwq_rd(hwq, KNPU_Q_TAIL),
				 knpu_hwq_rd(hwq, KNPU_Q_ERROR),
				 knpu_hwq_rd(hwq, KNPU_Q_ERROR_INFO),
				 knpu_rd64(kdev, KNPU_REG_Q_BASE(q) + KNPU_Q_ERROR_ADDR_LO),
				 knpu_hwq_rd(hwq, KNPU_Q_ERROR_PC));
		spin_unlock_irq(&hwq->lock);
	}

	dev_coredumpv(kdev->drm.dev, buf, len, GFP_KERNEL);
}

/**
 * knpu_device_lost() - give the device up
 * @kdev: the device, which no longer runs anything
 *
 * Every job completes with -ENODEV (KNPU_ERR_DEVICE_LOST) and every ioctl
 * fails with -ENODEV from now on.
 */
void knpu_device_lost(struct knpu_device *kdev)
{
	if (READ_ONCE(kdev->lost))
		return;

	WRITE_ONCE(kdev->lost, true);
	knpu_jobs_abort_all(kdev);
	drm_err(&kdev->drm, "device lost: it did not recover from a reset\n");
	knpu_reset_uevent(kdev, "KNPU_DEVICE_LOST=1");
}

/* A job still in the ring uses device memory the reset cleared. */
static bool knpu_reset_ring_lost_devmem_locked(struct knpu_hw_queue *hwq)
{
	u32 i;

	lockdep_assert_held(&hwq->lock);

	for (i = hwq->head; i != hwq->tail; i = (i + 1) % KNPU_RING_SIZE) {
		if (knpu_bos_contents_lost(hwq->jobs[i]->bos, hwq->jobs[i]->bo_count))
			return true;
	}
	return false;
}

/*
 * Programs a bound queue again after a reset and replays its jobs. A queue
 * whose jobs would compute on cleared device memory fails instead, at its
 * oldest job, as a queue that faulted does: its later jobs may depend on
 * what that memory held.
 */
static void knpu_reset_restore_queue(struct knpu_hw_queue *hwq)
{
	struct knpu_queue *queue = hwq->queue;
	struct knpu_job *head;

	scoped_guard(spinlock_irq, &hwq->lock) {
		/* Jobs the device completed before the reset are done. */
		knpu_hwq_retire_locked(hwq);
		queue->reset_count++;

		head = hwq->head != hwq->tail ? hwq->jobs[hwq->head] : NULL;
		if (head && knpu_reset_ring_lost_devmem_locked(hwq)) {
			knpu_queue_ban_locked(queue, head->seqno, KNPU_ERR_DEVMEM_LOST, 0);
			knpu_hwq_cancel_locked(hwq, -EIO);
		} else if (head && head->replays >= KNPU_MAX_REPLAYS) {
			knpu_queue_ban_locked(queue, head->seqno, KNPU_ERR_UNCORRECTABLE, 0);
			knpu_hwq_cancel_locked(hwq, -EIO);
			knpu_queue_guilty(queue);
		} else {
			knpu_hwq_replay_locked(hwq);
		}
	}
}

/*
 * The device was reset (@ret 0) or could not be (@ret < 0): bring it back
 * and let the schedulers go on. Called with the reset lock held and the
 * schedulers stopped.
 */
static void knpu_reset_recover(struct knpu_device *kdev, int ret)
{
	u32 q;

	lockdep_assert_held(&kdev->reset_lock);

	if (!ret)
		ret = knpu_hw_check_alive(kdev);
	if (ret) {
		knpu_device_lost(kdev);
		knpu_hwq_start_all(kdev);
		return;
	}

	knpu_hw_enable(kdev);
	knpu_hw_as_restore_all(kdev);
	if (knpu_devmem_check_after_reset(kdev)) {
		drm_warn(&kdev->drm, "the reset cleared device memory: its buffers lost their contents\n");
		knpu_reset_uevent(kdev, "KNPU_DEVMEM_LOST=1");
	}

	scoped_guard(mutex, &kdev->hwq_lock) {
		for (q = 0; q < kdev->info.num_queues; q++) {
			if (kdev->hwq[q].queue)
				knpu_reset_restore_queue(&kdev->hwq[q]);
		}
	}

	atomic_inc(&kdev->reset_count);
	knpu_hwq_start_all(kdev);
	drm_warn(&kdev->drm, "device reset %d done, interrupted jobs resubmitted\n",
		 atomic_read(&kdev->reset_count));
	knpu_reset_uevent(kdev, "KNPU_RESET=1");
}

static void knpu_reset_work(struct work_struct *work)
{
	struct knpu_device *kdev = container_of(work, struct knpu_device, reset_work);
	int idx, ret;

	guard(mutex)(&kdev->reset_lock);

	if (!drm_dev_enter(&kdev->drm, &idx)) {
		atomic_set(&kdev->reset_pending, 0);
		return;
	}

	if (!READ_ONCE(kdev->lost) && !kdev->pci_recovering) {
		knpu_reset_coredump(kdev, "device error");
		knpu_hwq_stop_all(kdev);
		ret = knpu_hw_reset(kdev);
		/*
		 * Requests made until here came from the device as it was
		 * before the reset (handlers that were running have finished):
		 * they are this reset's. Later faults get a reset of their own.
		 */
		knpu_hw_sync_irqs(kdev);
		atomic_set(&kdev->reset_pending, 0);
		knpu_reset_recover(kdev, ret);
	} else {
		/* Lost, or the PCI core is resetting the device already. */
		atomic_set(&kdev->reset_pending, 0);
	}

	drm_dev_exit(idx);
}

/**
 * knpu_reset_lock_killable() - take &knpu_device.reset_lock with the device up
 * @kdev: the device
 *
 * Waits for a PCI error recovery in progress to end first.
 *
 * Return: 0 with the lock held, or -EINTR when the caller was killed.
 */
int knpu_reset_lock_killable(struct knpu_device *kdev)
{
	for (;;) {
		if (mutex_lock_killable(&kdev->reset_lock))
			return -EINTR;
		if (!kdev->pci_recovering)
			return 0;
		mutex_unlock(&kdev->reset_lock);
		if (wait_event_killable(kdev->recovered, !READ_ONCE(kdev->pci_recovering)))
			return -EINTR;
	}
}

/* The PCI core's error recovery is over: @ret 0 when the device came back. */
static void knpu_pci_recovery_end(struct knpu_device *kdev, int ret)
{
	lockdep_assert_held(&kdev->reset_lock);

	knpu_reset_recover(kdev, ret);
	WRITE_ONCE(kdev->pci_recovering, false);
	wake_up_all(&kdev->recovered);
}

/**
 * knpu_reset_schedule() - reset the device soon, from process context
 * @kdev: the device
 */
void knpu_reset_schedule(struct knpu_device *kdev)
{
	/*
	 * One fault is reported several ways: an uncorrectable error raises
	 * the device event and fails the job of every busy queue, each with
	 * its own interrupt, some after the reset began. A reset already
	 * queued or running serves them all; a second one would only cost
	 * the queues' work and count a reset that did not happen.
	 */
	if (!READ_ONCE(kdev->lost) && !atomic_xchg(&kdev->reset_pending, 1))
		queue_work(kdev->recovery_wq, &kdev->reset_work);
}

static void knpu_reset_wq_fini(struct drm_device *drm, void *arg)
{
	destroy_workqueue(arg);
}

/**
 * knpu_reset_init() - set up device recovery
 * @kdev: the device
 *
 * Return: 0 or -ENOMEM.
 */
int knpu_reset_init(struct knpu_device *kdev)
{
	int ret;

	ret = drmm_mutex_init(&kdev->drm, &kdev->reset_lock);
	if (ret)
		return ret;

	INIT_WORK(&kdev->reset_work, knpu_reset_work);
	init_waitqueue_head(&kdev->recovered);
	kdev->recovery_wq = alloc_ordered_workqueue("knpu-recovery", 0);
	if (!kdev->recovery_wq)
		return -ENOMEM;

	return drmm_add_action_or_reset(&kdev->drm, knpu_reset_wq_fini, kdev->recovery_wq);
}

/*
 * The PCI core is about to reset the function (FLR, e.g. from sysfs). It
 * holds the device lock until reset_done(), and so would the error
 * recovery's next callback: during a recovery the function reset is left to
 * it (the queues are stopped already, its resume() restores them).
 */
static void knpu_pci_reset_prepare(struct pci_dev *pdev)
{
	struct knpu_device *kdev = pci_get_drvdata(pdev);

	mutex_lock(&kdev->reset_lock);
	if (kdev->pci_recovering)
		return;
	knpu_reset_coredump(kdev, "function reset");
	knpu_hwq_stop_all(kdev);
}

static void knpu_pci_reset_done(struct pci_dev *pdev)
{
	struct knpu_device *kdev = pci_get_drvdata(pdev);

	if (!kdev->pci_recovering)
		knpu_reset_recover(kdev, knpu_hw_reset(kdev));
	mutex_unlock(&kdev->reset_lock);
}

static pci_ers_result_t knpu_pci_error_detected(struct pci_dev *pdev, pci_channel_state_t state)
{
	struct knpu_device *kdev = pci_get_drvdata(pdev);

	guard(mutex)(&kdev->reset_lock);

	if (state == pci_channel_io_perm_failure) {
		knpu_device_lost(kdev);
		if (kdev->pci_recovering)
			knpu_pci_recovery_end(kdev, -ENODEV);
		return PCI_ERS_RESULT_DISCONNECT;
	}

	if (!kdev->pci_recovering) {
		WRITE_ONCE(kdev->pci_recovering, true);
		knpu_hwq_stop_all(kdev);
	}
	return PCI_ERS_RESULT_NEED_RESET;
}

static pci_ers_result_t knpu_pci_slot_reset(struct pci_dev *pdev)
{
	struct knpu_device *kdev = pci_get_drvdata(pdev);
	int ret;

	guard(mutex)(&kdev->reset_lock);

	pci_restore_state(pdev);
	ret = knpu_hw_reset(kdev);
	if (!ret)
		ret = knpu_hw_check_alive(kdev);
	if (ret) {
		/* No resume() follows. */
		knpu_pci_recovery_end(kdev, ret);
		return PCI_ERS_RESULT_DISCONNECT;
	}

	return PCI_ERS_RESULT_RECOVERED;
}

static void knpu_pci_resume(struct pci_dev *pdev)
{
	struct knpu_device *kdev = pci_get_drvdata(pdev);

	guard(mutex)(&kdev->reset_lock);
	if (kdev->pci_recovering)
		knpu_pci_recovery_end(kdev, 0);
}

const struct pci_error_handlers knpu_pci_err_handlers = {
	.error_detected = knpu_pci_error_detected,
	.slot_reset = knpu_pci_slot_reset,
	.resume = knpu_pci_resume,
	.reset_prepare = knpu_pci_reset_prepare,
	.reset_done = knpu_pci_reset_done,
};
