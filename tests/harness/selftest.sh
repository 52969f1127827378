#!/usr/bin/env bash
# CTest `guest-harness`: boots the guest with two virtual NPUs and runs
# tests/harness/guest/selftest.sh in it (KTAP): the harness itself (9p shares,
# host libraries, DRM modules), the devices on the PCI bus with the identity of
# docs/hw-spec.md, then what needs the driver (knpu.ko loads, binds every
# device, MSI-X on, /dev/accel/accelN nodes).
#
# Usage: selftest.sh [guest-run.sh options]   (KNPU_SELFTEST_DEVICES, default 2)
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=${KNPU_SELFTEST_DEVICES:-2}
exec "$KNPU_HARNESS/guest-run.sh" --name guest-harness --devices "$n" --module-optional \
	--env KNPU_EXPECT_DEVICES="$n" --timeout 240 "$@" -- "$KNPU_HARNESS/guest/selftest.sh"
