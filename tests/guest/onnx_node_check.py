#!/usr/bin/python3
"""Cases and verdicts of guest-onnx-node: ONNX's own backend node tests
(Debian's python3-onnx) through npu-infer on the virtual NPU.

  onnx_node_check.py cases WORK --expected FILE [--full]
      generates the node test cases of ONNX's backend test suite
      (onnx.backend.test.case, as `backend-test-tools generate-data` does;
      seeded, so the inputs are the same every run), and writes each one
      as WORK/cases/<test>/ (model.onnx, in<k>.npy, expected<k>.npy, args)
      and, when it has more than one input, WORK/cases/<test>.const/: every
      input but the first made a constant, as onnx-mlir's TEST_CONSTANT mode
      runs them (a device runtime takes weights, pads, axes and scales as
      constants). WORK/run.txt lists what the guest runs: every case
      (--full, `make test-onnx`) or the quick set of `make test`, one
      expected pass of each operator (set) in FILE.
  onnx_node_check.py compare WORK RESULTS --expected FILE
      the verdict of every case the guest ran; exit 1 on a wrong result, a
      failure, or an expected pass that no longer passes.

Verdicts. pass: npu-infer exits 0 and every output matches ONNX's expected
one: the same shape; float |npu - expected| <= 1e-4 + 1e-3 |expected| (a NaN
where NaN is expected, an infinity of the same sign where one is); integers
and bool exact. as onnxruntime: ONNX's expected output differs, but
onnxruntime (the project's reference, run on the host with ort-run.js on the
same file) gives npu-infer's answer within that tolerance. refused: exit 2
(an input type or value the runtime does not take) or 3 (an operator or
attribute the device cannot run, named). wrong: exit 0 and an output beyond
the tolerance of both. failed: any other exit, or an output missing.
"""
import argparse
import collections
import functools
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ABS_TOL, REL_TOL = 1e-4, 1e-3


def generate(into):
    """ONNX's node test cases, written by its own generator into `into`."""
    # Debian's onnx 1.12 predates NumPy 1.24, which removed these aliases;
    # one of its case modules still uses them at import.
    for alias, builtin in (("float", float), ("int", int), ("bool", bool), ("object", object)):
        if alias not in np.__dict__:
            setattr(np, alias, builtin)
    np.random.seed(0)
    from onnx.backend.test import cmd_tools  # pylint: disable=import-outside-toplevel

    cmd_tools.generate_data(argparse.Namespace(output=str(into), op_type=None))
    return into / "node"


def tensor(path):
    import onnx  # pylint: disable=import-outside-toplevel
    from onnx import numpy_helper  # pylint: disable=import-outside-toplevel

    proto = onnx.TensorProto()
    proto.ParseFromString(path.read_bytes())
    value = numpy_helper.to_array(proto)
    if value.dtype == object:
        raise ValueError("a string tensor")
    return value


def write_case(out, model, inputs, expected, feeds):
    """One case directory: the model, its inputs (`feeds`: the graph inputs
    npu-infer gets), the expected outputs."""
    import onnx  # pylint: disable=import-outside-toplevel

    out.mkdir(parents=True)
    onnx.save(model, str(out / "model.onnx"))
    args = []
    for k, (name, value) in enumerate(inputs):
        if name in feeds:
            np.save(out / f"in{k}.npy", value)
            args.append(f"--input {name}={out / f'in{k}.npy'}")
    for k, value in enumerate(expected):
        np.save(out / f"expected{k}.npy", value)
    (out / "args").write_text(" ".join(args) + "\n")


def convert(test_dir, cases):
    """WORK/cases/<test> and <test>.const from one generated test; False
    when the test has data NumPy cannot hold (strings, bad shapes)."""
    import onnx  # pylint: disable=import-outside-toplevel
    from onnx import numpy_helper  # pylint: disable=import-outside-toplevel

    data = test_dir / "test_data_set_0"
    model = onnx.load(str(test_dir / "model.onnx"))
    initialized = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in initialized]
    try:
        inputs = [(name, tensor(data / f"input_{k}.pb")) for k, name in enumerate(names)]
        expected = [tensor(data / f"output_{k}.pb") for k in range(len(model.graph.output))]
    except (OSError, TypeError, ValueError):
        return False
    write_case(cases / test_dir.name, model, inputs, expected, set(names))
    if len(inputs) > 1:
        first = model.graph.input[[i.name for i in model.graph.input].index(names[0])]
        model.graph.initializer.extend(numpy_helper.from_array(v, n) for n, v in inputs[1:])
        del model.graph.input[:]
        model.graph.input.append(first)
        write_case(cases / f"{test_dir.name}.const", model, inputs, expected, {names[0]})
    return True


@functools.cache
def graph_of(case_dir):
    import onnx  # pylint: disable=import-outside-toplevel

    return onnx.load(str(case_dir / "model.onnx")).graph


def operators(case_dir):
    return " ".join(sorted({node.op_type for node in graph_of(case_dir).node}))


def expected_passes(path):
    lines = pathlib.Path(path).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def quick_set(cases, expected):
    """One expected pass of each operator set: of those, the first with the
    most outputs (Dropout's mask, LayerNormalization's statistics)."""
    chosen = {}
    for name in expected:
        ops, outputs = operators(cases / name), len(outputs_of(cases / name))
        if ops not in chosen or outputs > chosen[ops][1]:
            chosen[ops] = (name, outputs)
    return [name for name, _ in chosen.values()]


def cases_command(work, expected_file, full):
    cases = work / "cases"
    if work.exists():
        shutil.rmtree(work)
    cases.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as generated:
        node = generate(pathlib.Path(generated))
        for test_dir in sorted(node.iterdir()):
            convert(test_dir, cases)
    every = sorted(p.name for p in cases.iterdir())
    expected = expected_passes(expected_file)
    missing = [name for name in expected if name not in every]
    if missing:
        print(f"expected passes that ONNX's generator did not write: {missing}")
        return 1
    run = every if full else quick_set(cases, expected)
    (work / "run.txt").write_text("\n".join(run) + "\n")
    print(f"{len(every)} cases, the guest runs {len(run)}")
    return 0


def matches(got, want, bfloat16=False):
    """None if `got` matches `want`, else what differs. A bfloat16 output
    (ONNX's expected bits as uint16; npu-infer writes float32, .npy having
    no bfloat16) is within one bfloat16 step: ONNX 1.12's Cast truncates,
    newer ONNX and the device round to nearest even."""
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    rel_tol = REL_TOL
    if bfloat16:
        want = (want.astype(np.uint32) << 16).view(np.float32)
        rel_tol = 2.0 ** -7
    elif want.dtype == bool or np.issubdtype(want.dtype, np.integer):
        bad = int(np.count_nonzero(got.astype(want.dtype) != want))
        return f"{bad} of {want.size} elements differ" if bad else None
    got, want = got.astype(np.float64), want.astype(np.float64)
    agree = (np.isnan(got) & np.isnan(want)) | (got == want)
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities agree above
        within = np.abs(got - want) <= ABS_TOL + rel_tol * np.abs(want)
    bad = ~(agree | within)
    if not bad.any():
        return None
    worst = float(np.max(np.where(bad, np.abs(got - want), 0)))
    return f"{int(bad.sum())} of {want.size} elements beyond tolerance (worst {worst:.3g})"


def outputs_of(case_dir):
    """Each graph output's name and whether it is bfloat16."""
    import onnx  # pylint: disable=import-outside-toplevel

    return [(o.name, o.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16)
            for o in graph_of(case_dir).output]


def outputs_differ(case_dir, out_dir, reference):
    """The first output that does not match, or None."""
    for k, (name, bfloat16) in enumerate(outputs_of(case_dir)):
        path = out_dir / (name.replace("/", "_") + ".npy")
        if not path.exists():
            return f"output '{name}' not written"
        want = reference(k, name)
        problem = matches(np.load(path), want, bfloat16 and want.dtype == np.uint16)
        if problem:
            return f"output '{name}': {problem}"
    return None


ROOT = pathlib.Path(__file__).resolve().parents[2]


@functools.cache
def models_dir():
    """Where scripts/onnx/fetch-models.sh keeps onnxruntime-node (fetched once)."""
    return subprocess.run([str(ROOT / "scripts/onnx/fetch-models.sh")], check=True,
                          capture_output=True, text=True).stdout.strip()


def onnxruntime_output(case_dir, into):
    """Runs onnxruntime on the case (scripts/onnx/ort-run.js), as a reader."""
    args = (case_dir / "args").read_text().split()
    feeds = [a for a in args if a != "--input"]
    env = dict(os.environ, NODE_PATH=f"{models_dir()}/node_modules")
    subprocess.run(["node", str(ROOT / "scripts/onnx/ort-run.js"), str(case_dir / "model.onnx"),
                    str(into), *feeds], check=True, env=env, capture_output=True)
    return lambda k, name: np.load(into / (name.replace("/", "_") + ".npy"))


def verdict(case_dir, result):
    rc = int((result / "rc").read_text())
    if rc in (2, 3):
        return "refused", (result / "log").read_text().strip().splitlines()[-1]
    if rc != 0:
        return "failed", f"npu-infer exited {rc}"
    problem = outputs_differ(case_dir, result / "out",
                             lambda k, name: np.load(case_dir / f"expected{k}.npy"))
    if not problem:
        return "pass", ""
    with tempfile.TemporaryDirectory() as ort_dir:
        try:
            ort = onnxruntime_output(case_dir, pathlib.Path(ort_dir))
        except subprocess.CalledProcessError:
            return "wrong", problem + "; onnxruntime does not run it"
        if outputs_differ(case_dir, result / "out", ort) is None:
            return "as onnxruntime", problem + " (ONNX's expected output); onnxruntime agrees"
    return "wrong", problem


def compare_command(work, results, expected_file):
    cases = work / "cases"
    ran = (work / "run.txt").read_text().split()
    expected = set(expected_passes(expected_file))
    counts = collections.Counter()
    status = 0
    unlisted = []
    for name in ran:
        result = results / name
        if not (result / "rc").exists():
            kind, detail = "failed", "not run"
        else:
            kind, detail = verdict(cases / name, result)
        counts[kind] += 1
        good = kind in ("pass", "as onnxruntime")
        if kind in ("wrong", "failed") or (name in expected and not good):
            status = 1
            print(f"FAIL {name} ({operators(cases / name)}): {kind}: {detail}")
        elif good and name not in expected:
            unlisted.append(name)
        if kind == "as onnxruntime":
            print(f"note {name}: {detail}")
    for name in unlisted:
        print(f"note {name} passes and is not in {expected_file}: add it")
    print(f"{len(ran)} cases: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return status


def main():
    parser = argparse.ArgumentParser(description="Cases and verdicts of guest-onnx-node.")
    commands = parser.add_subparsers(dest="command", required=True)
    cases = commands.add_parser("cases", help="write the node test cases and run.txt")
    cases.add_argument("work", type=pathlib.Path)
    cases.add_argument("--full", action="store_true", help="every case, not the quick set")
    compare = commands.add_parser("compare", help="the verdict of every case the guest ran")
    compare.add_argument("work", type=pathlib.Path)
    compare.add_argument("results", type=pathlib.Path)
    for command in (cases, compare):
        command.add_argument("--expected", required=True, help="the expected passes")
    args = parser.parse_args()
    if args.command == "cases":
        return cases_command(args.work, args.expected, args.full)
    return compare_command(args.work, args.results, args.expected)


if __name__ == "__main__":
    sys.exit(main())
