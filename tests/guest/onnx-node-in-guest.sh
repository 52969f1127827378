#!/usr/bin/env bash
# In the guest (onnx-node-test.sh): npu-infer on every case WORK/run.txt
# lists, each case's log, exit status and outputs in RESULTS/<case>/.
# Usage: onnx-node-in-guest.sh BUILD WORK RESULTS
set -euo pipefail
build=$1 work=$2 results=$3
start=$SECONDS
while read -r name; do
	case_dir=$work/cases/$name
	out=$results/$name
	mkdir -p "$out/out"
	read -ra args <"$case_dir/args"
	rc=0
	"$build/tools/npu-infer" "$case_dir/model.onnx" "${args[@]}" --output "$out/out" \
		>"$out/log" 2>&1 || rc=$?
	echo "$rc" >"$out/rc"
done <"$work/run.txt"
echo "$(wc -l <"$work/run.txt") cases in $((SECONDS - start)) s"
