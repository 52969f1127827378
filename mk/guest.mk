# The QEMU guest harness (owner: test infrastructure). See docs/testing.md.
#
#   make guest-run CMD='build/tools/npu-run validate' [DEVICES=2] [QEMU_ARGS='...']
#                       boot the guest with the stack loaded, run CMD inside it
#                       (host root read-only over 9p, cwd = here), exit with its status
#   make shell          the same guest, an interactive busybox shell (`hostsh` for bash)
#   make run-demo       show the virtual NPU(s) and run `npu-run validate` in the guest
#   make initramfs      (re)build the cached guest initramfs
#   make test-guest     the guest tier only (ctest -L guest); test-kunit, test-qtest likewise
#   make test-onnx      the real ONNX models on every input and precision against
#                       onnxruntime, and every ONNX backend node test (make test runs
#                       a quick subset of each: guest-onnx-models, guest-onnx-node)
.PHONY: guest-run shell run-demo initramfs test-guest test-kunit test-qtest test-host test-onnx

DEVICES ?= $(or $(KNPU_DEVICES),1)
QEMU_ARGS ?=
CMD ?=
GUEST_RUN = KNPU_BUILD=$(abspath $(BUILD)) tests/harness/guest-run.sh --devices $(DEVICES) \
	$(if $(strip $(QEMU_ARGS)),--qemu-args '$(QEMU_ARGS)')

# What a guest needs: our QEMU, the Debian guest kernel, knpu.ko (and for the
# demo the userspace tools). `make run` builds all of it first and then calls
# run-demo in a sub-make, so the sub-make (MAKELEVEL > 0) does not redo it.
ifeq ($(MAKELEVEL),0)
GUEST_PREREQS ?= qemu guest-kernel module
DEMO_PREREQS ?= $(GUEST_PREREQS) userspace
endif
# A target named here on the command line wins: make shell GUEST_PREREQS= skips the builds.

initramfs: guest-kernel
	@tests/harness/build-initramfs.sh

# CMD reaches the recipe unexpanded ($(value)) through the environment, so
# that the whole command line (';', '|', '&&', quotes, $VAR and $(...)) runs
# in the guest, not only its first command.
guest-run: export KNPU_GUEST_CMD = $(value CMD)
guest-run: $(GUEST_PREREQS)
	@test -n "$$KNPU_GUEST_CMD" || { echo "usage: make guest-run CMD='program args' [DEVICES=n] [QEMU_ARGS='...']" >&2; exit 2; }
	@$(GUEST_RUN) --sh "$$KNPU_GUEST_CMD"

shell: $(GUEST_PREREQS)
	@$(GUEST_RUN) --shell

run-demo: $(DEMO_PREREQS)
	@KNPU_BUILD=$(abspath $(BUILD)) tests/harness/demo.sh --devices $(DEVICES) \
		$(if $(strip $(QEMU_ARGS)),--qemu-args '$(QEMU_ARGS)')

# One tier at a time (each builds what it needs, then runs its CTest label).
test-guest: $(DEMO_PREREQS)
	ctest --test-dir $(BUILD) --output-on-failure -L guest
test-kunit: userspace guest-kernel qemu
	ctest --test-dir $(BUILD) --output-on-failure -L kunit
test-qtest: userspace qemu
	ctest --test-dir $(BUILD) --output-on-failure -L qtest
test-host: userspace
	ctest --test-dir $(BUILD) --output-on-failure -L host
test-onnx: $(DEMO_PREREQS)
	tests/guest/onnx-models-test.sh --timeout 900 --full $(BUILD)
	tests/guest/onnx-node-test.sh --timeout 3000 --full $(BUILD)
