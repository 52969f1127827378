// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * KUnit tests of the encodings the driver shares with the hardware
 * (docs/hw-spec.md) and with userspace (uapi/drm/knpu_accel.h).
 */

#include <kunit/test.h>
#include <linux/stddef.h>

#include <drm/knpu_accel.h>

#include "../knpu_hwq.h"
#include "../knpu_mmu.h"
#include "../knpu_regs.h"

static void knpu_test_pte_page(struct kunit *test)
{
	/* 6.1: VALID bit 0, READ 1, WRITE 2, DEVMEM 3, ADDR 51:12. */
	KUNIT_EXPECT_EQ(test, knpu_pte_page(0x123456789000ULL, knpu_pte_prot(false)),
			0x123456789007ULL);
	KUNIT_EXPECT_EQ(test, knpu_pte_page(0x123456789000ULL, knpu_pte_prot(true)),
			0x123456789003ULL);
	KUNIT_EXPECT_EQ(test, knpu_pte_page(0x5000, KNPU_PTE_READ | KNPU_PTE_DEVMEM),
			0x500bULL);
	/* An offset inside the page never leaks into the entry. */
	KUNIT_EXPECT_EQ(test, knpu_pte_page(0x1234, KNPU_PTE_READ), 0x1003ULL);
	KUNIT_EXPECT_EQ(test, knpu_pte_page(GENMASK_ULL(51, 12), 0),
			GENMASK_ULL(51, 12) | KNPU_PTE_VALID);
	/* Only permission bits are taken from @prot. */
	KUNIT_EXPECT_EQ(test, knpu_pte_page(0x3000, KNPU_PTE_BLOCK | KNPU_PTE_VALID |
					    KNPU_PTE_WRITE), 0x3005ULL);
	KUNIT_EXPECT_EQ(test, knpu_pte_addr(knpu_pte_page(0xfedcba987000ULL, 0)),
			0xfedcba987000ULL);
}

static void knpu_test_pte_table_block(struct kunit *test)
{
	u64 table = knpu_pte_table(0xabcdef000ULL);

	/* Table entries have bits 1-11 clear. */
	KUNIT_EXPECT_EQ(test, table, 0xabcdef001ULL);
	KUNIT_EXPECT_EQ(test, table & GENMASK_ULL(11, 1), 0ULL);
	KUNIT_EXPECT_EQ(test, knpu_pte_addr(table), 0xabcdef000ULL);

	KUNIT_EXPECT_EQ(test, knpu_pte_block(0x40000000ULL, knpu_pte_prot(false)),
			0x40000087ULL);
	KUNIT_EXPECT_EQ(test, knpu_pte_block(0x40200000ULL, knpu_pte_prot(true)),
			0x40200083ULL);
}

static void knpu_test_va_index(struct kunit *test)
{
	u64 va = (5ULL << 39) | (6ULL << 30) | (7ULL << 21) | (8ULL << 12) | 0x123;

	KUNIT_EXPECT_EQ(test, knpu_va_index(va, 0), 5U);
	KUNIT_EXPECT_EQ(test, knpu_va_index(va, 1), 6U);
	KUNIT_EXPECT_EQ(test, knpu_va_index(va, 2), 7U);
	KUNIT_EXPECT_EQ(test, knpu_va_index(va, 3), 8U);

	va = BIT_ULL(48) - 1;
	KUNIT_EXPECT_EQ(test, knpu_va_index(va, 0), 511U);
	KUNIT_EXPECT_EQ(test, knpu_va_index(va, 3), 511U);

	KUNIT_EXPECT_EQ(test, knpu_va_index(KNPU_VA_START, 0), 0U);
	KUNIT_EXPECT_EQ(test, knpu_va_index(KNPU_VA_START, 1), 4U);
	KUNIT_EXPECT_EQ(test, knpu_va_index(KNPU_VA_START, 2), 0U);
}

static void knpu_test_va_range(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED(KNPU_VA_START, KNPU_BLOCK_SIZE));
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED(KNPU_VA_SIZE, KNPU_BLOCK_SIZE));
	KUNIT_EXPECT_LE(test, KNPU_VA_START + KNPU_VA_SIZE, BIT_ULL(KNPU_VA_BITS));
	KUNIT_EXPECT_GT(test, KNPU_VA_START, 0ULL);
}

static void knpu_test_desc_kernel(struct kunit *test)
{
	struct knpu_hw_desc desc;
	const u8 *b = (const u8 *)&desc;
	static const u8 expected[KNPU_DESC_SIZE] = {
		/* type KERNEL, flags IRQ, reserved */
		0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* program_va */
		0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
		/* program_size, args_size */
		0x40, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00,
		/* args_va */
		0x00, 0x20, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
		/* fence_value */
		0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* job_id */
		0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00,
		/* reserved */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};

	memset(&desc, 0xff, sizeof(desc));
	knpu_desc_kernel(&desc, 0x100001000ULL, 0x40, 0x100002000ULL, 0x18, 42, 0xdeadbeef);
	KUNIT_EXPECT_MEMEQ(test, b, expected, sizeof(expected));

	/* Without arguments the table address is zero whatever was passed. */
	knpu_desc_kernel(&desc, 0x100001000ULL, 4, 0x100002000ULL, 0, 1, 1);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(desc.args_va), 0ULL);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(desc.args_size), 0U);
}

static void knpu_test_desc_layout(struct kunit *test)
{
	/* 5.1 field offsets */
	KUNIT_EXPECT_EQ(test, sizeof(struct knpu_hw_desc), 64);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, type), 0x00);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, flags), 0x02);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, program_va), 0x08);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, program_size), 0x10);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, args_size), 0x14);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, args_va), 0x18);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, fence_value), 0x20);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, job_id), 0x28);
	KUNIT_EXPECT_EQ(test, offsetof(struct knpu_hw_desc, times), 0x30);
	/* The ring size must be one the device accepts. */
	KUNIT_EXPECT_TRUE(test, is_power_of_2(KNPU_RING_SIZE));
	KUNIT_EXPECT_GE(test, KNPU_RING_SIZE, KNPU_Q_RING_SIZE_MIN);
	KUNIT_EXPECT_LE(test, KNPU_RING_SIZE, KNPU_Q_RING_SIZE_MAX);
}

static void knpu_test_regs(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, KNPU_REG_Q_BASE(0) + KNPU_Q_DOORBELL, 0x1028);
	KUNIT_EXPECT_EQ(test, KNPU_REG_Q_BASE(3) + KNPU_Q_COMPLETED_HI, 0x1348);
	KUNIT_EXPECT_EQ(test, KNPU_REG_Q_BASE(63) + KNPU_Q_COMPLETED_HI, 0x4f48);
	KUNIT_EXPECT_EQ(test, KNPU_REG_AS_ROOT_LO(0), 0x800);
	KUNIT_EXPECT_EQ(test, KNPU_REG_AS_ROOT_HI(63), 0x9fc);
	/* The highest AS_ROOT register stays below the first queue block. */
	KUNIT_EXPECT_LT(test, KNPU_REG_AS_ROOT_HI(255), KNPU_REG_Q_BASE(0));
	KUNIT_EXPECT_EQ(test, FIELD_PREP(KNPU_Q_CONFIG_ASID, 5) |
			FIELD_PREP(KNPU_Q_CONFIG_PRIORITY, KNPU_QUEUE_PRIORITY_REALTIME),
			0x30005);
	KUNIT_EXPECT_EQ(test, FIELD_GET(KNPU_CONFIG0_NUM_QUEUES, 0x30401004), 0x10);
	KUNIT_EXPECT_EQ(test, FIELD_GET(KNPU_CONFIG0_VA_BITS, 0x30401004), 0x30);
	KUNIT_EXPECT_EQ(test, FIELD_GET(KNPU_Q_ERROR_INFO_MMU_REASON, 0x00051201), 1);
	KUNIT_EXPECT_EQ(test, FIELD_GET(KNPU_Q_ERROR_INFO_ASID, 0x00051201), 5);
	KUNIT_EXPECT_EQ(test, FIELD_GET(KNPU_Q_ERROR_INFO_ACCESS, 0x00051201), 2);
}

static void knpu_test_error_codes(struct kunit *test)
{
	/* 7.6: the device's codes are the uapi's. */
	KUNIT_EXPECT_EQ(test, KNPU_ERR_DESC_INVALID, 0x01);
	KUNIT_EXPECT_EQ(test, KNPU_ERR_MMU_FAULT, 0x08);
	KUNIT_EXPECT_EQ(test, KNPU_ERR_CONFIG_INVALID, 0x0b);
	KUNIT_EXPECT_EQ(test, KNPU_ERR_TAIL_INVALID, 0x0c);
	KUNIT_EXPECT_GT(test, KNPU_ERR_TIMEOUT, KNPU_HW_ERR_MAX);
	KUNIT_EXPECT_GT(test, KNPU_ERR_DEVICE_LOST, KNPU_HW_ERR_MAX);
}

#define KNPU_IOCTL_CASE(name, nr, type) { DRM_IOCTL_KNPU_##name, nr, sizeof(type) }

static void knpu_test_uapi_ioctls(struct kunit *test)
{
	static const struct {
		unsigned int ioctl;
		unsigned int nr;
		size_t size;
	} cases[] = {
		KNPU_IOCTL_CASE(GET_PARAM, 0x00, struct drm_knpu_get_param),
		KNPU_IOCTL_CASE(BO_CREATE, 0x01, struct drm_knpu_bo_create),
		KNPU_IOCTL_CASE(BO_INFO, 0x02, struct drm_knpu_bo_info),
		KNPU_IOCTL_CASE(BO_USERPTR, 0x03, struct drm_knpu_bo_userptr),
		KNPU_IOCTL_CASE(QUEUE_CREATE, 0x04, struct drm_knpu_queue_create),
		KNPU_IOCTL_CASE(QUEUE_DESTROY, 0x05, struct drm_knpu_queue_destroy),
		KNPU_IOCTL_CASE(SUBMIT, 0x06, struct drm_knpu_submit),
		KNPU_IOCTL_CASE(WAIT, 0x07, struct drm_knpu_wait),
		KNPU_IOCTL_CASE(QUEUE_STATUS, 0x08, struct drm_knpu_queue_status),
		KNPU_IOCTL_CASE(SUBMIT_BATCH, 0x09, struct drm_knpu_submit_batch),
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_EXPECT_EQ(test, _IOC_TYPE(cases[i].ioctl), DRM_IOCTL_BASE);
		KUNIT_EXPECT_EQ(test, _IOC_NR(cases[i].ioctl), DRM_COMMAND_BASE + cases[i].nr);
		KUNIT_EXPECT_EQ(test, _IOC_SIZE(cases[i].ioctl), cases[i].size);
	}
	KUNIT_EXPECT_EQ(test, _IOC_DIR(DRM_IOCTL_KNPU_QUEUE_DESTROY), _IOC_WRITE);
	KUNIT_EXPECT_EQ(test, _IOC_DIR(DRM_IOCTL_KNPU_SUBMIT), _IOC_READ | _IOC_WRITE);
	KUNIT_EXPECT_EQ(test, _IOC_DIR(DRM_IOCTL_KNPU_SUBMIT_BATCH), _IOC_READ | _IOC_WRITE);
}

/* Every struct is fixed-size, 8-byte multiple, without implicit padding. */
static void knpu_test_uapi_layout(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_get_param), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_get_param, value), 8);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_bo_create), 24);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_create, flags), 8);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_create, handle), 12);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_create, va), 16);

	/* 32 bytes up to uapi 1.2: old binaries still pass that size. */
	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_bo_info), 40);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_info, size), 8);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_info, mmap_offset), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_info, va), 24);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_info, state), 32);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_bo_userptr), 32);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_userptr, flags), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_bo_userptr, va), 24);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_queue_create), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_queue_create, queue_id), 8);
	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_queue_destroy), 8);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_sync), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_sync, point), 8);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_submit), 80);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, program_va), 8);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, program_size), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, args_size), 20);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, args_va), 24);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, bo_handles), 32);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, bo_count), 40);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, in_sync_count), 44);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, in_syncs), 48);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, out_sync_count), 56);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, fence_fd), 60);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, out_syncs), 64);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit, seqno), 72);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_submit), KNPU_SUBMIT_SIZE_VER0);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_submit_batch), 24);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit_batch, count), 8);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit_batch, stride), 12);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit_batch, submitted), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_submit_batch, pad), 20);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_wait), 64);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_wait, seqno), 8);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_wait, timeout_ns), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_wait, status), 24);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_wait, error_addr), 32);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_wait, error_pc), 40);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_wait, error_info), 44);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_wait, start_ns), 48);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_wait, end_ns), 56);

	KUNIT_EXPECT_EQ(test, sizeof(struct drm_knpu_queue_status), 56);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_queue_status, state), 8);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_queue_status, error_seqno), 16);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_queue_status, completed_seqno), 32);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_queue_status, reset_count), 40);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_queue_status, error_pc), 48);
	KUNIT_EXPECT_EQ(test, offsetof(struct drm_knpu_queue_status, error_info), 52);
}

static struct kunit_case knpu_hw_format_cases[] = {
	KUNIT_CASE(knpu_test_pte_page),
	KUNIT_CASE(knpu_test_pte_table_block),
	KUNIT_CASE(knpu_test_va_index),
	KUNIT_CASE(knpu_test_va_range),
	KUNIT_CASE(knpu_test_desc_kernel),
	KUNIT_CASE(knpu_test_desc_layout),
	KUNIT_CASE(knpu_test_regs),
	KUNIT_CASE(knpu_test_error_codes),
	{}
};

static struct kunit_suite knpu_hw_format_suite = {
	.name = "knpu_hw_format",
	.test_cases = knpu_hw_format_cases,
};

static struct kunit_case knpu_uapi_cases[] = {
	KUNIT_CASE(knpu_test_uapi_ioctls),
	KUNIT_CASE(knpu_test_uapi_layout),
	{}
};

static struct kunit_suite knpu_uapi_suite = {
	.name = "knpu_uapi",
	.test_cases = knpu_uapi_cases,
};

kunit_test_suites(&knpu_hw_format_suite, &knpu_uapi_suite);
