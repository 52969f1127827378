/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * Copyright (C) 2026 The knpu authors
 *
 * The ioctl ABI of knpu, the DRM accel driver for KNPU PCIe neural
 * processing units. This header is the only definition of the ABI; it is
 * shared by the kernel driver and userspace (libnpu) and compiles as C and C++.
 *
 * Rules every structure follows:
 *  - fixed size, naturally aligned, no implicit padding; explicit padding
 *    fields are named pad and must be zero;
 *  - every flags field must only contain bits defined here, otherwise the
 *    ioctl fails with -EINVAL;
 *  - user pointers are __u64;
 *  - timeouts are absolute CLOCK_MONOTONIC times in nanoseconds;
 *  - the ABI grows only by appending ioctls, params, flags and trailing
 *    struct fields (the DRM core zero-fills fields an older userspace did
 *    not pass); nothing is ever renumbered or removed.
 *
 * docs/uapi.md explains how the calls fit together.
 */
#ifndef _UAPI_KNPU_ACCEL_H_
#define _UAPI_KNPU_ACCEL_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DRM_KNPU_GET_PARAM		0x00
#define DRM_KNPU_BO_CREATE		0x01
#define DRM_KNPU_BO_INFO		0x02
#define DRM_KNPU_BO_USERPTR		0x03
#define DRM_KNPU_QUEUE_CREATE		0x04
#define DRM_KNPU_QUEUE_DESTROY		0x05
#define DRM_KNPU_SUBMIT			0x06
#define DRM_KNPU_WAIT			0x07
#define DRM_KNPU_QUEUE_STATUS		0x08
#define DRM_KNPU_SUBMIT_BATCH		0x09

#define DRM_IOCTL_KNPU_GET_PARAM \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_GET_PARAM, struct drm_knpu_get_param)
#define DRM_IOCTL_KNPU_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_BO_CREATE, struct drm_knpu_bo_create)
#define DRM_IOCTL_KNPU_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_BO_INFO, struct drm_knpu_bo_info)
#define DRM_IOCTL_KNPU_BO_USERPTR \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_BO_USERPTR, struct drm_knpu_bo_userptr)
#define DRM_IOCTL_KNPU_QUEUE_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_QUEUE_CREATE, struct drm_knpu_queue_create)
#define DRM_IOCTL_KNPU_QUEUE_DESTROY \
	DRM_IOW(DRM_COMMAND_BASE + DRM_KNPU_QUEUE_DESTROY, struct drm_knpu_queue_destroy)
#define DRM_IOCTL_KNPU_SUBMIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_SUBMIT, struct drm_knpu_submit)
#define DRM_IOCTL_KNPU_WAIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_WAIT, struct drm_knpu_wait)
#define DRM_IOCTL_KNPU_QUEUE_STATUS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_QUEUE_STATUS, struct drm_knpu_queue_status)
#define DRM_IOCTL_KNPU_SUBMIT_BATCH \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_KNPU_SUBMIT_BATCH, struct drm_knpu_submit_batch)

/**
 * DOC: parameters
 *
 * Values read with DRM_IOCTL_KNPU_GET_PARAM. An unknown param is -EINVAL,
 * which is how userspace learns that a newer param is not supported.
 *
 * %KNPU_PARAM_UAPI_VERSION: the ABI version, major << 16 | minor (see
 * %KNPU_UAPI_VERSION_MAJOR and %KNPU_UAPI_VERSION_MINOR).
 * %KNPU_PARAM_DEVICE_ID: the PCI device ID.
 * %KNPU_PARAM_REVISION: the PCI revision ID.
 * %KNPU_PARAM_HW_VERSION: the device's HW_VERSION register (major << 16 | minor).
 * %KNPU_PARAM_FW_VERSION: the device's FW_VERSION register.
 * %KNPU_PARAM_NUM_CORES: compute cores.
 * %KNPU_PARAM_NUM_QUEUES: hardware queues.
 * %KNPU_PARAM_SRAM_SIZE: local SRAM per core, in bytes.
 * %KNPU_PARAM_DEVMEM_SIZE: on-board device memory, in bytes.
 * %KNPU_PARAM_VA_START: first device virtual address the driver hands out.
 * %KNPU_PARAM_VA_SIZE: size of the per-file device virtual address range.
 * %KNPU_PARAM_OPS: bit n set when the device executes opcode n (hw-spec).
 * %KNPU_PARAM_DTYPES: bit n set when the device supports data type n (hw-spec).
 * %KNPU_PARAM_CAPS: driver capabilities, a mask of KNPU_CAP_*.
 * %KNPU_PARAM_SERIAL: the device's 64-bit serial number.
 * %KNPU_PARAM_CLOCK_MHZ: the compute clock now, in MHz.
 */
#define KNPU_PARAM_UAPI_VERSION		0
#define KNPU_PARAM_DEVICE_ID		1
#define KNPU_PARAM_REVISION		2
#define KNPU_PARAM_HW_VERSION		3
#define KNPU_PARAM_FW_VERSION		4
#define KNPU_PARAM_NUM_CORES		5
#define KNPU_PARAM_NUM_QUEUES		6
#define KNPU_PARAM_SRAM_SIZE		7
#define KNPU_PARAM_DEVMEM_SIZE		8
#define KNPU_PARAM_VA_START		9
#define KNPU_PARAM_VA_SIZE		10
#define KNPU_PARAM_OPS			11
#define KNPU_PARAM_DTYPES		12
#define KNPU_PARAM_CAPS			13
#define KNPU_PARAM_SERIAL		14
#define KNPU_PARAM_CLOCK_MHZ		15

#define KNPU_UAPI_VERSION_MAJOR		1
#define KNPU_UAPI_VERSION_MINOR		3

/*
 * Driver capabilities (KNPU_PARAM_CAPS). A feature whose bit is clear is not
 * available on this driver and its ioctl or flag fails with -EOPNOTSUPP.
 */
/** KNPU_CAP_DEVMEM: buffers in device memory (%KNPU_BO_DEVMEM). */
#define KNPU_CAP_DEVMEM			(1ULL << 0)
/** KNPU_CAP_USERPTR: DRM_IOCTL_KNPU_BO_USERPTR. */
#define KNPU_CAP_USERPTR		(1ULL << 1)
/**
 * KNPU_CAP_DMABUF: PRIME export and import of buffers. Only host-memory
 * buffers are exported; device-memory and userptr buffers fail with
 * -EOPNOTSUPP.
 */
#define KNPU_CAP_DMABUF			(1ULL << 2)
/** KNPU_CAP_SYNC_FILE: %KNPU_SUBMIT_FENCE_FD_IN and %KNPU_SUBMIT_FENCE_FD_OUT. */
#define KNPU_CAP_SYNC_FILE		(1ULL << 3)
/** KNPU_CAP_TIMELINE_SYNCOBJ: non-zero timeline points in &struct drm_knpu_sync. */
#define KNPU_CAP_TIMELINE_SYNCOBJ	(1ULL << 4)
/**
 * KNPU_CAP_JOB_TIMESTAMPS: &drm_knpu_wait.start_ns and .end_ns, the device's
 * start and end times of a completed job on CLOCK_MONOTONIC.
 */
#define KNPU_CAP_JOB_TIMESTAMPS		(1ULL << 5)
/** KNPU_CAP_SUBMIT_BATCH: DRM_IOCTL_KNPU_SUBMIT_BATCH (uapi 1.2). */
#define KNPU_CAP_SUBMIT_BATCH		(1ULL << 6)

/**
 * struct drm_knpu_get_param - read one device or driver parameter
 */
struct drm_knpu_get_param {
	/** @param: in, one of KNPU_PARAM_*. */
	__u32 param;
	/** @pad: must be zero. */
	__u32 pad;
	/** @value: out, the parameter's value. */
	__u64 value;
};

/** KNPU_BO_DEVMEM: place the buffer in on-board device memory (%KNPU_CAP_DEVMEM). */
#define KNPU_BO_DEVMEM			(1U << 0)
/** KNPU_BO_DEV_READONLY: map the buffer read-only in the device address space. */
#define KNPU_BO_DEV_READONLY		(1U << 1)

/**
 * struct drm_knpu_bo_create - allocate a buffer object
 *
 * The buffer is zeroed, mapped into the file's device address space (its
 * device virtual address is returned in @va) and can be mapped into the
 * process with mmap() at the offset DRM_IOCTL_KNPU_BO_INFO returns. It is
 * freed with DRM_IOCTL_GEM_CLOSE; a job that still uses it keeps it alive.
 * Returns -ENOMEM when host memory, the file's pinned-memory limit or, with
 * %KNPU_BO_DEVMEM, device memory is exhausted; -ENOSPC when device VA is.
 */
struct drm_knpu_bo_create {
	/** @size: in, bytes, non-zero; rounded up to the page size. */
	__u64 size;
	/** @flags: in, KNPU_BO_*. */
	__u32 flags;
	/** @handle: out, the GEM handle. */
	__u32 handle;
	/** @va: out, the buffer's device virtual address. */
	__u64 va;
};

/**
 * struct drm_knpu_bo_info - query a buffer object
 */
struct drm_knpu_bo_info {
	/** @handle: in, the GEM handle. */
	__u32 handle;
	/** @flags: out, the KNPU_BO_* flags it was created with. */
	__u32 flags;
	/** @size: out, its size in bytes (a multiple of the page size). */
	__u64 size;
	/** @mmap_offset: out, the offset to pass to mmap() on the device file. */
	__u64 mmap_offset;
	/** @va: out, its device virtual address. */
	__u64 va;
	/**
	 * @state: out (uapi 1.3), KNPU_BO_STATE_*: what happened to the
	 * buffer since it was created.
	 */
	__u32 state;
	/** @pad: out, zero. */
	__u32 pad;
};

/**
 * KNPU_BO_STATE_CONTENTS_LOST: a device reset cleared the device memory of
 * this %KNPU_BO_DEVMEM buffer (a conventional reset, such as the link reset
 * of AER recovery; soft resets and FLRs keep device memory). Jobs that use
 * it fail with %KNPU_ERR_DEVMEM_LOST and SUBMIT refuses it with -ENODATA:
 * free it and create a new one.
 */
#define KNPU_BO_STATE_CONTENTS_LOST	(1U << 0)

/**
 * struct drm_knpu_bo_userptr - wrap process memory in a buffer object
 *
 * Pins the pages of [@user_ptr, @user_ptr + @size) and maps them into the
 * file's device address space (%KNPU_CAP_USERPTR) until the buffer is freed;
 * with %KNPU_BO_DEV_READONLY the device may only read them. Returns -EINVAL
 * for an unaligned or empty range, -EFAULT when the range is not mapped in
 * the process with the access asked for, -ENOMEM past the file's
 * pinned-memory limit. Such a buffer cannot be mmap()ed or exported.
 */
struct drm_knpu_bo_userptr {
	/** @user_ptr: in, page-aligned address in the calling process. */
	__u64 user_ptr;
	/** @size: in, bytes, page-aligned and non-zero. */
	__u64 size;
	/** @flags: in, %KNPU_BO_DEV_READONLY or zero. */
	__u32 flags;
	/** @handle: out, the GEM handle. */
	__u32 handle;
	/** @va: out, the buffer's device virtual address. */
	__u64 va;
};

#define KNPU_QUEUE_PRIORITY_LOW		0
#define KNPU_QUEUE_PRIORITY_NORMAL	1
#define KNPU_QUEUE_PRIORITY_HIGH	2
/* Needs CAP_SYS_NICE, otherwise -EPERM. */
#define KNPU_QUEUE_PRIORITY_REALTIME	3

/**
 * struct drm_knpu_queue_create - create a command queue
 *
 * A queue runs its jobs in submission order, one at a time; different queues
 * run concurrently on different compute cores. Each queue is bound to a
 * hardware queue of the device while it exists; when all are taken the call
 * fails with -EBUSY.
 */
struct drm_knpu_queue_create {
	/** @priority: in, KNPU_QUEUE_PRIORITY_*. */
	__u32 priority;
	/** @flags: in, must be zero. */
	__u32 flags;
	/** @queue_id: out, non-zero, unique within the file. */
	__u32 queue_id;
	/** @pad: must be zero. */
	__u32 pad;
};

/**
 * struct drm_knpu_queue_destroy - destroy a command queue
 *
 * Jobs already submitted run to completion first; waits on them still work
 * until the queue is gone, after which they fail with -ENOENT.
 */
struct drm_knpu_queue_destroy {
	/** @queue_id: in. */
	__u32 queue_id;
	/** @pad: must be zero. */
	__u32 pad;
};

/**
 * struct drm_knpu_sync - a DRM syncobj used as a job dependency or completion
 */
struct drm_knpu_sync {
	/** @handle: the syncobj handle. */
	__u32 handle;
	/** @flags: must be zero. */
	__u32 flags;
	/**
	 * @point: the timeline point, or zero for a binary syncobj. Non-zero
	 * needs %KNPU_CAP_TIMELINE_SYNCOBJ.
	 */
	__u64 point;
};

/** KNPU_SUBMIT_FENCE_FD_IN: wait for the sync_file @fence_fd before running. */
#define KNPU_SUBMIT_FENCE_FD_IN		(1U << 0)
/** KNPU_SUBMIT_FENCE_FD_OUT: return a sync_file for the job in @fence_fd. */
#define KNPU_SUBMIT_FENCE_FD_OUT	(1U << 1)

/*
 * Limits of one submission; larger counts are -EINVAL. The sync limit
 * applies to in_sync_count and out_sync_count each.
 */
#define KNPU_MAX_SUBMIT_BOS		4096
#define KNPU_MAX_SUBMIT_SYNCS		256
#define KNPU_MAX_PROGRAM_SIZE		(1U << 20)
#define KNPU_MAX_ARGS_SIZE		(1U << 16)

/**
 * struct drm_knpu_submit - run a kernel on a queue
 *
 * The job executes the program at @program_va with the argument table at
 * @args_va, both device virtual addresses in the file's address space (see
 * docs/hw-spec.md for the instruction set and the argument table). Every
 * buffer the program touches must be in @bo_handles: the job holds them until
 * it completes, and their reservation objects receive the job's fence.
 * Errors in the program itself (bad instruction, unmapped address) are not
 * ioctl errors: the job completes with a status, see DRM_IOCTL_KNPU_WAIT.
 *
 * Returns -ENOENT for an unknown queue, BO or syncobj, -ECANCELED when the
 * queue is banned because an earlier job failed (see
 * DRM_IOCTL_KNPU_QUEUE_STATUS), -ENODATA when one of @bo_handles lost its
 * contents in a reset (%KNPU_BO_STATE_CONTENTS_LOST), -ENODEV when the
 * device is gone.
 */
struct drm_knpu_submit {
	/** @queue_id: in, the queue to run on. */
	__u32 queue_id;
	/** @flags: in, KNPU_SUBMIT_*. */
	__u32 flags;
	/** @program_va: in, device VA of the program, 4-byte aligned. */
	__u64 program_va;
	/**
	 * @program_size: in, bytes, a non-zero multiple of 4, at most
	 * %KNPU_MAX_PROGRAM_SIZE.
	 */
	__u32 program_size;
	/** @args_size: in, bytes, a multiple of 8, at most %KNPU_MAX_ARGS_SIZE. */
	__u32 args_size;
	/**
	 * @args_va: in, device VA of the argument table, 8-byte aligned;
	 * ignored when @args_size is 0.
	 */
	__u64 args_va;
	/** @bo_handles: in, user pointer to an array of @bo_count __u32 GEM handles. */
	__u64 bo_handles;
	/** @bo_count: in, at most %KNPU_MAX_SUBMIT_BOS. */
	__u32 bo_count;
	/** @in_sync_count: in, number of &struct drm_knpu_sync at @in_syncs. */
	__u32 in_sync_count;
	/** @in_syncs: in, user pointer to the syncobjs the job waits for. */
	__u64 in_syncs;
	/** @out_sync_count: in, number of &struct drm_knpu_sync at @out_syncs. */
	__u32 out_sync_count;
	/**
	 * @fence_fd: in, a sync_file to wait for with %KNPU_SUBMIT_FENCE_FD_IN;
	 * out, a new sync_file of the job with %KNPU_SUBMIT_FENCE_FD_OUT.
	 * Must be zero when neither flag is set.
	 */
	__s32 fence_fd;
	/** @out_syncs: in, user pointer to the syncobjs that receive the job's fence. */
	__u64 out_syncs;
	/** @seqno: out, the job's sequence number on its queue (1, 2, ...). */
	__u64 seqno;
};

/* Limits of one DRM_IOCTL_KNPU_SUBMIT_BATCH; outside them it is -EINVAL. */
#define KNPU_MAX_BATCH_SUBMITS		256
#define KNPU_MAX_BATCH_STRIDE		4096
/* sizeof(struct drm_knpu_submit) in uapi 1.0, the smallest stride. */
#define KNPU_SUBMIT_SIZE_VER0		80

/**
 * struct drm_knpu_submit_batch - run several kernels with one call (uapi 1.2)
 *
 * Submits the @count entries of the array at @submits in array order, each
 * exactly as DRM_IOCTL_KNPU_SUBMIT would (same checks, same fences and
 * syncobjs), and writes each entry's out fields (@seqno, @fence_fd) back
 * into the array. It stops at the first entry that fails and returns that
 * entry's error; @submitted then says how many entries went in before it:
 * those are in flight and are not undone, the failed one and those after
 * it were not submitted. Entries on the same queue get consecutive seqnos
 * unless another thread submits to that queue between them. Needs
 * %KNPU_CAP_SUBMIT_BATCH.
 *
 * Each entry is read with the header's extension rules for a struct of
 * @stride bytes: fields a shorter entry does not have read as zero, bytes
 * past the struct this kernel knows must be zero (-E2BIG for that entry
 * otherwise), and only the bytes of @stride are written back. -EFAULT from
 * writing an entry back counts that entry as submitted. A signal that
 * interrupts the call after some entries went in makes it return -EINTR
 * (never restarted, which would submit them again): resubmit the entries
 * from @submitted on.
 */
struct drm_knpu_submit_batch {
	/** @submits: in, user pointer to @count entries @stride bytes apart. */
	__u64 submits;
	/** @count: in, entries, 1 to %KNPU_MAX_BATCH_SUBMITS. */
	__u32 count;
	/**
	 * @stride: in, bytes from one entry to the next: the caller's
	 * sizeof(struct drm_knpu_submit), a multiple of 8, at least
	 * %KNPU_SUBMIT_SIZE_VER0 and at most %KNPU_MAX_BATCH_STRIDE.
	 */
	__u32 stride;
	/** @submitted: out, the number of entries submitted. */
	__u32 submitted;
	/** @pad: must be zero. */
	__u32 pad;
};

/** Job status returned by DRM_IOCTL_KNPU_WAIT. */
#define KNPU_JOB_OK		0	/* ran to completion */
#define KNPU_JOB_FAILED		1	/* ran and failed: see error */
#define KNPU_JOB_CANCELED	2	/* never ran: queue banned or device lost */

/*
 * Job error codes (&drm_knpu_wait.error, &drm_knpu_queue_status.error).
 * 0x01-0x3f are the device's queue error codes (Q_ERROR in docs/hw-spec.md);
 * 0x40 and up are detected by the driver.
 */
#define KNPU_ERR_NONE			0x00
#define KNPU_ERR_DESC_INVALID		0x01
#define KNPU_ERR_PROGRAM_INVALID	0x02
#define KNPU_ERR_OPCODE_INVALID		0x03
#define KNPU_ERR_OPCODE_UNSUPPORTED	0x04
#define KNPU_ERR_OPERAND_INVALID	0x05
#define KNPU_ERR_ARG_INDEX_INVALID	0x06
#define KNPU_ERR_ALIGNMENT		0x07
#define KNPU_ERR_MMU_FAULT		0x08
#define KNPU_ERR_BUS_ERROR		0x09
#define KNPU_ERR_UNCORRECTABLE		0x0a
#define KNPU_ERR_CONFIG_INVALID		0x0b
#define KNPU_ERR_TAIL_INVALID		0x0c
#define KNPU_ERR_TIMEOUT		0x40	/* the driver's job timeout fired */
#define KNPU_ERR_DEVICE_LOST		0x41	/* the device was reset or removed */
/* uapi 1.3: a reset cleared device memory the job uses (%KNPU_BO_STATE_CONTENTS_LOST) */
#define KNPU_ERR_DEVMEM_LOST		0x42

/* &drm_knpu_wait.error_pc when the failure was not in an instruction. */
#define KNPU_ERROR_PC_NONE		0xffffffffU

/**
 * struct drm_knpu_wait - wait for a job
 *
 * Returns 0 once job @seqno of @queue_id has finished, with its outcome in
 * @status, @error and @error_addr; -ETIME if it has not finished by
 * @timeout_ns; -EINVAL for a seqno that was never submitted; -ENOENT for an
 * unknown queue. A job that already finished answers at once.
 */
struct drm_knpu_wait {
	/** @queue_id: in. */
	__u32 queue_id;
	/** @flags: in, must be zero. */
	__u32 flags;
	/** @seqno: in, from &drm_knpu_submit.seqno. */
	__u64 seqno;
	/**
	 * @timeout_ns: in, absolute CLOCK_MONOTONIC deadline in ns; zero or a
	 * time in the past polls without sleeping.
	 */
	__s64 timeout_ns;
	/** @status: out, KNPU_JOB_*. */
	__u32 status;
	/**
	 * @error: out, KNPU_ERR_* when @status is %KNPU_JOB_FAILED;
	 * %KNPU_ERR_DEVICE_LOST for a job canceled because the device was lost;
	 * zero otherwise (including jobs canceled behind a failed job).
	 */
	__u32 error;
	/**
	 * @error_addr: out, for %KNPU_ERR_MMU_FAULT the faulting device virtual
	 * address, else the device's Q_ERROR_ADDR value or zero.
	 */
	__u64 error_addr;
	/**
	 * @error_pc: out (uapi 1.1), for a job the device failed, the byte
	 * offset in its program of the failing instruction (the device's
	 * Q_ERROR_PC); %KNPU_ERROR_PC_NONE when the failure was not in an
	 * instruction (descriptor, fence write), the driver failed the job
	 * (timeout, device lost) or the job did not fail.
	 */
	__u32 error_pc;
	/**
	 * @error_info: out (uapi 1.1), the device's Q_ERROR_INFO for that
	 * failure: operand index, access kind, MMU fault reason, ASID (hw-spec
	 * 7.6); zero when the device did not fail the job.
	 */
	__u32 error_info;
	/**
	 * @start_ns: out (uapi 1.1, %KNPU_CAP_JOB_TIMESTAMPS), for a job that
	 * ran to completion, when a device core took it, on CLOCK_MONOTONIC
	 * (the device clock converted by the driver); zero without the
	 * capability, for a job that did not complete, and for a job older than
	 * its queue's newest 256 completed jobs.
	 */
	__u64 start_ns;
	/** @end_ns: out (uapi 1.1), when it finished, as @start_ns. */
	__u64 end_ns;
};

#define KNPU_QUEUE_STATE_ACTIVE		0
/* A job failed: later submissions fail with -ECANCELED; create a new queue. */
#define KNPU_QUEUE_STATE_BANNED		1

/**
 * struct drm_knpu_queue_status - a queue's health, for robustness
 *
 * When a job fails, the queue is banned: the failed job reports
 * %KNPU_JOB_FAILED, jobs behind it report %KNPU_JOB_CANCELED, and other
 * queues and files are not affected. A device reset caused by someone else's
 * job does not ban this queue; it is counted in @reset_count and the jobs it
 * interrupted are run again.
 */
struct drm_knpu_queue_status {
	/** @queue_id: in. */
	__u32 queue_id;
	/** @flags: in, must be zero. */
	__u32 flags;
	/** @state: out, KNPU_QUEUE_STATE_*. */
	__u32 state;
	/** @error: out, KNPU_ERR_* of the job that banned the queue, else zero. */
	__u32 error;
	/** @error_seqno: out, the seqno of that job, else zero. */
	__u64 error_seqno;
	/** @error_addr: out, as &drm_knpu_wait.error_addr for that job. */
	__u64 error_addr;
	/** @completed_seqno: out, the newest seqno that has finished. */
	__u64 completed_seqno;
	/** @reset_count: out, device resets this queue lived through. */
	__u32 reset_count;
	/** @pad: must be zero. */
	__u32 pad;
	/** @error_pc: out (uapi 1.1), as &drm_knpu_wait.error_pc for that job. */
	__u32 error_pc;
	/** @error_info: out (uapi 1.1), as &drm_knpu_wait.error_info for that job. */
	__u32 error_info;
};

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_KNPU_ACCEL_H_ */
