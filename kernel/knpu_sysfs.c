// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Telemetry, counters and identity as attributes of the PCI device, for
 * what hwmon does not cover (docs/ABI/testing/sysfs-driver-knpu). They are
 * created when the driver binds and removed before it unbinds
 * (&pci_driver.dev_groups).
 */

#include <kunit/visibility.h>
#include <linux/bitfield.h>
#include <linux/pci.h>
#include <linux/sysfs.h>

#include <drm/drm_drv.h>

#include "knpu_devmem.h"
#include "knpu_hw.h"
#include "knpu_sysfs.h"

static struct knpu_device *knpu_sysfs_kdev(struct device *dev)
{
	return pci_get_drvdata(to_pci_dev(dev));
}

/**
 * knpu_device_state() - the state of the device, for admins
 * @dev_status: DEV_STATUS (hw-spec 3.2)
 *
 * Return: "lost" (it fell off the bus), "fatal" (an uncorrectable error
 * stopped it until a reset), "resetting" or "ok".
 */
VISIBLE_IF_KUNIT const char *knpu_device_state(u32 dev_status)
{
	if (dev_status == U32_MAX)
		return "lost";
	if (dev_status & KNPU_DEV_STATUS_FATAL)
		return "fatal";
	if (!(dev_status & KNPU_DEV_STATUS_READY))
		return "resetting";
	return "ok";
}

/**
 * knpu_throttle_reasons() - why the device runs below its nominal clock
 * @dev_status: DEV_STATUS of a device that answers
 *
 * Return: "thermal", or "none".
 */
VISIBLE_IF_KUNIT const char *knpu_throttle_reasons(u32 dev_status)
{
	return dev_status & KNPU_DEV_STATUS_THROTTLED ? "thermal" : "none";
}

/* Reads DEV_STATUS, -ENODEV once the driver or the device is gone. */
static int knpu_sysfs_dev_status(struct knpu_device *kdev, u32 *status)
{
	int idx;

	if (!drm_dev_enter(&kdev->drm, &idx))
		return -ENODEV;
	*status = knpu_rd(kdev, KNPU_REG_DEV_STATUS);
	drm_dev_exit(idx);
	return 0;
}

/* A telemetry register, 32 bits or a latching 64-bit _LO/_HI pair. */
struct knpu_reg_attribute {
	struct device_attribute attr;
	u32 reg;
	bool wide;
};

static ssize_t knpu_reg_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	const struct knpu_reg_attribute *ra = container_of(attr, struct knpu_reg_attribute, attr);
	struct knpu_device *kdev = knpu_sysfs_kdev(dev);
	ssize_t ret = -ENODEV;
	u64 val;
	int idx;

	if (!drm_dev_enter(&kdev->drm, &idx))
		return -ENODEV;
	if (knpu_rd(kdev, KNPU_REG_DEV_STATUS) != U32_MAX) {
		val = ra->wide ? knpu_rd64(kdev, ra->reg) : knpu_rd(kdev, ra->reg);
		ret = sysfs_emit(buf, "%llu\n", val);
	}
	drm_dev_exit(idx);
	return ret;
}

#define KNPU_REG_ATTR(_name, _reg, _wide)					\
	struct knpu_reg_attribute knpu_attr_##_name = {				\
		.attr = __ATTR(_name, 0444, knpu_reg_show, NULL),		\
		.reg = (_reg),							\
		.wide = (_wide),						\
	}

static KNPU_REG_ATTR(clock_mhz, KNPU_REG_CLOCK, false);
static KNPU_REG_ATTR(errors_correctable, KNPU_REG_ERR_CORRECTABLE, false);
static KNPU_REG_ATTR(errors_uncorrectable, KNPU_REG_ERR_UNCORRECTABLE, false);
static KNPU_REG_ATTR(mmu_faults, KNPU_REG_MMU_FAULT_COUNT, false);
static KNPU_REG_ATTR(jobs_completed, KNPU_REG_JOBS_COMPLETED_LO, true);
static KNPU_REG_ATTR(bytes_moved, KNPU_REG_BYTES_MOVED_LO, true);

#define KNPU_CORE_ATTR(_c) \
	KNPU_REG_ATTR(core##_c##_busy_ns, KNPU_REG_CORE_BUSY_LO(_c), true)

static KNPU_CORE_ATTR(0);
static KNPU_CORE_ATTR(1);
static KNPU_CORE_ATTR(2);
static KNPU_CORE_ATTR(3);
static KNPU_CORE_ATTR(4);
static KNPU_CORE_ATTR(5);
static KNPU_CORE_ATTR(6);
static KNPU_CORE_ATTR(7);
static KNPU_CORE_ATTR(8);
static KNPU_CORE_ATTR(9);
static KNPU_CORE_ATTR(10);
static KNPU_CORE_ATTR(11);
static KNPU_CORE_ATTR(12);
static KNPU_CORE_ATTR(13);
static KNPU_CORE_ATTR(14);
static KNPU_CORE_ATTR(15);

static ssize_t clock_max_mhz_show(struct device *dev, struct device_attribute *attr,
				  char *buf)
{
	return sysfs_emit(buf, "%u\n", KNPU_CLOCK_NOMINAL_MHZ);
}
static DEVICE_ATTR_RO(clock_max_mhz);

static ssize_t device_state_show(struct device *dev, struct device_attribute *attr,
				 char *buf)
{
	u32 status;
	int ret;

	ret = knpu_sysfs_dev_status(knpu_sysfs_kdev(dev), &status);
	if (ret)
		return ret;
	return sysfs_emit(buf, "%s\n", knpu_device_state(status));
}
static DEVICE_ATTR_RO(device_state);

static ssize_t throttled_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	u32 status;
	int ret;

	ret = knpu_sysfs_dev_status(knpu_sysfs_kdev(dev), &status);
	if (ret)
		return ret;
	if (status == U32_MAX)
		return -ENODEV;
	return sysfs_emit(buf, "%u\n", !!(status & KNPU_DEV_STATUS_THROTTLED));
}
static DEVICE_ATTR_RO(throttled);

static ssize_t throttle_reasons_show(struct device *dev, struct device_attribute *attr,
				     char *buf)
{
	u32 status;
	int ret;

	ret = knpu_sysfs_dev_status(knpu_sysfs_kdev(dev), &status);
	if (ret)
		return ret;
	if (status == U32_MAX)
		return -ENODEV;
	return sysfs_emit(buf, "%s\n", knpu_throttle_reasons(status));
}
static DEVICE_ATTR_RO(throttle_reasons);

static ssize_t reset_count_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", atomic_read(&knpu_sysfs_kdev(dev)->reset_count));
}
static DEVICE_ATTR_RO(reset_count);

static ssize_t serial_number_show(struct device *dev, struct device_attribute *attr,
				  char *buf)
{
	return sysfs_emit(buf, "%016llx\n", knpu_sysfs_kdev(dev)->info.serial);
}
static DEVICE_ATTR_RO(serial_number);

static ssize_t fw_version_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	u32 fw = knpu_sysfs_kdev(dev)->info.fw_version;

	return sysfs_emit(buf, "%u.%u.%u\n", fw >> 24, (fw >> 16) & 0xff, fw & 0xffff);
}
static DEVICE_ATTR_RO(fw_version);

static ssize_t hw_version_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	u32 hw = knpu_sysfs_kdev(dev)->info.hw_version;

	return sysfs_emit(buf, "%lu.%lu\n", FIELD_GET(KNPU_HW_VERSION_MAJOR, hw),
			  FIELD_GET(KNPU_HW_VERSION_MINOR, hw));
}
static DEVICE_ATTR_RO(hw_version);

static ssize_t num_cores_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", knpu_sysfs_kdev(dev)->info.num_cores);
}
static DEVICE_ATTR_RO(num_cores);

static ssize_t memory_total_bytes_show(struct device *dev, struct device_attribute *attr,
				       char *buf)
{
	return sysfs_emit(buf, "%llu\n", knpu_sysfs_kdev(dev)->devmem->mm.size);
}
static DEVICE_ATTR_RO(memory_total_bytes);

/* Every allocated block, whoever holds it: fdinfo shows only a reader's own. */
static ssize_t memory_used_bytes_show(struct device *dev, struct device_attribute *attr,
				      char *buf)
{
	return sysfs_emit(buf, "%llu\n", knpu_devmem_used(knpu_sysfs_kdev(dev)->devmem));
}
static DEVICE_ATTR_RO(memory_used_bytes);

static struct attribute *knpu_attrs[] = {
	&knpu_attr_clock_mhz.attr.attr,
	&dev_attr_clock_max_mhz.attr,
	&knpu_attr_errors_correctable.attr.attr,
	&knpu_attr_errors_uncorrectable.attr.attr,
	&knpu_attr_mmu_faults.attr.attr,
	&knpu_attr_jobs_completed.attr.attr,
	&knpu_attr_bytes_moved.attr.attr,
	&dev_attr_device_state.attr,
	&dev_attr_throttled.attr,
	&dev_attr_throttle_reasons.attr,
	&dev_attr_reset_count.attr,
	&dev_attr_serial_number.attr,
	&dev_attr_fw_version.attr,
	&dev_attr_hw_version.attr,
	&dev_attr_num_cores.attr,
	NULL
};

static const struct attribute_group knpu_attr_group = {
	.attrs = knpu_attrs,
};

static struct attribute *knpu_core_attrs[] = {
	&knpu_attr_core0_busy_ns.attr.attr,
	&knpu_attr_core1_busy_ns.attr.attr,
	&knpu_attr_core2_busy_ns.attr.attr,
	&knpu_attr_core3_busy_ns.attr.attr,
	&knpu_attr_core4_busy_ns.attr.attr,
	&knpu_attr_core5_busy_ns.attr.attr,
	&knpu_attr_core6_busy_ns.attr.attr,
	&knpu_attr_core7_busy_ns.attr.attr,
	&knpu_attr_core8_busy_ns.attr.attr,
	&knpu_attr_core9_busy_ns.attr.attr,
	&knpu_attr_core10_busy_ns.attr.attr,
	&knpu_attr_core11_busy_ns.attr.attr,
	&knpu_attr_core12_busy_ns.attr.attr,
	&knpu_attr_core13_busy_ns.attr.attr,
	&knpu_attr_core14_busy_ns.attr.attr,
	&knpu_attr_core15_busy_ns.attr.attr,
	NULL
};

static_assert(ARRAY_SIZE(knpu_core_attrs) == KNPU_MAX_CORES + 1);

/* Only the cores the device has; their attributes are in core order. */
static umode_t knpu_core_attr_visible(struct kobject *kobj, struct attribute *attr, int n)
{
	struct knpu_device *kdev = knpu_sysfs_kdev(kobj_to_dev(kobj));

	return n < kdev->info.num_cores ? attr->mode : 0;
}

static const struct attribute_group knpu_core_attr_group = {
	.attrs = knpu_core_attrs,
	.is_visible = knpu_core_attr_visible,
};

static struct attribute *knpu_memory_attrs[] = {
	&dev_attr_memory_total_bytes.attr,
	&dev_attr_memory_used_bytes.attr,
	NULL
};

/* Only on a device with on-board memory. */
static umode_t knpu_memory_attr_visible(struct kobject *kobj, struct attribute *attr, int n)
{
	return knpu_sysfs_kdev(kobj_to_dev(kobj))->devmem ? attr->mode : 0;
}

static const struct attribute_group knpu_memory_attr_group = {
	.attrs = knpu_memory_attrs,
	.is_visible = knpu_memory_attr_visible,
};

const struct attribute_group *knpu_sysfs_groups[] = {
	&knpu_attr_group,
	&knpu_core_attr_group,
	&knpu_memory_attr_group,
	NULL
};
