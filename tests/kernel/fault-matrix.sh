#!/usr/bin/env bash
# CTest test guest-fault-matrix (and debug-guest-fault-matrix): each device
# fault the model can inject, an FLR and a module reload, while 4 processes
# run jobs on 8 queues (tests/kernel/knpu-fault-matrix.c), in one guest with
# two NPUs; one KTAP result per fault in fault-matrix.ktap.
# Extra arguments go to tests/harness/guest-run.sh (e.g. --timeout 600).
# shellcheck source-path=SCRIPTDIR source=../harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/lib.sh"

out=$KNPU_BUILD/load-tests
knpu_build_test_program "$out/knpu-fault-matrix" "$KNPU_ROOT/tests/kernel/knpu-fault-matrix.c" -Werror
cd "$KNPU_ROOT"
# A short job timeout so that the hang is found quickly.
params=job_timeout_ms=15000
# Freed memory is zeroed, so a fence that reads its freed scheduler
# (fences-rmmod, fences-unbind) oopses every time instead of now and then.
export KNPU_KERNEL_CMDLINE="init_on_free=1${KNPU_KERNEL_CMDLINE:+ $KNPU_KERNEL_CMDLINE}"
exec tests/harness/guest-run.sh --name guest-fault-matrix --devices 2 --module-params "$params" \
	"$@" -- "$KNPU_ROOT/tests/kernel/fault-matrix-guest.sh" "$out/knpu-fault-matrix" \
	"$KNPU_MODULE" "$params"
