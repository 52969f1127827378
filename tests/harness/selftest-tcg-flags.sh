#!/usr/bin/env bash
# CTest `guest-harness-tcg-flags`: the harness's QEMU keeps RFLAGS right
# where QEMU 7.2's TCG did not (cmpxchg8b/16b; setcc and rcl whose memory
# access faults). Boots one knpu device without the driver and runs
# tcg-flags.c. Debian's QEMU 7.2 fails it at once; the fixes are
# scripts/qemu/patches/tcg-cmpxchg-cc-op.patch and tcg-eflags-across-faults.patch.
#
# Usage: selftest-tcg-flags.sh [guest-run.sh options]
#        (KNPU_TCG_FLAGS_SECONDS: seconds of cmpxchg contention, default 3)
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

prog=$KNPU_BUILD/guest/harness/tcg-flags
knpu_build_test_program "$prog" "$KNPU_HARNESS/tcg-flags.c" -pthread -Werror
exec "$KNPU_HARNESS/guest-run.sh" --name guest-harness-tcg-flags --devices 1 --no-module \
	--timeout 240 "$@" -- "$prog" "${KNPU_TCG_FLAGS_SECONDS:-3}"
