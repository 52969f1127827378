#!/usr/bin/env bash
# CTest test guest-onnx-node: ONNX's own backend node tests (Debian's
# python3-onnx generates them) through npu-infer on the virtual NPU, each
# against the output ONNX expects (or onnxruntime's, where the two differ):
# no case may give a wrong answer or crash, and every case in
# onnx-node-expected.txt must pass. Usage:
#   onnx-node-test.sh [--timeout SEC] [--full] BUILD_DIR
# (--full: every case, `make test-onnx`; without it one expected pass of
# each operator, as `make test` runs it.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=onnx-test-args.sh
. "$here/onnx-test-args.sh"
cd "$here/../.."
name=guest-onnx-node
[ "${KNPU_GUEST_KERNEL:-}" != debug ] || name=debug-$name
work=$build/$name
expected=$here/onnx-node-expected.txt
/usr/bin/python3 "$here/onnx_node_check.py" cases "$work" --expected "$expected" $full
tests/harness/guest-run.sh --name "$name" --timeout "$timeout_s" \
	-- "$here/onnx-node-in-guest.sh" "$build" "$work" @RESULTS@
/usr/bin/python3 "$here/onnx_node_check.py" compare "$work" "$build/guest/$name" \
	--expected "$expected"
