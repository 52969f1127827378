#!/usr/bin/env bash
# Build knpu-smoke (raw-ioctl bring-up test of knpu.ko) and run its phases
# (basic, hang, unplug) in the guest with the project's harness:
# `make kernel-smoke`.
# Extra arguments go to tests/harness/guest-run.sh (e.g. --devices 2).
# The module the guest loads (the debug kernel's with KNPU_GUEST_KERNEL=debug);
# the reload phase loads the same file again. lib.sh sources common.sh.
# shellcheck source-path=SCRIPTDIR source=../harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/lib.sh"

out=$KNPU_CACHE/kernel-smoke
for prog in knpu-smoke knpu-fuzz; do
	knpu_build_test_program "$out/$prog" "$KNPU_ROOT/tests/kernel/$prog.c" -pthread
done
cd "$KNPU_ROOT"
# A short job timeout so that the hang phase is quick.
exec tests/harness/guest-run.sh --name kernel-smoke --devices 2 --module-params job_timeout_ms=2000 "$@" -- \
	"$KNPU_ROOT/tests/kernel/smoke-guest.sh" "$out/knpu-smoke" "$KNPU_MODULE"
