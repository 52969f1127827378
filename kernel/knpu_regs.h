/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The knpu authors
 *
 * KNPU register map (BAR0) and in-memory formats, from the KNPU hardware
 * programming specification v1.0 (docs/hw-spec.md).
 */

#ifndef __KNPU_REGS_H__
#define __KNPU_REGS_H__

#include <linux/bits.h>
#include <linux/sizes.h>

#define KNPU_PCI_VENDOR_ID		0x1234
#define KNPU_PCI_DEVICE_ID		0x4b4e

#define KNPU_BAR_REGS			0
#define KNPU_BAR_REGS_SIZE		SZ_64K
#define KNPU_BAR_DEVMEM			2

/* Queue register blocks the BAR holds (hw-spec 2: 1 to 64 queues). */
#define KNPU_MAX_QUEUES			64

/* 3.1 Identification and capabilities */
#define KNPU_REG_ID			0x000
#define   KNPU_ID_MAGIC			0x55504e4b
#define KNPU_REG_HW_VERSION		0x004
#define   KNPU_HW_VERSION_MAJOR		GENMASK(31, 16)
#define   KNPU_HW_VERSION_MINOR		GENMASK(15, 0)
#define KNPU_REG_FW_VERSION		0x008
#define KNPU_REG_CONFIG0		0x00c
#define   KNPU_CONFIG0_NUM_CORES	GENMASK(7, 0)
#define   KNPU_CONFIG0_NUM_QUEUES	GENMASK(15, 8)
#define   KNPU_CONFIG0_NUM_ASIDS	GENMASK(23, 16)
#define   KNPU_CONFIG0_VA_BITS		GENMASK(31, 24)
#define KNPU_REG_SRAM_SIZE		0x010
#define KNPU_REG_DEVMEM_SIZE_LO		0x018
#define KNPU_REG_DEVMEM_SIZE_HI		0x01c
#define KNPU_REG_DTYPES			0x020
#define KNPU_REG_OPS_LO			0x024
#define KNPU_REG_OPS_HI			0x028
#define KNPU_REG_FEATURES		0x02c
#define   KNPU_FEATURE_LARGE_PAGES	BIT(0)
#define   KNPU_FEATURE_DEVMEM		BIT(1)
#define   KNPU_FEATURE_SEMAPHORES	BIT(2)
#define   KNPU_FEATURE_TIMESTAMPS	BIT(3)
#define   KNPU_FEATURE_FAULT_INJECT	BIT(4)
#define   KNPU_FEATURE_JOB_TIMESTAMPS	BIT(5)
#define KNPU_REG_SERIAL_LO		0x030
#define KNPU_REG_SERIAL_HI		0x034
#define KNPU_REG_SCRATCH		0x038

/* 3.2 Device control, status and events */
#define KNPU_REG_DEV_CTRL		0x100
#define   KNPU_DEV_CTRL_ENABLE		BIT(0)
#define KNPU_REG_DEV_STATUS		0x104
#define   KNPU_DEV_STATUS_READY		BIT(0)
#define   KNPU_DEV_STATUS_ENABLED	BIT(1)
#define   KNPU_DEV_STATUS_FATAL		BIT(2)
#define   KNPU_DEV_STATUS_THROTTLED	BIT(3)
#define   KNPU_DEV_STATUS_MMU_ENABLED	BIT(4)
#define   KNPU_DEV_STATUS_BUSY		BIT(5)
#define KNPU_REG_SOFT_RESET		0x108
#define   KNPU_SOFT_RESET_MAGIC		0x52534554
#define KNPU_REG_EVENT_STATUS		0x10c
#define KNPU_REG_EVENT_MASK		0x110
#define   KNPU_EVENT_UNCORRECTABLE	BIT(0)
#define   KNPU_EVENT_CORRECTABLE	BIT(1)
#define   KNPU_EVENT_THERMAL		BIT(2)
#define   KNPU_EVENT_RESET_DONE		BIT(3)
#define   KNPU_EVENT_ALL		GENMASK(3, 0)
#define KNPU_REG_TIMESTAMP_LO		0x114
#define KNPU_REG_TIMESTAMP_HI		0x118

/* 3.3 MMU */
#define KNPU_REG_MMU_CTRL		0x200
#define   KNPU_MMU_CTRL_ENABLE		BIT(0)
#define KNPU_REG_MMU_TLB_INVAL		0x204
#define   KNPU_MMU_TLB_INVAL_ASID	GENMASK(7, 0)
#define   KNPU_MMU_TLB_INVAL_ALL	BIT(31)
#define KNPU_REG_MMU_FAULT_COUNT	0x208
#define KNPU_REG_AS_ROOT_LO(a)		(0x800 + 8 * (a))
#define KNPU_REG_AS_ROOT_HI(a)		(0x804 + 8 * (a))
#define   KNPU_AS_ROOT_VALID		BIT(0)
#define   KNPU_AS_ROOT_ADDR_LO		GENMASK(31, 12)

/* 3.4 Telemetry */
#define KNPU_REG_TEMP			0x400
#define KNPU_REG_POWER			0x404
#define KNPU_REG_CLOCK			0x408
#define KNPU_REG_ERR_CORRECTABLE	0x40c
#define KNPU_REG_ERR_UNCORRECTABLE	0x410
#define KNPU_REG_JOBS_COMPLETED_LO	0x418
#define KNPU_REG_BYTES_MOVED_LO		0x420
#define KNPU_REG_CORE_BUSY_LO(c)	(0x480 + 8 * (c))
#define KNPU_MAX_CORES			16
/* Thermal behaviour (hw-spec 3.4): fixed by the device, not registers. */
#define KNPU_CLOCK_NOMINAL_MHZ		1000
#define KNPU_TEMP_THROTTLE_MC		95000
#define KNPU_TEMP_RECOVER_MC		90000

/* 3.5 Queue registers */
#define KNPU_REG_Q_BASE(q)		(0x1000 + 0x100 * (q))
#define KNPU_Q_RING_BASE_LO		0x00
#define KNPU_Q_RING_BASE_HI		0x04
#define KNPU_Q_RING_SIZE		0x08
#define KNPU_Q_CONFIG			0x0c
#define   KNPU_Q_CONFIG_ASID		GENMASK(7, 0)
#define   KNPU_Q_CONFIG_PRIORITY	GENMASK(17, 16)
#define KNPU_Q_FENCE_ADDR_LO		0x10
#define KNPU_Q_FENCE_ADDR_HI		0x14
#define KNPU_Q_CTRL			0x18
#define   KNPU_Q_CTRL_ENABLE		BIT(0)
#define   KNPU_Q_CTRL_RESET		BIT(1)
#define   KNPU_Q_CTRL_RESUME		BIT(2)
#define KNPU_Q_STATUS			0x1c
#define   KNPU_Q_STATUS_ENABLED		BIT(0)
#define   KNPU_Q_STATUS_RUNNING		BIT(1)
#define   KNPU_Q_STATUS_ERROR		BIT(2)
#define KNPU_Q_HEAD			0x20
#define KNPU_Q_TAIL			0x24
#define KNPU_Q_DOORBELL			0x28
#define KNPU_Q_IRQ_STATUS		0x2c
#define   KNPU_Q_IRQ_COMPLETE		BIT(0)
#define   KNPU_Q_IRQ_ERROR		BIT(1)
#define KNPU_Q_ERROR			0x30
#define KNPU_Q_ERROR_INFO		0x34
#define   KNPU_Q_ERROR_INFO_OPERAND	GENMASK(7, 0)
#define   KNPU_Q_ERROR_INFO_ACCESS	GENMASK(9, 8)
#define   KNPU_Q_ERROR_INFO_MMU_REASON	GENMASK(15, 12)
#define   KNPU_Q_ERROR_INFO_ASID	GENMASK(23, 16)
#define KNPU_Q_ERROR_ADDR_LO		0x38
#define KNPU_Q_ERROR_ADDR_HI		0x3c
#define KNPU_Q_ERROR_PC			0x40
#define KNPU_Q_COMPLETED_LO		0x44
#define KNPU_Q_COMPLETED_HI		0x48

#define KNPU_Q_RING_SIZE_MIN		2
#define KNPU_Q_RING_SIZE_MAX		4096

/* 5.1 Job descriptor */
#define KNPU_DESC_SIZE			64
#define KNPU_DESC_TYPE_NOP		0
#define KNPU_DESC_TYPE_KERNEL		1
#define KNPU_DESC_FLAG_IRQ		BIT(0)
#define KNPU_DESC_FLAG_TIMESTAMPS	BIT(1)

/* 6.1 Page tables: 4 levels of 512 entries, 4 KiB pages, 2 MiB blocks */
#define KNPU_PT_LEVELS			4
#define KNPU_PT_ENTRIES			512
#define KNPU_PT_SHIFT_L3		12
#define KNPU_PT_BITS_PER_LEVEL		9
#define KNPU_VA_BITS			48
#define KNPU_PTE_VALID			BIT_ULL(0)
#define KNPU_PTE_READ			BIT_ULL(1)
#define KNPU_PTE_WRITE			BIT_ULL(2)
#define KNPU_PTE_DEVMEM			BIT_ULL(3)
#define KNPU_PTE_BLOCK			BIT_ULL(7)
#define KNPU_PTE_ADDR			GENMASK_ULL(51, 12)

/* 7.6 Error codes (the same values as the uapi's KNPU_ERR_*) */
#define KNPU_HW_ERR_MAX			0x3f

#endif /* __KNPU_REGS_H__ */
