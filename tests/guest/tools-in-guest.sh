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
# The driver's debugfs fault injection (docs/npu-smi.md): a job that the
# device never hears of times out, and validate reports the job's failure.
first=$("$npu_run" validate --samples 1 | sed -n 's/^Device 0: \([^ ]*\).*/\1/p')
echo 1 >"/sys/kernel/debug/accel/$first/inject_lost_doorbell"
check "validate reports a job that timed out, exit 1" bash -c \
	"KNPU_VISIBLE_DEVICES=0 '$npu_run' validate --samples 1 >'$out/validate-timeout.txt'; [ \$? -eq 1 ] &&
	grep -q 'dma fill+copy   FAIL: job failed (TIMEOUT) at 0x0' '$out/validate-timeout.txt' &&
	grep -q '^  result          FAIL' '$out/validate-timeout.txt'"
check "validate passes again after the timeout" env KNPU_VISIBLE_DEVICES=0 "$npu_run" validate --samples 1
check "npu-asm assembles the example" "$npu_asm" tools/examples/fill_copy.s -o "$out/fill_copy.knpu"
check "npu-asm -d gives the text back" bash -c "'$npu_asm' -d '$out/fill_copy.knpu' | diff - <(grep -v '^;' tools/examples/fill_copy.s)"
check "npu-run runs the kernel on device 1" bash -c \
	"'$npu_run' '$out/fill_copy.knpu' -D 1 -b dst=4096 -b src=4096 -s bytes=4096 --dump dst >'$out/run.txt'"
check "the dump shows the pattern" grep -q '^00000000  a5 a5 a5 a5' "$out/run.txt"
check "a faulting job exits 1" exits_with 1 "$npu_run" "$out/fill_copy.knpu" -b dst=4096 -b src=4096 -s bytes=1G
check "a missing argument exits 2" exits_with 2 "$npu_run" "$out/fill_copy.knpu" -b dst=4096 -s bytes=4

# Tensors from and to .npy files (docs/libnpu.md, Tools). The inputs are
# written here with Python's standard library, as NumPy's np.save does.
/usr/bin/python3 - "$out" <<'PY'
import struct, sys
def save(path, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }" % len(values)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % len(values), *values))
save(sys.argv[1] + "/a.npy", [float(i) for i in range(8)])
save(sys.argv[1] + "/b.npy", [0.5] * 8)
save(sys.argv[1] + "/sum.npy", [i + 0.5 for i in range(8)])
PY
check "npu-asm assembles the tensor examples" bash -c \
	"'$npu_asm' tools/examples/copy.s -o '$out/copy.knpu' && '$npu_asm' tools/examples/eltwise_add.s -o '$out/eltwise_add.knpu'"
check "npu-run copies a .npy tensor through the device" bash -c \
	"cd '$out' && '$npu_run' copy.knpu -i src=a.npy -s bytes=32 -o dst=y.npy:fp32:8 && cmp a.npy y.npy"
check "npu-run writes a raw output" bash -c \
	"cd '$out' && '$npu_run' copy.knpu -i src=a.npy -b dst=4096 -s bytes=32 -o dst=y.bin:32 && tail -c 32 a.npy | cmp - y.bin"
cp "$out/copy.knpu" "$out/bad.npy"
check "a malformed .npy exits 2 before any job" exits_with 2 "$npu_run" "$out/copy.knpu" -i src="$out/bad.npy" -b dst=4096 -s bytes=4
# The documented example: ELTWISE, once the device executes it.
if (cd "$out" && "$npu_run" eltwise_add.knpu -i a=a.npy -i b=b.npy -s count=8 -o out=out.npy:fp32:8 >eltwise.txt 2>&1); then
	check "the eltwise_add example adds the tensors" cmp "$out/sum.npy" "$out/out.npy"
elif grep -q OPCODE_UNSUPPORTED "$out/eltwise.txt"; then
	echo "ok - the eltwise_add example # SKIP the device does not execute ELTWISE yet"
else
	check "the eltwise_add example runs" false
fi

check "npu-bench --quick runs and emits valid JSON" bash -c \
	"'$build/tools/npu-bench' --quick --streams 4 --json >'$out/bench.json' && /usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r[\"schema\"] == 1 and len(r[\"throughput\"]) == 3 and len(r[\"copy\"]) == 3 and all(c[\"device_gbps\"] and c[\"ratio\"] for c in r[\"copy\"]) and r[\"latency\"][\"empty_job\"][\"samples\"] > 0' '$out/bench.json'"
# Streamed on a queue per core (--streams 4, the default device's cores),
# every output is checked: the largest difference to the guest's own oneDNN
# over all of them (INT8 is exact on both sides, FP32 sums in another order).
check "npu-bench streams GEMM and conv2d on a queue per core, every output right" /usr/bin/python3 -c 'import json, re, sys; r = json.load(open(sys.argv[1])); cores = int(re.search(r"\((\d+) cores\)", r["device"]).group(1)); bad = [t for t in r["throughput"] if not (t["device_streams"] == cores and t["device_streamed_gflops"] and t["max_difference"] <= (0 if t["name"].endswith("int8") else 1e-3))]; assert not bad, bad' "$out/bench.json"
# A copy the device memory (256 MiB, the default) cannot hold twice is skipped
# with the reason; the copies it can hold are still measured.
check "npu-bench skips a copy larger than device memory" bash -c \
	"'$build/tools/npu-bench' --gemm-size 8 --conv-size 3 --copy-mib 130 --runs 1 --samples 2 --batch-jobs 1 --queues 1 --queue-jobs 1 --json >'$out/bench-big-copy.json' && /usr/bin/python3 -c 'import json, sys; c = {x[\"name\"]: x for x in json.load(open(sys.argv[1]))[\"copy\"]}; assert c[\"host -> host\"][\"device_gbps\"] and c[\"host -> device\"][\"device_gbps\"], c; assert c[\"device -> device\"][\"device_gbps\"] is None and \"cannot hold\" in c[\"device -> device\"][\"device_skipped\"], c' '$out/bench-big-copy.json'"

echo "tools: $passed of $((passed + failed)) checks passed"
[ "$failed" -eq 0 ]
