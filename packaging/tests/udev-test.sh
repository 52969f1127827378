#!/usr/bin/env bash
# guest-udev: the installed udev rule at work in the guest, with two NPUs
# (packaging/tests/udev-guest.sh). Extra arguments go to guest-run.sh.
#   udev-test.sh [--timeout S] BUILD_DIR
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

args=()
while [ $# -gt 1 ]; do args+=("$1"); shift; done
build=${1:?usage: udev-test.sh [guest-run options] BUILD_DIR}
cd "$KNPU_ROOT"
exec tests/harness/guest-run.sh --name guest-udev --devices 2 "${args[@]}" -- \
	"$KNPU_ROOT/packaging/tests/udev-guest.sh" "$KNPU_ROOT/packaging/udev/70-knpu.rules" \
	"$build/tools/npu-run" "$build/tools/npu-smi"
