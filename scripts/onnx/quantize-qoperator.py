#!/usr/bin/python3
"""Writes a pre-quantized copy of an FP32 ONNX model in onnxruntime's
QOperator format (quantize_static with quant_format=QuantFormat.QOperator,
int8 activations and weights, per_channel=True, MinMax calibration), for
testing the runtime on QOperator models: onnxruntime's quantizer is Python
only (onnxruntime.quantization; onnxruntime-node has none) and not in Debian,
so the graph is built here with python3-onnx, its parameters with NumPy.

  NODE_PATH=<models>/node_modules quantize-qoperator.py MODEL.onnx OUT.onnx \\
      NAME=FILE.npy [NAME=FILE.npy ...]

Each Conv, MatMul and Gemm with a constant weight becomes QLinearConv,
QLinearMatMul or com.microsoft's QGemm (a Gemm whose C is not a constant
vector of one bias per output stays float), with the parameters
quantize-qdq.py computes (it is imported): int8 asymmetric activations from
the ranges over the calibration inputs, of its input and now also of its
output (run with onnxruntime by ort-run.js); int8 symmetric weights per
output channel; int32 biases in units of s_x * s_w[k] (QGemm: alpha * s_x *
s_w[k], beta folded in). A QuantizeLinear quantizes each float input once; a
quantized operator reading another's output reads its int8 tensor directly,
and a DequantizeLinear serves the float readers and graph outputs. A model
of an opset below 13 is converted to 13 first, as by quantize-qdq.py.
"""
import importlib.util
import pathlib
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

_spec = importlib.util.spec_from_file_location(
    "quantize_qdq", pathlib.Path(__file__).with_name("quantize-qdq.py"))
qdq = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qdq)

MICROSOFT = "com.microsoft"


def attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def bias_of(node, inits, channels):
    """The constant bias of a node (Gemm: beta * C), one per output channel;
    None if it has none. For a Gemm whose C is anything else: False."""
    if len(node.input) < 3 or not node.input[2]:
        return None
    b = inits.get(node.input[2])
    if b is None or b.shape != (channels,):
        return False
    return b.astype(np.float32) * np.float32(attribute(node, "beta", 1.0) if node.op_type == "Gemm"
                                             else 1.0)


class Writer:
    def __init__(self, ranges):
        self.ranges = ranges
        self.nodes, self.inits = [], []
        self.quantized = {}  # float tensor -> (int8 tensor, scale, zero point)

    def params(self, x):
        """The int8 parameters of activation x, as initializers: their names."""
        scale, zero = qdq.activation_quantization(*self.ranges[x])
        self.inits += [numpy_helper.from_array(scale, f"{x}_scale"),
                       numpy_helper.from_array(zero, f"{x}_zero_point")]
        return f"{x}_scale", f"{x}_zero_point"

    def quantize(self, x):
        """The int8 form of x: another quantized operator's output, or a
        QuantizeLinear added once."""
        if x not in self.quantized:
            scale, zero = self.params(x)
            self.nodes.append(helper.make_node("QuantizeLinear", [x, scale, zero],
                                               [f"{x}_quantized"], name=f"{x}_QuantizeLinear"))
            self.quantized[x] = (f"{x}_quantized", scale, zero)
        return list(self.quantized[x])

    def operator(self, node, inits, bias):
        x = self.quantize(node.input[0])
        w_name = node.input[1]
        axis = qdq.weight_axis(node)
        q_w, s_w = qdq.weight_quantization(inits[w_name].astype(np.float32), axis)
        self.inits += [numpy_helper.from_array(q_w, f"{w_name}_quantized"),
                       numpy_helper.from_array(s_w, f"{w_name}_scale"),
                       numpy_helper.from_array(np.zeros_like(s_w, np.int8),
                                               f"{w_name}_zero_point")]
        w = [f"{w_name}_quantized", f"{w_name}_scale", f"{w_name}_zero_point"]
        y = node.output[0]
        y_scale, y_zero = self.params(y)
        s_x = numpy_helper.to_array(next(t for t in self.inits if t.name == x[1]))
        alpha = np.float32(attribute(node, "alpha", 1.0)) if node.op_type == "Gemm" else 1.0
        b = []
        if bias is not None:
            b_name = f"{node.input[2]}_quantized"
            b_q = np.rint(bias / (np.float32(alpha) * s_x * s_w)).astype(np.int32)
            self.inits.append(numpy_helper.from_array(b_q, b_name))
            b = [b_name]
        kept = {a.name: helper.get_attribute_value(a) for a in node.attribute
                if a.name not in ("beta",)}
        q_y = f"{y}_quantized"
        if node.op_type == "Conv":
            made = helper.make_node("QLinearConv", [*x, *w, y_scale, y_zero, *b], [q_y],
                                    name=node.name, **kept)
        elif node.op_type == "MatMul":
            made = helper.make_node("QLinearMatMul", [*x, *w, y_scale, y_zero], [q_y],
                                    name=node.name)
        else:
            made = helper.make_node("QGemm", [*x, *w, *(b or [""]), y_scale, y_zero], [q_y],
                                    name=node.name, domain=MICROSOFT, **kept)
        self.nodes += [made, helper.make_node("DequantizeLinear", [q_y, y_scale, y_zero], [y],
                                              name=f"{y}_DequantizeLinear")]
        self.quantized[y] = (q_y, y_scale, y_zero)


def prune_dequantize(model):
    """DequantizeLinear nodes no node and no graph output reads."""
    read = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
    kept = [n for n in model.graph.node
            if n.op_type != "DequantizeLinear" or n.output[0] in read]
    del model.graph.node[:]
    model.graph.node.extend(kept)


def main(source, target, samples):
    model = qdq.load_at_opset_13(source, samples)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    nodes = []
    for node in qdq.quantizable(model):
        bias = bias_of(node, inits, inits[node.input[1]].shape[qdq.weight_axis(node)])
        if bias is not False:
            nodes.append((node, bias))
    tensors = sorted({t for n, _ in nodes for t in (n.input[0], n.output[0])})
    writer = Writer(qdq.activation_ranges(model, tensors, samples))
    bias_by_output = {n.output[0]: bias for n, bias in nodes}
    for node in model.graph.node:
        if node.output and node.output[0] in bias_by_output:
            writer.operator(node, inits, bias_by_output[node.output[0]])
        else:
            writer.nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(writer.nodes)
    model.graph.initializer.extend(writer.inits)
    prune_dequantize(model)
    qdq.drop_unused_initializers(model)
    if any(n.domain == MICROSOFT for n in model.graph.node):
        model.opset_import.append(helper.make_opsetid(MICROSOFT, 1))
    onnx.save(model, target)
    print(f"{target}: {len(nodes)} nodes quantized (QOperator), {len(tensors)} activations "
          f"calibrated on {len(samples)} samples")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
