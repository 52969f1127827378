#!/usr/bin/env bash
# Runs inside the guest (see tools-test.sh): each check prints "ok - NAME" or
# "not ok - NAME"; the exit status is 0 only if all passed.
set -uo pipefail
build=${1:?build directory}
out=${KNPU_RESULTS:?the harness sets KNPU_RESULTS}
npu_run=$build/tools/npu-run
npu_asm=$build/tools/npu-asm
passed=0
failed=0

check() {
	local name=$1
	shift
	if "$@" >>"$out/tools.log" 2>&1; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name (see $out/tools.log)"
		failed=$((failed + 1))
	fi
}

exits_with() {
	local expected=$1 status=0
	shift
	"$@" || status=$?
	[ "$status" -eq "$expected" ]
}

check "validate passes on every device" "$npu_run" validate --samples 3
check "validate sees both devices" bash -c "'$npu_run' validate --samples 1 | grep -q '^Validation: 2 of 2 device(s) passed'"
second=$("$npu_run" validate --samples 1 | sed -n 's/^Device 1: \([^ ]*\).*/\1/p')
check "KNPU_VISIBLE_DEVICES reorders" bash -c "[ -n '$second' ] && KNPU_VISIBLE_DEVICES=1,0 '$npu_run' validate --samples 1 | grep -q '^Device 0: $second '"
check "no visible device fails validate" exits_with 1 env KNPU_VISIBLE_DEVICES= "$npu_run" validate
check "npu-asm assembles the example" "$npu_asm" tools/examples/fill_copy.s -o "$out/fill_copy.knpu"
check "npu-asm -d gives the text back" bash -c "'$npu_asm' -d '$out/fill_copy.knpu' | diff - <(grep -v '^;' tools/examples/fill_copy.s)"
check "npu-run runs the kernel on device 1" bash -c \
	"'$npu_run' '$out/fill_copy.knpu' -D 1 -b dst=4096 -b src=4096 -s bytes=4096 --dump dst >'$out/run.txt'"
check "the dump shows the pattern" grep -q '^00000000  a5 a5 a5 a5' "$out/run.txt"
check "a faulting job exits 1" exits_with 1 "$npu_run" "$out/fill_copy.knpu" -b dst=4096 -b src=4096 -s bytes=1G
check "a missing argument exits 2" exits_with 2 "$npu_run" "$out/fill_copy.knpu" -b dst=4096 -s bytes=4

echo "tools: $passed of $((passed + failed)) checks passed"
[ "$failed" -eq 0 ]
