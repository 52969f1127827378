#!/usr/bin/env bash
# CTest test guest-run-line: `make guest-run CMD='a && b | c'` runs the whole
# command line in the guest. Each part below only succeeds there (the host
# has no /dev/accel); when make split the line, the parts after the first
# ran on the host and failed. Usage: guest-run-line-test.sh [--timeout SEC] BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout_s=300
if [ "${1:-}" = --timeout ]; then
	timeout_s=$2
	shift 2
fi
build=$(cd "${1:?usage: guest-run-line-test.sh [--timeout SEC] BUILD_DIR}" && pwd)
cd "$here/../.."
export KNPU_GUEST_TIMEOUT=$timeout_s
# shellcheck disable=SC2016 # expanded in the guest
exec make --no-print-directory guest-run GUEST_PREREQS= BUILD="$build" \
	CMD='test -c /dev/accel/accel0 && ls /dev/accel | grep -qx accel0; test "$(ls /dev/accel)" = accel0'
