#!/usr/bin/env bash
# `make run-demo` (and so `make run`): boot the guest with the virtual NPU(s),
# load the stack, show the devices and run real work through libnpu, the
# driver and the device model: `npu-run validate`, watched with npu-smi.
#
# Usage: demo.sh [guest-run.sh options]     (NPU_RUN=path, NPU_SMI=path override the tools)
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
npu_run=${NPU_RUN:-$KNPU_BUILD/tools/npu-run}
npu_smi=${NPU_SMI:-$KNPU_BUILD/tools/npu-smi}
[ -x "$npu_run" ] || knpu_log "warning: $npu_run not built yet ('make userspace'); the demo shows the devices only"
exec "$KNPU_HARNESS/guest-run.sh" --name demo --timeout 300 "$@" -- \
	"$KNPU_HARNESS/guest/demo.sh" "$npu_run" "$npu_smi"
