#!/usr/bin/env bash
# CTest `guest-harness-cmpxchg-flags`: the harness's QEMU leaves RFLAGS right
# after cmpxchg8b and cmpxchg16b. Boots one knpu device without the driver
# and runs cmpxchg-flags.c. Debian's QEMU 7.2 fails it at once (the helpers
# read a stale cc_op); scripts/qemu/patches/tcg-cmpxchg-cc-op.patch is the fix.
#
# Usage: selftest-cmpxchg-flags.sh [guest-run.sh options]
#        (KNPU_CMPXCHG_SECONDS: seconds of contention, default 3)
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

prog=$KNPU_BUILD/guest/harness/cmpxchg-flags
knpu_build_test_program "$prog" "$KNPU_HARNESS/cmpxchg-flags.c" -pthread -Werror
exec "$KNPU_HARNESS/guest-run.sh" --name guest-harness-cmpxchg-flags --devices 1 --no-module \
	--timeout 240 "$@" -- "$prog" "${KNPU_CMPXCHG_SECONDS:-3}"
