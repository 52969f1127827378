# npu-bench, the performance figures as ratios (owner: userspace). See
# docs/performance.md. Not part of `make test`.
#
#   make bench        npu-bench in the guest with one NPU: the table on the
#                     console, the JSON in $(BUILD)/bench.json
#   make bench-host   the native oneDNN baselines on this machine, no guest:
#                     $(BUILD)/bench-host.json
#   BENCH_ARGS='--gemm-size 512 --samples 200' passes options to npu-bench.
.PHONY: bench bench-host

BENCH_ARGS ?=
BENCH_THREADS ?= 4

bench: $(DEMO_PREREQS)
	KNPU_BUILD=$(abspath $(BUILD)) tests/harness/guest-run.sh --devices 1 --name bench \
		--timeout 3600 -- $(abspath $(BUILD))/tools/npu-bench \
		--json-file @RESULTS@/bench.json $(BENCH_ARGS)
	cp $(BUILD)/guest/bench/bench.json $(BUILD)/bench.json

bench-host: userspace
	$(BUILD)/tools/npu-bench --host-only --threads $(BENCH_THREADS) \
		--json-file $(BUILD)/bench-host.json $(BENCH_ARGS)
