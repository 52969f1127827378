#!/usr/bin/env bash
# In the guest (onnx-models-test.sh): npu-infer on every case, then the
# refusals. Usage: onnx-models-in-guest.sh BUILD ASSETS WORK RESULTS
set -euo pipefail
build=$1 assets=$2 work=$3 results=$4
infer=$build/tools/npu-infer
status=0
for spec in "$work"/*.case; do
	read -r model input dtype <"$spec"
	name=$(basename "$spec" .case)
	echo "== $name: $model $input $dtype"
	"$infer" "$assets/$model" --input "x=$work/$input" --output "$results/npu-$name" \
		--dtype "$dtype" --repeat 2 --json >"$results/npu-$name.json" || { echo "FAIL: $name exited $?"; status=1; }
	grep -E '"(instructions|jobs_per_inference|weights_in_device_memory|median)"' "$results/npu-$name.json" || true
done

echo "== a model with operators ISA v1 lacks is refused by name"
rc=0
"$infer" "$assets/ch_PP-OCRv4_det_infer.onnx" --input "x=$work/det.npy" 2>"$results/det.err" || rc=$?
cat "$results/det.err"
if [ "$rc" -ne 3 ] || ! grep -q 'Resize (6 nodes' "$results/det.err" ||
	! grep -q 'ConvTranspose (2 nodes' "$results/det.err"; then
	echo "FAIL: det: exit $rc, expected 3 naming Resize and ConvTranspose"
	status=1
fi

echo "== a file that is not ONNX is refused"
rc=0
"$infer" "$work/det.npy" --input "x=$work/det.npy" 2>"$results/bad.err" || rc=$?
cat "$results/bad.err"
if [ "$rc" -ne 2 ] || ! grep -q 'not an ONNX model' "$results/bad.err"; then
	echo "FAIL: not-ONNX file: exit $rc, expected 2"
	status=1
fi
exit $status
