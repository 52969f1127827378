#!/usr/bin/env bash
# CTest test guest-tools: npu-asm and npu-run used as an admin would, in the
# guest with two NPUs. Usage: tools-test.sh [--timeout SEC] BUILD_DIR
# (tools-in-guest.sh does the checks inside the guest).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout_s=300
if [ "${1:-}" = --timeout ]; then
	timeout_s=$2
	shift 2
fi
build=$(cd "${1:?usage: tools-test.sh [--timeout SEC] BUILD_DIR}" && pwd)
cd "$here/../.."
exec tests/harness/guest-run.sh --devices 2 --name guest-tools --timeout "$timeout_s" \
	-- "$here/tools-in-guest.sh" "$build"
