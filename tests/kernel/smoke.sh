#!/usr/bin/env bash
# Build knpu-smoke (raw-ioctl bring-up test of knpu.ko) and run its phases
# (basic, hang, unplug) in the guest with the project's harness:
# `make kernel-smoke`.
# Extra arguments go to tests/harness/guest-run.sh (e.g. --devices 2).
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
# The module the guest loads (the debug kernel's with KNPU_GUEST_KERNEL=debug);
# the reload phase loads the same file again.
# shellcheck source=../harness/lib.sh
. "$KNPU_ROOT/tests/harness/lib.sh"

knpu_apt_install gcc libdrm-dev
out=$KNPU_CACHE/kernel-smoke
mkdir -p "$out"
for prog in knpu-smoke knpu-fuzz; do
	gcc -O2 -g -Wall -Wextra -Wno-missing-field-initializers -pthread -o "$out/$prog" \
		-I"$KNPU_ROOT/uapi" -I/usr/include/libdrm "$KNPU_ROOT/tests/kernel/$prog.c"
done
cd "$KNPU_ROOT"
# A short job timeout so that the hang phase is quick.
exec tests/harness/guest-run.sh --name kernel-smoke --devices 2 --module-params job_timeout_ms=2000 "$@" -- \
	"$KNPU_ROOT/tests/kernel/smoke-guest.sh" "$out/knpu-smoke" "$KNPU_MODULE"
