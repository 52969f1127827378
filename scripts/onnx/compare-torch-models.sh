#!/usr/bin/env bash
# Exports PyTorch models (export-torch-models.py), runs each with onnxruntime
# on the host and with npu-infer on the virtual NPU in one guest boot, and
# prints npu-infer's compile line (ONNX nodes -> instructions, jobs) and one
# line per graph output: max |npu - ort| and max |ort|. An
# exploration tool for networks beyond the tests' models; it needs Debian's
# python3-torch and python3-torchvision, which no test depends on.
#
#   compare-torch-models.sh [--dtype fp32|fp16|bf16|int8] OPSET MODEL...
#
# Works in $KNPU_BUILD/tv (default build/tv), where models already exported
# are kept (delete them to export again); the guest's outputs land in
# build/guest/tv-compare/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KNPU_BUILD:-$root/build}
dtype=fp32
if [ "${1:-}" = --dtype ]; then
	dtype=$2
	shift 2
fi
if [ $# -lt 2 ]; then
	sed -n '2,10p' "$0" >&2
	exit 2
fi
opset=$1
shift
work=$build/tv
mkdir -p "$work"
models=$("$root/scripts/onnx/fetch-models.sh")
# Exporting takes minutes for the larger models: keep files already exported.
missing=()
for name in "$@"; do
	[ -e "$work/${name//:/-}-op$opset.onnx" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
	"$root/scripts/onnx/export-torch-models.py" "$work" "$opset" "${missing[@]}" >/dev/null
fi

# "name=file" for each graph input of a model exported by the script.
feeds() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import sys, onnx
model = onnx.load(sys.argv[1])
weights = {t.name for t in model.graph.initializer}
print(" ".join(f"{i.name}={sys.argv[2]}-{i.name}.npy"
               for i in model.graph.input if i.name not in weights))
EOF
}

guest_script=$work/compare-op$opset.sh
echo 'set +e' >"$guest_script"
for name in "$@"; do
	base=${name//:/-}
	onnx=$work/$base-op$opset.onnx
	read -r -a specs <<<"$(feeds "$onnx" "$work/$base")"
	NODE_PATH=$models/node_modules node "$root/scripts/onnx/ort-run.js" \
		"$onnx" "$work/ref-$base-op$opset" "${specs[@]}"
	inputs=$(printf -- '--input %s ' "${specs[@]}")
	echo "$build/tools/npu-infer $onnx $inputs --dtype $dtype" \
		"--output \$KNPU_RESULTS/$base-op$opset >\$KNPU_RESULTS/$base-op$opset.out" \
		"2>\$KNPU_RESULTS/$base-op$opset.err;" \
		"echo $base-op$opset exit \$? >>\$KNPU_RESULTS/exits" >>"$guest_script"
done
rm -rf "$build/guest/tv-compare"
# A model the guest cannot run (an OOM kill fails the harness's splat check)
# is reported below with the others.
"$root/tests/harness/guest-run.sh" --quiet --name tv-compare --timeout 3000 \
	--sh "sh $guest_script" || echo "guest-run.sh: exit $?" >&2

/usr/bin/python3 - "$work" "$build/guest/tv-compare" "$opset" "$@" <<'EOF'
import glob, os, sys
import numpy as np
work, results, opset = sys.argv[1:4]
exits = dict(line.split(" exit ") for line in open(f"{results}/exits").read().split("\n") if line)
for name in sys.argv[4:]:
    case = f"{name.replace(':', '-')}-op{opset}"
    if exits.get(case, "?").strip() != "0":
        err = open(f"{results}/{case}.err").read().strip().splitlines()
        print(f"{case}: npu-infer exit {exits.get(case)}: {err[-1] if err else ''}")
        continue
    compiled = [l for l in open(f"{results}/{case}.out") if l.startswith("compiled")]
    print(f"{case}: {compiled[0].split(maxsplit=1)[1].strip() if compiled else ''}")
    for ref in sorted(glob.glob(f"{work}/ref-{case}/*.npy")):
        want = np.load(ref).astype(np.float64)
        got = np.load(f"{results}/{case}/{os.path.basename(ref)}").astype(np.float64)
        diff = np.max(np.abs(got - want)) if want.size else 0.0
        print(f"{case} {os.path.basename(ref)}: max |npu - ort| {diff:.2g} (max |ort| {np.max(np.abs(want)):.2g})")
EOF
