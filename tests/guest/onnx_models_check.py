#!/usr/bin/python3
"""Inputs and verdicts of guest-onnx-models (Debian's python3-numpy).

  onnx_models_check.py inputs WORK [--full]
                                        writes the input .npy files and one
                                        WORK/<case>.case ("MODEL INPUT DTYPE")
                                        each: the quick set of `make test`, or
                                        every case (make test-onnx)
  onnx_models_check.py compare WORK RESULTS
                                        compares npu-<case>/ with ref-<case>/

Tolerances against onnxruntime's FP32 outputs, every element:
  fp32  |npu - ort| <= 1e-4 + 1e-3 * |ort|, the same top class per row, and
        for the recognition model the same text (greedy CTC decoding with
        ppocr_keys_v1.txt, passed as KEYS in the environment);
  fp16  |npu - ort| <= 1e-2 (cls) or 5e-2 (rec probabilities);
  bf16  |npu - ort| <= 5e-2 (cls) or 0.25 (rec probabilities);
and in every precision, the rendered text image reads as its text.
"""
import os
import pathlib
import sys

import numpy as np

CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
REC = "ch_PP-OCRv4_rec_infer.onnx"
TOLERANCE = {  # (atol, rtol) per precision and model
    ("fp32", "cls"): (1e-4, 1e-3), ("fp32", "rec"): (1e-4, 1e-3),
    ("fp16", "cls"): (1e-2, 0.0), ("fp16", "rec"): (5e-2, 0.0),
    ("bf16", "cls"): (5e-2, 0.0), ("bf16", "rec"): (0.25, 0.0),
}


def text_like(rng, shape):
    """Dark strokes on a light background, normalized as PaddleOCR does."""
    img = np.full(shape, 230.0)
    n, _, h, w = shape
    for b in range(n):
        for _ in range(12):
            x0, y0 = rng.integers(0, w - 12), rng.integers(h // 4, h - h // 4)
            img[b, :, y0 : y0 + 3, x0 : x0 + 10] = rng.integers(0, 60)
    return ((img / 255.0 - 0.5) / 0.5).astype(np.float32)


RENDERED = "knpu 2026 NPU"


def rendered_text(shape):
    """RENDERED drawn in DejaVu Sans (Pillow), black on white."""
    from PIL import Image, ImageDraw, ImageFont  # python3-pil
    _, _, h, w = shape
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 32)
    img = Image.new("RGB", (w, h), "white")
    ImageDraw.Draw(img).text((8, 6), RENDERED, fill="black", font=font)
    pixels = np.asarray(img, dtype=np.float32).transpose(2, 0, 1)[None]
    return (pixels / 255.0 - 0.5) / 0.5


# The cases `make test` runs: each model, a batch, each reduced precision.
QUICK = {"cls-text", "cls-batch2", "rec-rendered", "rec-rendered-fp16", "cls-text-bf16"}


def inputs(work, full):
    rng = np.random.default_rng(9)
    cases = {
        "cls-normal": (CLS, rng.standard_normal((1, 3, 48, 192))),
        "cls-uniform": (CLS, rng.uniform(-1, 1, (1, 3, 48, 192))),
        "cls-text": (CLS, text_like(rng, (1, 3, 48, 192))),
        "cls-batch2": (CLS, rng.uniform(-1, 1, (2, 3, 48, 192))),
        "rec-uniform": (REC, rng.uniform(-1, 1, (1, 3, 48, 320))),
        "rec-text": (REC, text_like(rng, (1, 3, 48, 320))),
        "rec-rendered": (REC, rendered_text((1, 3, 48, 320))),
    }
    for name, (model, data) in cases.items():
        np.save(work / f"{name}.npy", data.astype(np.float32))
        if full or name in QUICK:
            (work / f"{name}.case").write_text(f"{model} {name}.npy fp32\n")
    for name in ("cls-text", "rec-rendered"):
        for dtype in ("fp16", "bf16"):
            if full or f"{name}-{dtype}" in QUICK:
                (work / f"{name}-{dtype}.case").write_text(f"{cases[name][0]} {name}.npy {dtype}\n")
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
        dtype = case.read_text().split()[2]
        kind = name[:3]
        atol, rtol = TOLERANCE[(dtype, kind)]
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
            bad = err > atol + rtol * np.abs(ref)
            same_top = np.array_equal(npu.argmax(-1), ref.argmax(-1))
            top_checked = dtype == "fp32" or kind == "cls"
            ok = not bad.any() and (same_top or not top_checked)
            failed += not ok
            print(f"{'ok' if ok else 'FAIL'} {name} {ref_file.stem}: max abs error {err.max():.3g} "
                  f"(tolerance {atol:g} + {rtol:g}|ref|), {int(bad.sum())} of {err.size} beyond, "
                  f"top class {'same' if same_top else 'different'}")
            if kind == "rec":
                texts = [ctc_text(r[0], keys) for r in (npu, ref)]
                ok = texts[0] == texts[1] or dtype != "fp32"
                if name.startswith("rec-rendered"):
                    ok = ok and texts[0].strip() == RENDERED
                failed += not ok
                print(f"{'ok' if ok else 'FAIL'} {name} text: NPU {texts[0]!r}, onnxruntime {texts[1]!r}")
    print(f"{failed} failed")
    return 1 if failed else 0


def main():
    if sys.argv[1] == "inputs":
        inputs(pathlib.Path(sys.argv[2]), "--full" in sys.argv[3:])
        return 0
    return compare(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]))


if __name__ == "__main__":
    sys.exit(main())
