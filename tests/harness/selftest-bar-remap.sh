#!/usr/bin/env bash
# CTest `guest-harness-bar-remap`: the harness's QEMU survives a guest that
# changes the memory map on one vCPU while the other reads MMIO. Boots two
# knpu devices without the driver and runs bar-remap-race.c: one vCPU reads a
# device's ID register, the other turns the second device's memory decoding
# off and on. Debian's QEMU 7.2 fails it within seconds (a wrong value, or
# QEMU aborts); scripts/qemu/patches/tcg-commit-on-cpu.patch is the fix.
#
# Usage: selftest-bar-remap.sh [guest-run.sh options]
#        (KNPU_BAR_REMAP_SECONDS: seconds per phase, default 5)
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

prog=$KNPU_BUILD/guest/harness/bar-remap-race
knpu_build_test_program "$prog" "$KNPU_HARNESS/bar-remap-race.c" -pthread -Werror
exec "$KNPU_HARNESS/guest-run.sh" --name guest-harness-bar-remap --devices 2 --no-module \
	--timeout 240 "$@" -- "$prog" "${KNPU_BAR_REMAP_SECONDS:-5}"
