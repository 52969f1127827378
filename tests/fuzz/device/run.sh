#!/usr/bin/env bash
# The device model fuzzer (tests/fuzz/device/knpu-device-fuzz.c) against QEMU
# with the KNPU device, over the qtest protocol, no guest kernel.
#
#   `make fuzz-device`: 1,000,000 operations against QEMU built with ASan and
#   UBSan (KNPU_QEMU_SANITIZE=1 scripts/qemu/build.sh, its own tree in
#   $KNPU_CACHE/qemu-asan).
#   The CTest test qtest-device-fuzz: KNPU_FUZZ_SANITIZE=0 KNPU_FUZZ_OPS=20000,
#   against the plain QEMU that `make test` builds anyway.
#
# Environment: KNPU_FUZZ_OPS (1000000), KNPU_FUZZ_SEED (new each run; printed),
# KNPU_FUZZ_SANITIZE (1), KNPU_FUZZ_TRACE (a file for every qtest command:
# `qemu-system-x86_64 <the fuzzer's QEMU arguments> -qtest stdio < FILE` replays).
# shellcheck source-path=SCRIPTDIR source=../../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib/common.sh"

knpu_apt_install gcc
if [ "${KNPU_FUZZ_SANITIZE:-1}" = 1 ]; then
	KNPU_QEMU_SANITIZE=1 bash "$KNPU_ROOT/scripts/qemu/build.sh" >&2
	qemu=$KNPU_CACHE/bin/asan/qemu-system-x86_64
	# A sanitizer report ends QEMU at once, which the fuzzer reports with
	# its seed. QEMU's own leaks at exit are not this fuzzer's concern.
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
else
	if [ "${KNPU_QTEST_NO_BUILD:-0}" != 1 ] || [ ! -x "$KNPU_QEMU_BIN" ]; then
		bash "$KNPU_ROOT/scripts/qemu/build.sh" >&2
	fi
	qemu=$KNPU_QEMU_BIN
fi
out=$KNPU_CACHE/fuzz
mkdir -p "$out"
gcc -O2 -g -Wall -Wextra -Werror -Wno-missing-field-initializers -I"$KNPU_ROOT/qemu-device" \
	-o "$out/knpu-device-fuzz" "$KNPU_ROOT/tests/fuzz/device/knpu-device-fuzz.c"
seed=${KNPU_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
args=(--qemu "$qemu" --ops "${KNPU_FUZZ_OPS:-1000000}" --seed "$seed")
[ -z "${KNPU_FUZZ_TRACE:-}" ] || args+=(--trace "$KNPU_FUZZ_TRACE")
exec timeout --kill-after=10 "${KNPU_FUZZ_TIMEOUT:-7200}" "$out/knpu-device-fuzz" "${args[@]}"
