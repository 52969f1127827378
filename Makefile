# knpu: the front door. `make run` boots the virtual NPU and runs real work
# through the whole stack; `make test` runs every test tier. Both install and
# build what they need first; builds are cached in $(KNPU_CACHE).
SHELL := /bin/bash
export KNPU_CACHE ?= $(HOME)/.cache/knpu
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all run test deps

all: qemu module userspace guest-kernel

# Each part contributes its own targets:
#   mk/qemu.mk      qemu (QEMU with the KNPU device + qtest binary)
#   mk/kernel.mk    guest-kernel (Debian 6.12 image/headers/source), module, kunit, checkpatch
#   mk/userspace.mk userspace (libnpu, tools, GoogleTest suites via CMake), format
#   mk/guest.mk     guest-run CMD=..., shell, run-demo
include $(sort $(wildcard mk/*.mk))

run: all
	@$(MAKE) --no-print-directory run-demo

# Every tier but the debug guest kernel's (KASAN, lockdep, kmemleak): that
# one is `make test-debug` (mk/kernel.mk), CI's second job, because its
# kernel build and suites would take a fresh 2-core machine past 45 minutes
# (docs/testing.md). CI runs both. Two tests at a time (about 15 % sooner on
# 2 cores than TEST_JOBS=1).
TEST_JOBS ?= 2
test: all kunit-kernel
	ctest --test-dir $(BUILD) --output-on-failure -j$(TEST_JOBS) -LE debug
