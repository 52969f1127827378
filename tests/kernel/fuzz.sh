#!/usr/bin/env bash
# `make fuzz`: the ioctl fuzzer (tests/kernel/knpu-fuzz.c) in the guest, a
# long run: KNPU_FUZZ_CALLS calls (default 1,000,000) by KNPU_FUZZ_PROCS
# processes (2) of KNPU_FUZZ_THREADS threads (4), seed KNPU_FUZZ_SEED
# (default: new each run; the fuzzer prints it). Afterwards the fuzzer's own
# DMA_FILL check and `npu-run validate` must pass, and the harness fails the
# run on any kernel splat. Extra arguments go to tests/harness/guest-run.sh.
# The short run is the fuzz phase of guest-kernel-smoke (tests/kernel/smoke-guest.sh).
# shellcheck source-path=SCRIPTDIR source=../harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../harness/lib.sh"

out=$KNPU_CACHE/kernel-smoke
knpu_build_test_program "$out/knpu-fuzz" "$KNPU_ROOT/tests/kernel/knpu-fuzz.c" -pthread
seed=${KNPU_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
cd "$KNPU_ROOT"
# A short job timeout: generated programs that wait on a semaphore forever
# hold their queue until it fires.
# A per-file pinned-memory limit keeps 2 x 4 files of buffers within the guest's RAM.
exec tests/harness/guest-run.sh --name fuzz --module-params "job_timeout_ms=2000 pinned_limit_mb=64" \
	--timeout "${KNPU_FUZZ_TIMEOUT:-3600}" "$@" --sh \
	"'$out/knpu-fuzz' --seed $seed --calls ${KNPU_FUZZ_CALLS:-1000000} \
	--procs ${KNPU_FUZZ_PROCS:-2} --threads ${KNPU_FUZZ_THREADS:-4} && '$KNPU_BUILD/tools/npu-run' validate"
