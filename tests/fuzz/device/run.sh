#!/usr/bin/env bash
# The device model fuzzer (tests/fuzz/device/knpu-device-fuzz.c) against QEMU
# with the KNPU device, over the qtest protocol, no guest kernel.
#
#   `make fuzz-device`: 1,000,000 operations against QEMU built with ASan and
#   UBSan (KNPU_QEMU_SANITIZE=1 scripts/qemu/build.sh, its own tree in
#   $KNPU_CACHE/qemu-asan).
#   The CTest test qtest-device-fuzz: KNPU_FUZZ_SANITIZE=0 KNPU_FUZZ_OPS=20000,
#   against the plain QEMU that `make test` builds anyway.
#   `run.sh --replay-test` (the CTest test qtest-device-fuzz-replay): proves
#   that a run of the deterministic engine replays. The same seed twice gives
#   the same answers to every command, and so does its --trace file fed to
#   `qemu-system-x86_64 ... -qtest stdio` (the command line the fuzzer prints).
#
# Environment: KNPU_FUZZ_OPS (1000000), KNPU_FUZZ_SEED (new each run; printed),
# KNPU_FUZZ_SANITIZE (1), KNPU_FUZZ_ENGINE (deterministic or threads; the
# fuzzer's default: deterministic with a trace, else threads), KNPU_FUZZ_TRACE
# (a file for every qtest command: `qemu-system-x86_64 <the fuzzer's QEMU
# arguments> -qtest stdio < FILE` replays).
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
fuzz=$out/knpu-device-fuzz.$$
gcc -O2 -g -Wall -Wextra -Werror -Wno-missing-field-initializers -I"$KNPU_ROOT/qemu-device" \
	-o "$fuzz" "$KNPU_ROOT/tests/fuzz/device/knpu-device-fuzz.c"
seed=${KNPU_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
args=(--qemu "$qemu" --ops "${KNPU_FUZZ_OPS:-1000000}" --seed "$seed")
[ -z "${KNPU_FUZZ_ENGINE:-}" ] || args+=(--engine "$KNPU_FUZZ_ENGINE")

if [ "${1:-}" != --replay-test ]; then
	[ -z "${KNPU_FUZZ_TRACE:-}" ] || args+=(--trace "$KNPU_FUZZ_TRACE")
	rc=0
	timeout --kill-after=10 "${KNPU_FUZZ_TIMEOUT:-7200}" "$fuzz" "${args[@]}" || rc=$?
	rm -f "$fuzz"
	exit "$rc"
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir" "$fuzz"' EXIT
fuzz_run() { # NAME [fuzzer options]: the run's output in $dir/NAME.log
	local name=$1 rc=0
	shift
	timeout --kill-after=10 "${KNPU_FUZZ_TIMEOUT:-7200}" "$fuzz" "${args[@]}" \
		--engine deterministic --answers "$dir/$name.answers" "$@" >"$dir/$name.log" || rc=$?
	cat "$dir/$name.log"
	[ "$rc" = 0 ] || knpu_die "the fuzzer failed (seed $seed)"
}
fuzz_run first --trace "$dir/trace"
fuzz_run second
cmp "$dir/first.answers" "$dir/second.answers" ||
	knpu_die "seed $seed twice: the answers differ"
digest=$(grep '^# answers:' "$dir/first.log")
[ "$digest" = "$(grep '^# answers:' "$dir/second.log")" ] ||
	knpu_die "seed $seed twice: the digests differ"
echo "ok - seed $seed twice, deterministic engine: the same answers ($digest)"

# The trace through QEMU's own qtest server on stdin, no fuzzer: one answer
# a command. QEMU does not exit at the end of its input: stop it then.
replay=$(sed -n 's/^# replay: //p' "$dir/first.log")
[ "${replay% < *}" != "$replay" ] || knpu_die "the fuzzer printed no replay command"
read -ra cmdline <<<"${replay% < *}"
commands=$(wc -l <"$dir/trace")
coproc QEMU { exec "${cmdline[@]}" <"$dir/trace" 2>"$dir/replay.stderr"; }
head -n "$commands" <&"${QEMU[0]}" >"$dir/replay.answers"
kill "$QEMU_PID"
wait "$QEMU_PID" || true
if ! cmp "$dir/first.answers" "$dir/replay.answers"; then
	cat "$dir/replay.stderr" >&2
	knpu_die "seed $seed: '${cmdline[*]} < TRACE' answers differently"
fi
echo "ok - its trace ($commands commands) replayed by '${cmdline[0]} ... -qtest stdio < TRACE': the same answers"
