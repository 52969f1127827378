#!/usr/bin/env bash
# In the guest (onnx-models-test.sh): npu-infer on every case, then the
# refusals. Usage: onnx-models-in-guest.sh BUILD ASSETS WORK RESULTS
set -euo pipefail
build=$1 assets=$2 work=$3 results=$4
infer=$build/tools/npu-infer
status=0
for spec in "$work"/*.case; do
	read -r model input dtype calibration <"$spec"
	name=$(basename "$spec" .case)
	case $model in /*) ;; *) model=$assets/$model ;; esac
	echo "== $name: $(basename "$model") $input $dtype ${calibration:+calibrated on $calibration}"
	calibrate=()
	for file in ${calibration//,/ }; do
		calibrate+=(--calibrate "x=$work/$file")
	done
	feeds=()
	for file in ${input//,/ }; do
		case $file in *=*) feeds+=(--input "${file%%=*}=$work/${file#*=}") ;; *) feeds+=(--input "x=$work/$file") ;; esac
	done
	start=$SECONDS
	"$infer" "$model" "${feeds[@]}" --output "$results/npu-$name" \
		--dtype "$dtype" "${calibrate[@]}" --repeat 2 --json >"$results/npu-$name.json" || { echo "FAIL: $name exited $?"; status=1; }
	echo "   $((SECONDS - start)) s (load, compile, two inferences)"
	grep -E '"(instructions|jobs_per_inference|weights_in_device_memory|int8_nodes|int8_conversions|median)"' "$results/npu-$name.json" || true
done

# expect_failure NAME STATUS PATTERN -- NPU-INFER-ARGS...: npu-infer exits
# with STATUS and its stderr (results/NAME.err) matches the grep PATTERN.
expect_failure() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 4
	"$infer" "$@" 2>"$results/$name.err" || rc=$?
	cat "$results/$name.err"
	if [ "$rc" -ne "$want" ] || ! grep -q -- "$pattern" "$results/$name.err"; then
		echo "FAIL: $name: exit $rc, expected $want with /$pattern/"
		status=1
	fi
}

echo "== an output the runtime does not compute (a 1-D pooling's argmax indices) is refused by name at compile time"
expect_failure indices 3 'MaxPool (1 node: y): the Indices output' -- \
	"$work/maxpool_indices.onnx" --input "x=$work/maxpool_indices.npy"

echo "== a tensor beyond the device's 64 MiB operand fails the job naming the node and the size"
expect_failure beyond 1 "in node ConvTranspose .*: a tensor of 66 MiB there exceeds the device's 64 MiB operand" -- \
	"$work/conv_transpose_computed_beyond_operand.onnx" --input "x=$work/conv_transpose_computed_beyond_operand.npy"

echo "== a token id past the vocabulary fails the job at that id (GATHER, hw-spec 7.4.3), naming the Gather"
expect_failure gather-range 1 'OPERAND_INVALID at 0x[0-9a-f]*, in node Gather' -- \
	"$work/embed_encoder.onnx" --input "input_ids=$work/emb-out-of-range-ids.npy" \
	--input "attention_mask=$work/emb-full-mask.npy"

echo "== the same past a table beyond the 64 MiB operand, which GATHER does not stage: no size named"
expect_failure gather-large-table 1 'OPERAND_INVALID at 0x[0-9a-f]*, in node Gather (output .y.) (program byte 0x[0-9a-f]*, operand 1)$' -- \
	"$work/large_table_embedding.onnx" --input "input_ids=$work/emb-out-of-range-ids.npy"

echo "== an id beyond the axis of a Gather along axis 1 fails the job at that id"
expect_failure gather-axis1-range 1 'OPERAND_INVALID at 0x[0-9a-f]*, in node Gather' -- \
	"$work/gather_runtime_axis1.onnx" --input "x=$work/axis1-x.npy" \
	--input "cols=$work/axis1-bad-ids.npy"

echo "== an int64 mask value beyond 32 bits is refused naming the node that reads it as INT32"
expect_failure wide-mask 2 "value 4294967296 at 3 does not fit the 32 bits Cast (output 'expanded_f')" -- \
	"$work/hf_mask_encoder.onnx" --input "input_ids=$work/emb-full-ids.npy" \
	--input "attention_mask=$work/emb-wide-mask.npy"

echo "== pre-quantized models (QDQ, QOperator, dynamic) are refused in fp16 and bf16, naming fp32 and int8"
for graph in qdq_conv qop_conv qop_dynamic; do
	for dtype in fp16 bf16; do
		expect_failure "$graph-$dtype" 2 'rounding is computed in FP32: compile it in fp32 or int8' -- \
			"$build/tests/host/onnx-models/$graph.onnx" --input "x=$work/${graph/_/-}.npy" --dtype "$dtype"
	done
done

echo "== a file that is not ONNX is refused"
expect_failure bad 2 'not an ONNX model' -- "$work/maxpool_indices.npy" --input "x=$work/maxpool_indices.npy"
echo "== npu-bench's model figure (--quick) against onnxruntime's baseline"
start=$SECONDS
if ! "$build/tools/npu-bench" --quick --model-baseline "$work/bench/baseline.json" \
	--json-file "$results/bench.json" >"$results/bench.txt" ||
	! /usr/bin/python3 - "$results/bench.json" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1]))['models']['cases']
assert [c['name'] for c in cases] == ['cls', 'cls', 'det', 'det', 'rec', 'rec'], cases
for c in cases:
    assert c['device'] and c['device']['latency']['samples'] > 0, c
    # INT8 (calibrated on the case's input) against onnxruntime's FP32:
    # probabilities within 0.5, a figure rather than the accuracy check.
    tolerance = 1e-3 if c['precision'] == 'fp32' else 0.5
    assert c['latency_ratio'] > 0 and c['max_difference'] < tolerance, c
    print(c['name'], c['precision'], c['latency_ratio'], c['max_difference'], c['device_skipped'])
PY
then
	echo "FAIL: npu-bench --model-baseline"
	status=1
fi
echo "   $((SECONDS - start)) s"
exit $status
