#!/usr/bin/env bash
# CTest test guest-soak (short) and `make soak` (long): knpu-soak, 8 processes
# x 4 queues of mixed jobs (DMA, semaphores across queues, timeline waits) for
# KNPU_SOAK_SECONDS (20) in the guest; one NPU with 32 hardware queues, so
# every queue of the soak gets its own.
# Extra arguments go to tests/harness/guest-run.sh (e.g. --timeout 900).
# shellcheck source-path=SCRIPTDIR source=../harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/lib.sh"

seconds=${KNPU_SOAK_SECONDS:-20}
[[ $seconds =~ ^[0-9]+$ ]] || knpu_die "KNPU_SOAK_SECONDS wants a number, got '$seconds'"
out=$KNPU_BUILD/load-tests
knpu_build_test_program "$out/knpu-soak" "$KNPU_ROOT/tests/kernel/knpu-soak.c" -Werror
cd "$KNPU_ROOT"
exec tests/harness/guest-run.sh --name guest-soak --devices 1 --device-opts queues=32 \
	"$@" -- "$out/knpu-soak" "$seconds"
