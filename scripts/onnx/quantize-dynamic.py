#!/usr/bin/python3
"""Writes a dynamically quantized copy of an FP32 ONNX model in the form
onnxruntime's quantize_dynamic writes (weight_type=QInt8, per_channel=True),
for testing the runtime on such models: onnxruntime's quantizer is Python
only (onnxruntime.quantization; onnxruntime-node has none) and not in Debian,
so the graph is built here with python3-onnx, its weights with NumPy.

  NODE_PATH=<models>/node_modules quantize-dynamic.py MODEL.onnx OUT.onnx [NAME=SAMPLE.npy]

Each MatMul with a constant 2-D weight and each Conv with a constant 4-D
weight reads its input through a DynamicQuantizeLinear (one per tensor,
shared by its readers) and becomes MatMulInteger or ConvInteger with int8
symmetric weights per output channel (max |w| / 127, zero point 0), then
Cast to float, Mul by the input's scale times the weight's, and Add of the
Conv's bias. No calibration: the activations' scales are computed at run time. A
model of an opset below 13 is converted to 13 first, as by quantize-qdq.py
(NAME=SAMPLE.npy: an input for its Softmax rank probe, if it needs one).
"""
import importlib.util
import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_spec = importlib.util.spec_from_file_location(
    "quantize_qdq", pathlib.Path(__file__).with_name("quantize-qdq.py"))
qdq = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qdq)


class Writer:
    def __init__(self):
        self.nodes, self.inits = [], []
        self.quantized = {}  # float tensor -> (its uint8, scale, zero point)

    def quantize(self, name):
        """The DynamicQuantizeLinear outputs of `name`, made once."""
        if name not in self.quantized:
            outputs = [f"{name}_quantized", f"{name}_scale", f"{name}_zero_point"]
            self.nodes.append(helper.make_node("DynamicQuantizeLinear", [name], outputs,
                                               name=f"{name}_QuantizeLinear"))
            self.quantized[name] = outputs
        return self.quantized[name]

    def weight(self, name, w, conv):
        """int8 symmetric per output channel (quantize-qdq.py's): the
        quantized weight's name, and its scales' shaped to broadcast along
        the product's channels ([M, 1, 1] for a Conv, [N] for a MatMul)."""
        q, scales = qdq.weight_quantization(w, 0 if conv else 1)
        self.inits += [numpy_helper.from_array(q, f"{name}_quantized"),
                       numpy_helper.from_array(scales.reshape(-1, 1, 1) if conv else scales,
                                               f"{name}_scale")]
        return f"{name}_quantized", f"{name}_scale"

    def operator(self, node, inits):
        x, x_scale, x_zero_point = self.quantize(node.input[0])
        w, w_scale = self.weight(node.input[1], inits[node.input[1]], node.op_type == "Conv")
        out = node.output[0]
        integer = "MatMulInteger" if node.op_type == "MatMul" else "ConvInteger"
        self.nodes += [
            helper.make_node(integer, [x, w, x_zero_point], [f"{out}_output_quantized"],
                             name=f"{node.name}_quant"),
            helper.make_node("Cast", [f"{out}_output_quantized"], [f"{out}_output_float"],
                             to=TensorProto.FLOAT, name=f"{node.name}_cast"),
            helper.make_node("Mul", [x_scale, w_scale], [f"{out}_scales_mul"],
                             name=f"{node.name}_scales_mul")]
        if node.op_type == "Conv":
            self.nodes[-3].attribute.extend(node.attribute)
        scaled = out if len(node.input) < 3 or not node.input[2] else f"{out}_scaled"
        self.nodes.append(helper.make_node("Mul", [f"{out}_output_float", f"{out}_scales_mul"],
                                           [scaled], name=f"{node.name}_scales_mul_out"))
        if scaled != out:
            bias = f"{node.input[2]}_reshaped"
            self.inits.append(numpy_helper.from_array(
                inits[node.input[2]].reshape(1, -1, 1, 1).astype(np.float32), bias))
            self.nodes.append(helper.make_node("Add", [scaled, bias], [out],
                                               name=f"{node.name}_bias_add"))


def quantizable(model):
    """Conv (4-D constant weight, constant bias or none) and MatMul (2-D
    constant weight) nodes on a computed input."""
    inits = {t.name for t in model.graph.initializer}
    return [n for n in qdq.quantizable(model) if n.op_type in ("Conv", "MatMul")
            and (len(n.input) < 3 or not n.input[2] or n.input[2] in inits)]


def main(source, target, samples):
    model = qdq.load_at_opset_13(source, samples)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    nodes = {n.output[0] for n in quantizable(model)}
    writer = Writer()
    for node in model.graph.node:
        if node.output and node.output[0] in nodes:
            writer.operator(node, inits)
        else:
            writer.nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(writer.nodes)
    model.graph.initializer.extend(writer.inits)
    qdq.drop_unused_initializers(model)
    onnx.save(model, target)
    print(f"{target}: {len(nodes)} nodes quantized dynamically, {len(writer.quantized)} "
          f"activations quantized at run time")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
