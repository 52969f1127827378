// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * hwmon: the die temperature and board power (hw-spec 3.4), so `sensors`
 * and every hwmon-aware monitor show each card.
 */

#include <linux/hwmon.h>
#include <linux/pci.h>

#include <drm/drm_drv.h>

#include "knpu_hw.h"
#include "knpu_hwmon.h"

static umode_t knpu_hwmon_is_visible(const void *data, enum hwmon_sensor_types type,
				     u32 attr, int channel)
{
	return 0444;
}

static int knpu_hwmon_read_temp(struct knpu_device *kdev, u32 attr, long *val)
{
	switch (attr) {
	case hwmon_temp_input:
		*val = knpu_rd(kdev, KNPU_REG_TEMP);
		return 0;
	case hwmon_temp_max:
		*val = KNPU_TEMP_RECOVER_MC;
		return 0;
	case hwmon_temp_crit:
		*val = KNPU_TEMP_THROTTLE_MC;
		return 0;
	case hwmon_temp_crit_hyst:
		*val = KNPU_TEMP_RECOVER_MC;
		return 0;
	case hwmon_temp_crit_alarm:
		*val = !!(knpu_rd(kdev, KNPU_REG_DEV_STATUS) & KNPU_DEV_STATUS_THROTTLED);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int knpu_hwmon_read(struct device *dev, enum hwmon_sensor_types type,
			   u32 attr, int channel, long *val)
{
	struct knpu_device *kdev = dev_get_drvdata(dev);
	int ret, idx;

	if (!drm_dev_enter(&kdev->drm, &idx))
		return -ENODEV;

	/* A device that fell off the bus reads all ones. */
	if (knpu_rd(kdev, KNPU_REG_DEV_STATUS) == U32_MAX) {
		ret = -ENODEV;
	} else if (type == hwmon_temp) {
		ret = knpu_hwmon_read_temp(kdev, attr, val);
	} else if (type == hwmon_power && attr == hwmon_power_average) {
		/* mW to the hwmon unit, uW */
		*val = (long)knpu_rd(kdev, KNPU_REG_POWER) * 1000;
		ret = 0;
	} else {
		ret = -EOPNOTSUPP;
	}

	drm_dev_exit(idx);
	return ret;
}

static const struct hwmon_ops knpu_hwmon_ops = {
	.is_visible = knpu_hwmon_is_visible,
	.read = knpu_hwmon_read,
};

static const struct hwmon_channel_info * const knpu_hwmon_info[] = {
	HWMON_CHANNEL_INFO(temp, HWMON_T_INPUT | HWMON_T_MAX | HWMON_T_CRIT |
			   HWMON_T_CRIT_HYST | HWMON_T_CRIT_ALARM),
	HWMON_CHANNEL_INFO(power, HWMON_P_AVERAGE),
	NULL
};

static const struct hwmon_chip_info knpu_hwmon_chip_info = {
	.ops = &knpu_hwmon_ops,
	.info = knpu_hwmon_info,
};

/**
 * knpu_hwmon_init() - register the device's hwmon sensors
 * @kdev: the device
 *
 * The hwmon device is device-managed: it goes away after the PCI device's
 * remove(), and reads after an unplug fail with -ENODEV.
 *
 * Return: 0 or a negative errno.
 */
int knpu_hwmon_init(struct knpu_device *kdev)
{
	struct device *hwmon;

	hwmon = devm_hwmon_device_register_with_info(kdev->drm.dev, KNPU_DRIVER_NAME, kdev,
						     &knpu_hwmon_chip_info, NULL);
	return PTR_ERR_OR_ZERO(hwmon);
}
