#!/usr/bin/python3
"""Writes a pre-quantized (QDQ) copy of an FP32 ONNX model the way
onnxruntime's quantize_static does by default (QuantFormat.QDQ, int8
activations and weights, per_channel=True, MinMax calibration), for testing
the runtime on QDQ models: onnxruntime.quantization itself is not in Debian.

  NODE_PATH=<models>/node_modules quantize-qdq.py MODEL.onnx OUT.onnx \\
      NAME=FILE.npy [NAME=FILE.npy ...]

Each Conv, Gemm and MatMul with a constant weight gets
  - QuantizeLinear -> DequantizeLinear on its activation input, int8
    asymmetric: the range [min(lo, 0), max(hi, 0)] over the calibration
    inputs (run with onnxruntime by ort-run.js, every sample its own run),
    scale (hi - lo) / 255, zero point round(-128 - lo / scale);
  - DequantizeLinear of its weight, int8 symmetric per output channel
    (max |w| / 127, zero point 0; axis 0 for a Conv and a transposed Gemm
    weight, 1 for a MatMul's);
  - DequantizeLinear of its bias, int32 in units of s_x * s_w[k].
A model of an opset below 13 is converted to 13 first (onnx's
version_converter). Repeat NAME=FILE for more samples (a single-input model:
each file is one run).
"""
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter

ORT_RUN = pathlib.Path(__file__).with_name("ort-run.js")


def weight_axis(node):
    """The output-channel axis of a node's weight (input 1)."""
    if node.op_type == "Conv":
        return 0
    if node.op_type == "Gemm":
        return 0 if any(a.name == "transB" and a.i for a in node.attribute) else 1
    return 1


def activation_quantization(lo, hi):
    """int8 asymmetric parameters of the range [lo, hi] (lo <= 0 <= hi):
    scale (hi - lo) / 255, zero point round(-128 - lo / scale)."""
    scale = np.float32(max(hi - lo, 1e-8) / 255)
    return scale, np.int8(np.clip(np.rint(-128 - lo / scale), -128, 127))


def weight_quantization(w, axis):
    """int8 symmetric per output channel along `axis` (max |w| / 127, zero
    point 0): the quantized weights and their scales."""
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    s_w = np.maximum(np.abs(moved).max(axis=1) / 127, 1e-12).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    return np.clip(np.rint(w / s_w.reshape(shape)), -127, 127).astype(np.int8), s_w


def quantizable(model):
    inits = {t.name: t for t in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul") or len(node.input) < 2:
            continue
        if node.input[1] not in inits or node.input[0] in inits:
            continue
        rank = len(inits[node.input[1]].dims)
        if (node.op_type == "Conv") != (rank == 4) or rank not in (2, 4):
            continue
        if node.op_type == "Gemm" and any(a.name == "transA" and a.i for a in node.attribute):
            continue
        nodes.append(node)
    return nodes


def probe(model, tensors, samples):
    """The values of `tensors` in each sample's run, with onnxruntime."""
    probe_model = onnx.ModelProto()
    probe_model.CopyFrom(model)
    outputs = {o.name for o in probe_model.graph.output}
    for name in tensors:
        if name not in outputs:
            probe_model.graph.output.append(helper.make_empty_tensor_value_info(name))
            probe_model.graph.output[-1].type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "probe.onnx"
        onnx.save(probe_model, path)
        for i, sample in enumerate(samples):
            out = pathlib.Path(tmp) / f"run{i}"
            subprocess.run(["node", str(ORT_RUN), str(path), str(out), sample], check=True)
            runs.append({name: np.load(out / f"{name.replace('/', '_')}.npy") for name in tensors})
    return runs


def activation_ranges(model, tensors, samples):
    """[min(lo, 0), max(hi, 0)] of each tensor over the samples."""
    ranges = {}
    for run in probe(model, tensors, samples):
        for name, values in run.items():
            lo, hi = ranges.get(name, (0.0, 0.0))
            ranges[name] = (min(lo, float(values.min())), max(hi, float(values.max())))
    return ranges


def to_opset_13(model, samples):
    """ONNX's version converter; its Softmax adapter needs the input's rank,
    which shape inference cannot give behind a computed Reshape: taken from
    a sample run."""
    model = onnx.shape_inference.infer_shapes(model)
    known = {v.name for v in model.graph.value_info if v.type.tensor_type.HasField("shape")}
    unknown = [n.input[0] for n in model.graph.node
               if n.op_type == "Softmax" and n.input[0] not in known]
    if unknown:
        for name, values in probe(model, unknown, samples[:1])[0].items():
            model.graph.value_info.append(
                helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, values.shape))
    return version_converter.convert_version(model, 13)


def constants_as_initializers(model):
    """Constant nodes (the PaddleOCR exports hold their weights in them)
    become initializers, as quantize_static's pre-processing leaves them."""
    kept = []
    for node in model.graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)


def drop_unused_initializers(model):
    """The float weights the quantized ones replaced."""
    used = {i for n in model.graph.node for i in n.input}
    kept = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)


def load_at_opset_13(source, samples):
    """The model at `source`, its Constant nodes as initializers. Per-axis
    scales need opset 13: older models (the PaddleOCR classifier is opset
    9) are converted first by ONNX's own version converter."""
    model = onnx.load(source)
    if next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
        model = to_opset_13(model, samples)
    constants_as_initializers(model)
    return model


def main(source, target, samples):
    model = load_at_opset_13(source, samples)
    nodes = quantizable(model)
    tensors = sorted({n.input[0] for n in nodes})
    ranges = activation_ranges(model, tensors, samples)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    added, emitted, rewritten = [], {}, []
    act_scale = {}
    for node in model.graph.node:
        if node in nodes:
            x = node.input[0]
            if x not in emitted:
                scale, zero = activation_quantization(*ranges[x])
                added += [numpy_helper.from_array(scale, f"{x}_scale"),
                          numpy_helper.from_array(zero, f"{x}_zero_point")]
                rewritten += [
                    helper.make_node("QuantizeLinear", [x, f"{x}_scale", f"{x}_zero_point"],
                                     [f"{x}_quantized"], name=f"{x}_QuantizeLinear"),
                    helper.make_node("DequantizeLinear",
                                     [f"{x}_quantized", f"{x}_scale", f"{x}_zero_point"],
                                     [f"{x}_dequantized"], name=f"{x}_DequantizeLinear")]
                emitted[x] = f"{x}_dequantized"
                act_scale[x] = scale
            w_name = node.input[1]
            w = inits[w_name].astype(np.float32)
            axis = weight_axis(node)
            q_w, s_w = weight_quantization(w, axis)
            added += [numpy_helper.from_array(q_w, f"{w_name}_quantized"),
                      numpy_helper.from_array(s_w, f"{w_name}_scale"),
                      numpy_helper.from_array(np.zeros_like(s_w, np.int8), f"{w_name}_zero_point")]
            rewritten.append(helper.make_node(
                "DequantizeLinear", [f"{w_name}_quantized", f"{w_name}_scale", f"{w_name}_zero_point"],
                [f"{w_name}_dequantized"], axis=axis, name=f"{w_name}_DequantizeLinear"))
            node.input[0] = emitted[x]
            node.input[1] = f"{w_name}_dequantized"
            if (len(node.input) > 2 and node.input[2] in inits
                    and inits[node.input[2]].shape == (w.shape[axis],)):
                b_name = node.input[2]
                s_b = (act_scale[x] * s_w).astype(np.float32)
                q_b = np.rint(inits[b_name].astype(np.float32) / s_b).astype(np.int32)
                added += [numpy_helper.from_array(q_b, f"{b_name}_quantized"),
                          numpy_helper.from_array(s_b, f"{b_name}_scale")]
                rewritten.append(helper.make_node(
                    "DequantizeLinear", [f"{b_name}_quantized", f"{b_name}_scale"],
                    [f"{b_name}_dequantized"], axis=0, name=f"{b_name}_DequantizeLinear"))
                node.input[2] = f"{b_name}_dequantized"
        rewritten.append(node)
    del model.graph.node[:]
    model.graph.node.extend(rewritten)
    model.graph.initializer.extend(added)
    drop_unused_initializers(model)
    onnx.checker.check_model(model)
    onnx.save(model, target)
    print(f"{target}: {len(nodes)} nodes quantized, {len(tensors)} activations calibrated "
          f"on {len(samples)} samples")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
