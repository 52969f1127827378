#!/usr/bin/env bash
# CTest test guest-npu-smi: npu-smi, the driver's sysfs/hwmon/fdinfo/debugfs/
# tracepoints and the Prometheus exporter, in the guest with two NPUs.
# Usage: npu-smi-test.sh [--timeout SEC] BUILD_DIR (npu-smi-in-guest.py does
# the checks inside the guest).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout_s=540
if [ "${1:-}" = --timeout ]; then
	timeout_s=$2
	shift 2
fi
build=$(cd "${1:?usage: npu-smi-test.sh [--timeout SEC] BUILD_DIR}" && pwd)
cd "$here/../.."
# The reset check lets a job time out: keep that short.
exec tests/harness/guest-run.sh --devices 2 --name guest-npu-smi --timeout "$timeout_s" \
	--module-params job_timeout_ms=2000 \
	-- /usr/bin/python3 "$here/npu-smi-in-guest.py" "$build"
