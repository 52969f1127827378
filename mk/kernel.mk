# The kernel driver's targets (owner: kernel). See scripts/kernel/.
.PHONY: guest-kernel module module-clean sparse checkpatch kunit kunit-kernel kernel-smoke kernel-check \
	debug-kernel debug-module test-debug soak

# Debian 6.12: resolve one ABI, install its headers, unpack its image and
# modules into $(KNPU_CACHE), extract linux-source-6.12; writes kernel.env.
guest-kernel:
	@scripts/kernel/guest-kernel.sh

# kernel/knpu.ko, out of tree, W=1; a warning fails the build.
module: guest-kernel
	@scripts/kernel/build-module.sh

module-clean:
	@scripts/kernel/build-module.sh clean

# The module build with sparse on every file; a sparse warning fails it.
sparse: guest-kernel
	@scripts/kernel/build-module.sh C=2

checkpatch: guest-kernel
	@scripts/kernel/checkpatch.sh

# The driver's KUnit suites (kunit.py, x86_64, under our QEMU, with lockdep);
# KNPU_KUNIT_KASAN=1 adds KASAN.
kunit: guest-kernel qemu
	@scripts/kernel/run-kunit.sh

# The debug guest kernel (KASAN, lockdep, kmemleak, debug objects, DMA-API
# debugging; scripts/kernel/debug-guest.config), cached by its inputs, and
# knpu.ko against it. The harness boots them with KNPU_GUEST_KERNEL=debug.
debug-kernel: guest-kernel
	@scripts/kernel/debug-kernel.sh

debug-module: debug-kernel
	@KNPU_GUEST_KERNEL=debug KNPU_BUILD=$(abspath $(BUILD)) scripts/kernel/build-module.sh

# The debug tier: every guest test again on the debug kernel (ctest label
# debug). Its own target, as kernel CI runs a debug config as its own job:
# `make test` on a fresh 2-core machine stays under 45 minutes; CI runs both.
test-debug: all debug-module
	ctest --test-dir $(BUILD) --output-on-failure -j$(TEST_JOBS) -L debug

# The soak (tests/kernel/knpu-soak.c) for SOAK_MINUTES (10) in the guest;
# `make test` runs a 20 s version (guest-soak).
SOAK_MINUTES ?= 10
soak: qemu guest-kernel module
	@KNPU_SOAK_SECONDS=$$(($(SOAK_MINUTES) * 60)) KNPU_BUILD=$(abspath $(BUILD)) \
		tests/kernel/soak.sh --timeout $$(($(SOAK_MINUTES) * 60 + 300))

# Only build the KUnit kernel (cached): `make test` does this before CTest,
# so the kunit test's timeout covers running, not a cold kernel build.
kunit-kernel: guest-kernel qemu
	@scripts/kernel/run-kunit.sh --build-only

# knpu.ko against the device model in the guest: a raw-ioctl bring-up test
# (tests/kernel/knpu-smoke.c), TAP output.
kernel-smoke: qemu guest-kernel module
	@tests/kernel/smoke.sh

# Everything a driver change must pass before it is committed (in order: the
# sparse build also produces knpu.ko).
kernel-check: guest-kernel qemu
	@scripts/kernel/checkpatch.sh
	@scripts/kernel/build-module.sh C=2
	@scripts/kernel/run-kunit.sh
