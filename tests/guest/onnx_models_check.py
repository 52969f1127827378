#!/usr/bin/python3
"""Inputs and verdicts of guest-onnx-models (Debian's python3-numpy).

  onnx_models_check.py inputs WORK      writes the input .npy files and one
                                        WORK/<case>.case ("MODEL INPUT") each
  onnx_models_check.py compare WORK RESULTS
                                        compares npu-<case>/ with ref-<case>/

FP32 tolerance: |npu - ort| <= 1e-4 + 1e-3 * |ort| for every element, and
the same top class per row; for the recognition model, the same text
(greedy CTC decoding with ppocr_keys_v1.txt, passed as KEYS in the
environment).
"""
import os
import pathlib
import sys

import numpy as np

CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
REC = "ch_PP-OCRv4_rec_infer.onnx"
ATOL, RTOL = 1e-4, 1e-3


def text_like(rng, shape):
    """Dark strokes on a light background, normalized as PaddleOCR does."""
    img = np.full(shape, 230.0)
    n, _, h, w = shape
    for b in range(n):
        for _ in range(12):
            x0, y0 = rng.integers(0, w - 12), rng.integers(h // 4, h - h // 4)
            img[b, :, y0 : y0 + 3, x0 : x0 + 10] = rng.integers(0, 60)
    return ((img / 255.0 - 0.5) / 0.5).astype(np.float32)


def inputs(work):
    rng = np.random.default_rng(9)
    cases = {
        "cls-normal": (CLS, rng.standard_normal((1, 3, 48, 192))),
        "cls-uniform": (CLS, rng.uniform(-1, 1, (1, 3, 48, 192))),
        "cls-text": (CLS, text_like(rng, (1, 3, 48, 192))),
        "cls-batch2": (CLS, rng.uniform(-1, 1, (2, 3, 48, 192))),
        "rec-uniform": (REC, rng.uniform(-1, 1, (1, 3, 48, 320))),
        "rec-text": (REC, text_like(rng, (1, 3, 48, 320))),
    }
    for name, (model, data) in cases.items():
        np.save(work / f"{name}.npy", data.astype(np.float32))
        (work / f"{name}.case").write_text(f"{model} {name}.npy\n")
    np.save(work / "det.npy", rng.uniform(-1, 1, (1, 3, 64, 64)).astype(np.float32))


def ctc_text(probabilities, keys):
    """Greedy CTC: best class per step, repeats merged, blanks (0) dropped."""
    best = probabilities.argmax(-1)
    chars = [keys[i - 1] if i - 1 < len(keys) else " "
             for j, i in enumerate(best) if i != 0 and (j == 0 or best[j - 1] != i)]
    return "".join(chars)


def compare(work, results):
    keys = pathlib.Path(os.environ["KEYS"]).read_text(encoding="utf-8").splitlines()
    failed = 0
    for case in sorted(work.glob("*.case")):
        name = case.stem
        refs = sorted((work / f"ref-{name}").glob("*.npy"))
        if not refs:
            print(f"FAIL {name}: no reference outputs")
            failed += 1
        for ref_file in refs:
            npu_file = results / f"npu-{name}" / ref_file.name
            if not npu_file.exists():
                print(f"FAIL {name}: {ref_file.name} missing from the NPU's outputs")
                failed += 1
                continue
            ref, npu = np.load(ref_file), np.load(npu_file)
            if ref.shape != npu.shape:
                print(f"FAIL {name}: shape {npu.shape}, reference {ref.shape}")
                failed += 1
                continue
            err = np.abs(npu.astype(np.float64) - ref)
            bad = err > ATOL + RTOL * np.abs(ref)
            same_top = np.array_equal(npu.argmax(-1), ref.argmax(-1))
            verdict = "ok" if not bad.any() and same_top else "FAIL"
            failed += verdict != "ok"
            print(f"{verdict} {name} {ref_file.stem}: max abs error {err.max():.3g}, "
                  f"{int(bad.sum())} of {err.size} beyond tolerance, top class "
                  f"{'same' if same_top else 'DIFFERENT'}")
            if name.startswith("rec-"):
                texts = [ctc_text(r[0], keys) for r in (npu, ref)]
                ok = texts[0] == texts[1]
                failed += not ok
                print(f"{'ok' if ok else 'FAIL'} {name} text: NPU {texts[0]!r}, onnxruntime {texts[1]!r}")
    print(f"{failed} failed")
    return 1 if failed else 0


def main():
    if sys.argv[1] == "inputs":
        inputs(pathlib.Path(sys.argv[2]))
        return 0
    return compare(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]))


if __name__ == "__main__":
    sys.exit(main())
