# Fuzzing (docs/testing.md, "Fuzzing"): bounded long runs; the short runs are
# part of `make test`.
#   make fuzz          the ioctl fuzzer in the guest, 1,000,000 calls
#                      (KNPU_FUZZ_CALLS, KNPU_FUZZ_SEED, KNPU_FUZZ_PROCS, KNPU_FUZZ_THREADS)
#   make fuzz-loader   libnpu's kernel binary loader under libFuzzer
#                      (FUZZ_SECONDS, default 600)
#   make fuzz-model    the ONNX runtime's compiler under libFuzzer, model files
#                      in (FUZZ_SECONDS, default 600)
#   make fuzz-device   the device model from the guest side, against QEMU built
#                      with ASan and UBSan (KNPU_FUZZ_OPS, KNPU_FUZZ_SEED)
.PHONY: fuzz fuzz-loader fuzz-model fuzz-device
FUZZ_SECONDS ?= 600

fuzz: qemu guest-kernel module userspace
	@tests/kernel/fuzz.sh

fuzz-loader: userspace
	@tests/fuzz/run-libfuzzer.sh --fuzzer $(BUILD)/tests/fuzz/loader/knpu-loader-fuzzer \
		--corpus tests/fuzz/loader/corpus --work $(BUILD)/tests/fuzz/loader-long \
		-- -max_total_time=$(FUZZ_SECONDS)

fuzz-model: userspace
	@tests/fuzz/run-libfuzzer.sh --fuzzer $(BUILD)/tests/fuzz/model/knpu-model-fuzzer \
		--corpus tests/fuzz/model/corpus --work $(BUILD)/tests/fuzz/model-long \
		-- -max_total_time=$(FUZZ_SECONDS)

fuzz-device:
	@tests/fuzz/device/run.sh
