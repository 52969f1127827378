#!/usr/bin/python3
"""Small ONNX graphs for the runtime's host tests (Debian's python3-onnx).

  make_test_models.py OUTDIR

Each model exercises one compiler pass; where a pass computes numbers (the
batch-norm fold), the expected values are written next to it as .npy.
"""
import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from make_external_data_models import external_data_models, memory_bound_model
from make_index_models import integer_models, one_hot_models, scatter_models
from make_operator_models import operator_models
from make_qdq_models import hostile_qdq_models, qdq_models
from make_qoperator_models import dynamic_models, hostile_qoperator_models, qoperator_models
from make_resize_models import resize_models
from make_volume_models import volume_models

OPSET = 13


def save(out, name, nodes, inputs, outputs, initializers=(), opset=OPSET, domains=None):
    """`domains`: other operator sets than ONNX's, {domain: version}."""
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    opsets = [helper.make_opsetid("", opset)]
    opsets += [helper.make_opsetid(d, v) for d, v in (domains or {}).items()]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, out / f"{name}.onnx")


def tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)

    # Shape inference: dynamic batch and spatial dims, a conv and a pool.
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    save(out, "shapes",
         [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
          helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
         [tensor("x", ["n", 3, "h", "w"])], [tensor("y", None)], [const("w", w)])

    # Constant folding: a reshape target computed from the input's shape.
    save(out, "fold_reshape",
         [helper.make_node("Shape", ["x"], ["s"]),
          helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
          helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
          helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
          helper.make_node("Reshape", ["x", "target"], ["y"])],
         [tensor("x", ["n", 4, 5, 6])], [tensor("y", None)],
         [const("i0", np.array(0, np.int64)), const("ax0", np.array([0], np.int64)),
          const("minus1", np.array([-1], np.int64))])

    # BatchNormalization folded into the conv before it.
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    gamma, beta = rng.uniform(0.5, 2, 4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    mean, var = rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)
    eps = 1e-5
    scale = gamma / np.sqrt(var + eps)
    np.save(out / "bn_fold.weight.npy", (w * scale[:, None, None, None]).astype(np.float32))
    np.save(out / "bn_fold.bias.npy", ((b - mean) * scale + beta).astype(np.float32))
    save(out, "bn_fold",
         [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
          helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["y"],
                           epsilon=eps)],
         [tensor("x", [1, 2, 8, 8])], [tensor("y", None)],
         [const("w", w), const("b", b), const("gamma", gamma), const("beta", beta),
          const("mean", mean), const("var", var)])

    # Conv + bias Add + Relu, and MatMul + Add + Sigmoid: one node each.
    save(out, "fuse",
         [helper.make_node("Conv", ["x", "w"], ["c"]),
          helper.make_node("Add", ["c", "cb"], ["cbias"]),
          helper.make_node("Relu", ["cbias"], ["r"]),
          helper.make_node("Flatten", ["r"], ["f"]),
          helper.make_node("MatMul", ["f", "m"], ["mm"]),
          helper.make_node("Add", ["mm", "mb"], ["mbias"]),
          helper.make_node("Sigmoid", ["mbias"], ["y"])],
         [tensor("x", [1, 2, 4, 4])], [tensor("y", None)],
         [const("w", rng.standard_normal((3, 2, 1, 1)).astype(np.float32)),
          const("cb", rng.standard_normal((3, 1, 1)).astype(np.float32)),
          const("m", rng.standard_normal((48, 5)).astype(np.float32)),
          const("mb", rng.standard_normal(5).astype(np.float32))])

    # Swish as PaddlePaddle exports it, after a conv: one CONV2D with SILU.
    save(out, "silu",
         [helper.make_node("Conv", ["x", "w"], ["c"]),
          helper.make_node("Mul", ["c", "one"], ["c1"]),
          helper.make_node("Sigmoid", ["c1"], ["s"]),
          helper.make_node("Mul", ["c", "s"], ["y"])],
         [tensor("x", [1, 2, 4, 4])], [tensor("y", None)],
         [const("w", rng.standard_normal((2, 2, 1, 1)).astype(np.float32)),
          const("one", np.array([1.0], np.float32))])

    # A conv whose output is read twice is not fused with its activation.
    save(out, "no_fuse_shared",
         [helper.make_node("Conv", ["x", "w"], ["c"]),
          helper.make_node("Relu", ["c"], ["r"]),
          helper.make_node("Add", ["c", "r"], ["y"])],
         [tensor("x", [1, 2, 4, 4])], [tensor("y", None)],
         [const("w", rng.standard_normal((2, 2, 1, 1)).astype(np.float32))])

    # A chain of eight elementwise steps: liveness lets two buffers serve all.
    nodes, prev = [], "x"
    for i in range(8):
        nodes.append(helper.make_node("Mul" if i % 2 else "Add", [prev, "k"], [f"t{i}"]))
        prev = f"t{i}"
    nodes.append(helper.make_node("Relu", [prev], ["y"]))
    save(out, "chain", nodes, [tensor("x", [1, 16, 32, 32])], [tensor("y", None)],
         [const("k", np.array(1.5, np.float32))])

    # Lowerings that need more than one instruction.
    save(out, "transpose_0213",
         [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1, 3])],
         [tensor("x", [2, 3, 4, 5])], [tensor("y", None)])
    save(out, "broadcast_channel",
         [helper.make_node("Mul", ["x", "s"], ["y"])],
         [tensor("x", [1, 4, 3, 3]), tensor("s", [1, 4, 1, 1])], [tensor("y", None)])

    # Operators the device cannot run: named at load time.
    save(out, "unsupported",
         [helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("Unique", ["r"], ["z"]),
          helper.make_node("Bernoulli", ["z"], ["e"]),
          helper.make_node("Bernoulli", ["e"], ["y"])],
         [tensor("x", [1, 1, 2, 2])], [tensor("y", None)])
    # Known op, an attribute value the lowering cannot map: reported at
    # compile time.
    save(out, "pad_reflect",
         [helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect")],
         [tensor("x", [2, 3, 4])], [tensor("y", None)],
         [const("pads", np.array([0, 3, 1, 0, 1, 1], np.int64))])

    isa_v11_models(out, rng)
    hard_sigmoid_affine_model(out)
    general_models(out)
    embedding_models(out)
    mask_models(out)
    log_family_models(out, rng)
    int8_models(out, rng)
    prelu_models(out)
    tile_models(out)
    operator_models(out, save, tensor, np.random.default_rng(11))
    resize_models(out, save, tensor)
    volume_models(out, save, tensor, np.random.default_rng(15))
    scatter_models(out, save, tensor, np.random.default_rng(13))
    one_hot_models(out, save, tensor)
    integer_models(out, save, tensor, np.random.default_rng(14))
    # A generator of their own: adding QDQ graphs changes no other graph.
    qdq_models(out, np.random.default_rng(9), save, tensor)
    qoperator_models(out, np.random.default_rng(10), save, tensor)
    dynamic_models(out, np.random.default_rng(15), save, tensor)

    constant_attribute_models(out)
    hostile_models(out)
    if_models(out)
    hostile_qdq_models(out, save, tensor)
    hostile_qoperator_models(out, save, tensor)
    external_data_models(out, np.random.default_rng(11))
    memory_bound_model(out, np.random.default_rng(12))

    # Malformed: a node reading a value nothing defines; a truncated file.
    save(out, "undefined_input",
         [helper.make_node("Relu", ["nowhere"], ["y"])],
         [tensor("x", [1])], [tensor("y", [1])])
    whole = (out / "chain.onnx").read_bytes()
    (out / "truncated.onnx").write_bytes(whole[: len(whole) // 2])
    (out / "garbage.onnx").write_bytes(b"\x93NUMPY not a model at all" * 7)
    (out / "empty.onnx").write_bytes(b"")
    # An input file npu-infer refuses before it opens a device: no model takes
    # complex numbers.
    np.save(out / "complex_input.npy", np.zeros(4, np.complex64))
    # chain.onnx's input, and a calibration sample of the wrong shape for it.
    np.save(out / "chain_input.npy", np.zeros((1, 16, 32, 32), np.float32))
    np.save(out / "wrong_shape.npy", np.zeros((1, 16, 8), np.float32))


def constant_attribute_models(out):
    """Constant nodes in every numeric form (opset 12 on): value_float,
    value_floats, value_int, value_ints; and one holding a string,
    refused."""
    def constant(name, **value):
        return helper.make_node("Constant", [], [name], **value)
    save(out, "constant_attributes",
         [constant("s", value_float=2.5), constant("v", value_floats=[1.0, 2.0, 3.0, 4.0]),
          constant("shape", value_ints=[4, 2]), constant("one", value_int=1),
          helper.make_node("Mul", ["x", "s"], ["a"]),
          helper.make_node("Add", ["a", "v"], ["b"]),
          helper.make_node("Reshape", ["b", "shape"], ["y"]),
          helper.make_node("Gather", ["y", "one"], ["g"])],
         [tensor("x", [2, 4])], [tensor("y", None), tensor("g", None)])
    # A Range over a length given at run time (ONNX's window functions,
    # expanded): the values after it have no static shape.
    save(out, "range_run_time_length",
         [helper.make_node("Cast", ["n"], ["length"], to=TensorProto.FLOAT),
          helper.make_node("Range", ["zero", "length", "one"], ["ramp"]),
          helper.make_node("Mul", ["ramp", "one"], ["y"])],
         [helper.make_tensor_value_info("n", TensorProto.INT32, [])], [tensor("y", None)],
         [const("zero", np.float32(0)), const("one", np.float32(1))])
    # Neg of the most negative int64 (the model fuzzer, stop 39: folded
    # through a double, an undefined conversion of 2^63 back).
    save(out, "hostile_neg_int64_min", [helper.make_node("Neg", ["m"], ["y"])],
         [], [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
         [const("m", np.array([np.iinfo(np.int64).min], np.int64))])
    save(out, "hostile_constant_string",
         [constant("c", value_string="text"), helper.make_node("Identity", ["x"], ["y"])],
         [tensor("x", [1])], [tensor("y", None)])


def hostile_models(out):
    """Models that crashed the compiler or Debian's libonnx 1.12 (found by
    tests/fuzz/model): each must be refused with a ModelError."""
    w = const("w", np.ones((3, 2, 1, 1), np.float32))
    # A Conv weight of another rank than its input (onnx/onnx#6180).
    save(out, "hostile_conv_rank", [helper.make_node("Conv", ["x", "w"], ["y"])],
         [tensor("x", [2, 4, 4])], [tensor("y", None)], [w])
    # A Gemm of a scalar (onnx/onnx#6185).
    save(out, "hostile_gemm_scalar",
         [helper.make_node("Gemm", ["a", "b"], ["y"], transB=1)],
         [tensor("a", [2, 1])], [tensor("y", None)], [const("b", np.float32(2))])
    # Pads whose raw bytes are one short of their shape.
    pads = TensorProto(name="pads", data_type=TensorProto.INT64, dims=[8], raw_data=bytes(63))
    save(out, "hostile_short_raw_data", [helper.make_node("Pad", ["x", "pads"], ["y"])],
         [tensor("x", [1, 1, 4, 4])], [tensor("y", None)], [pads])
    # Values a shape inference reads, stored in the typed fields with too
    # few of them: a scalar with none (the model fuzzer's find, stop 28:
    # libonnx's Range inference read its missing value) and pads one short.
    empty = TensorProto(name="zero", data_type=TensorProto.INT64, dims=[])
    save(out, "hostile_tensor_without_data",
         [helper.make_node("Range", ["zero", "big", "one"], ["y"])],
         [], [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
         [empty, const("big", np.int64(8)), const("one", np.int64(1))])
    pads = TensorProto(name="pads", data_type=TensorProto.INT64, dims=[8],
                       int64_data=[0] * 7)
    save(out, "hostile_short_typed_data", [helper.make_node("Pad", ["x", "pads"], ["y"])],
         [tensor("x", [1, 1, 4, 4])], [tensor("y", None)], [pads])
    # An empty value whose other dimensions multiply past 2^63 (the model
    # fuzzer, stop 28): lowering a Gather on it computed offsets that
    # overflowed.
    save(out, "hostile_empty_huge_gather",
         [helper.make_node("Pad", ["x", "pads"], ["q"]),
          helper.make_node("Gather", ["q", "index"], ["y"], axis=2)],
         [tensor("x", [1, 3, 5, 6])], [tensor("y", None)],
         [const("pads", np.array([-1, 0, (1 << 62) - 5, 0, 0, 0, 0, 0], np.int64)),
          const("index", np.array([1 << 61], np.int64))])
    # A Gather whose index is a floating-point NaN (the model fuzzer, stop
    # 29): lowering converted it to an integer, which is undefined.
    save(out, "hostile_nan_gather_index",
         [helper.make_node("Gather", ["x", "index"], ["y"], axis=2)],
         [tensor("x", [1, 3, 5, 6])], [tensor("y", None)],
         [const("index", np.float64("nan"))])
    # Two inputs of one name, of two ranks.
    save(out, "hostile_duplicate_input", [helper.make_node("Relu", ["x"], ["y"])],
         [tensor("x", [1, 4]), tensor("x", [1, 4, 4])], [tensor("y", None)])
    # A Conv that computes nothing.
    save(out, "hostile_conv_without_output", [helper.make_node("Conv", ["x", "w"], [])],
         [tensor("x", [1, 2, 4, 4])], [tensor("x", None)], [w])
    # Operator set version 0, in which no operator exists.
    save(out, "hostile_opset_zero", [helper.make_node("Relu", ["x"], ["y"])],
         [tensor("x", [1, 4])], [tensor("y", None)], opset=0)
    # A Conv of stride 0 (libonnx divides by it).
    save(out, "hostile_conv_zero_stride",
         [helper.make_node("Conv", ["x", "w"], ["y"], strides=[0, 2])],
         [tensor("x", [1, 2, 4, 4])], [tensor("y", None)], [w])
    # A Range of 2^28 elements, folded.
    save(out, "hostile_huge_range", [helper.make_node("Range", ["zero", "big", "one"], ["y"])],
         [], [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
         [const("zero", np.int64(0)), const("big", np.int64(1 << 28)), const("one", np.int64(1))])
    # A Range of 2^23 elements negated twice: each fold within the limit of
    # one, the three together beyond what a model without weights may fold.
    chain = [helper.make_node("Range", ["zero", "big", "one"], ["r0"])]
    chain += [helper.make_node("Neg", [f"r{i}"], [f"r{i + 1}"]) for i in range(2)]
    save(out, "hostile_fold_chain", chain,
         [], [helper.make_tensor_value_info("r2", TensorProto.INT64, None)],
         [const("zero", np.int64(0)), const("big", np.int64(1 << 23)), const("one", np.int64(1))])
    # A ConvTranspose whose output_shape does not fit its input: libonnx 1.12
    # infers an output of rank 2.
    save(out, "hostile_conv_transpose_rank_2_output",
         [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[3, 3], dilations=[1, 2],
                           output_shape=[8, 16])],
         [tensor("x", [1, 2, 14, 5])], [tensor("y", None)],
         [const("w", np.ones((2, 2, 3, 3), np.float32))])
    # A BatchNormalization over [1, 4, 2^32 + 25]: per-channel constants
    # that would be expanded over 2^32 elements.
    bn = [const(n, np.ones(4, np.float32)) for n in ("g", "b", "m", "v")]
    save(out, "hostile_huge_broadcast",
         [helper.make_node("Reshape", ["x", "shape"], ["f"]),
          helper.make_node("BatchNormalization", ["f", "g", "b", "m", "v"], ["y"])],
         [tensor("x", [1, 4, 5, 5])], [tensor("y", None)],
         bn + [const("shape", np.array([1, 4, (1 << 32) + 25], np.int64))])
    # A Reshape of 100 elements to 17e9 (libonnx 1.12 infers it), then a
    # Relu that would read past x in ranges of the operand.
    save(out, "hostile_reshape_count",
         [helper.make_node("Reshape", ["x", "shape"], ["f"]),
          helper.make_node("Relu", ["f"], ["y"])],
         [tensor("x", [1, 4, 5, 5])], [tensor("y", None)],
         [const("shape", np.array([1, 4, (1 << 32) + 25], np.int64))])
    # A Conv whose folded BatchNormalization makes an infinite weight: INT8
    # cannot quantize it.
    save(out, "hostile_infinite_weight",
         [helper.make_node("Conv", ["x", "w"], ["c"]),
          helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"])],
         [tensor("x", [1, 2, 4, 4])], [tensor("y", None)],
         [const("w", np.ones((2, 2, 1, 1), np.float32)),
          const("g", np.array([1, -6e37], np.float32)), const("b", np.zeros(2, np.float32)),
          const("m", np.zeros(2, np.float32)), const("v", np.full(2, 1e-30, np.float32))])
    # Padding to more than 2^40 elements.
    save(out, "hostile_huge_pad", [helper.make_node("Pad", ["x", "pads"], ["y"])],
         [tensor("x", [1, 1, 4, 4])], [tensor("y", None)],
         [const("pads", np.array([0, 0, 0, 0, 0, 0, 1 << 40, 0], np.int64))])


def int8_models(out, rng):
    """The INT8 rewrite's graph: Conv + Relu into Conv (INT8 end to end), into
    MaxPool (FP32, a second output) and into a third Conv read only as float
    (a third output); the second Conv through Flatten (INT8 passes through)
    into Gemm with transB and alpha/beta (INT8), Sigmoid (FP32). Also in
    guest-onnx-models against onnxruntime."""
    save(out, "int8_convs",
         [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
          helper.make_node("Relu", ["c1"], ["r1"]),
          helper.make_node("Conv", ["r1", "w2"], ["c2"], strides=[2, 2], group=2),
          helper.make_node("Flatten", ["c2"], ["f"]),
          helper.make_node("Gemm", ["f", "wg", "bg"], ["g"], transB=1, alpha=0.5, beta=2.0),
          helper.make_node("Sigmoid", ["g"], ["y"]),
          helper.make_node("MaxPool", ["r1"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
          helper.make_node("Conv", ["r1", "w3"], ["z"], pads=[1, 1, 1, 1], strides=[2, 2])],
         [tensor("x", [1, 3, 8, 8])], [tensor("y", None), tensor("p", None), tensor("z", None)],
         [const("w1", rng.standard_normal((8, 3, 3, 3)).astype(np.float32)),
          const("b1", rng.standard_normal(8).astype(np.float32)),
          const("w2", rng.standard_normal((4, 4, 3, 3)).astype(np.float32)),
          const("wg", (rng.standard_normal((10, 36)) / 6).astype(np.float32)),
          const("bg", rng.standard_normal(10).astype(np.float32)),
          const("w3", (rng.standard_normal((4, 8, 3, 3)) / 6).astype(np.float32))])


def resize(out, name, x_shape, mode, ctm, scales=None, sizes=None, nearest="round_prefer_floor"):
    """Scales as opset 11 has them (roi, scales), sizes as from opset 13 (no scales)."""
    if scales is not None:
        inputs, opset = ["x", "roi", "scales"], 11
        inits = [const("roi", np.zeros(0, np.float32)), const("scales", np.array(scales, np.float32))]
    else:
        inputs, opset = ["x", "", "", "sizes"], 13
        inits = [const("sizes", np.array(sizes, np.int64))]
    save(out, name,
         [helper.make_node("Resize", inputs, ["y"], mode=mode,
                           coordinate_transformation_mode=ctm, nearest_mode=nearest)],
         [tensor("x", x_shape)], [tensor("y", None)], inits, opset=opset)


def isa_v11_models(out, rng):
    # Resize: the det model's form (nearest, asymmetric, floor, scales 2),
    # bilinear to sizes that are no multiple, align_corners, half_pixel
    # nearest downscaling; and two the ISA does not have, refused by name.
    resize(out, "resize_nearest_floor", [1, 3, 5, 7], "nearest", "asymmetric",
           scales=[1, 1, 2, 2], nearest="floor")
    resize(out, "resize_linear_sizes", [2, 3, 5, 7], "linear", "half_pixel", sizes=[2, 3, 8, 11])
    resize(out, "resize_linear_align_corners", [1, 2, 4, 6], "linear", "align_corners",
           scales=[1, 1, 1.5, 2.5])
    resize(out, "resize_nearest_half_pixel", [1, 2, 9, 8], "nearest", "half_pixel",
           sizes=[1, 2, 4, 5], nearest="round_prefer_ceil")
    resize(out, "resize_cubic", [1, 1, 4, 4], "cubic", "half_pixel", scales=[1, 1, 2, 2])
    # Feature maps of 66 MiB, beyond the device's 64 MiB operand: a Conv
    # whose output is one (bands of output rows), an activation, a sum and
    # a broadcast product over them (ranges), a MaxPool (runs of planes), a
    # Conv reading one, padded unevenly (bands of input rows); and a Conv
    # of 5e9 multiply-adds, more than one CONV2D takes per image.
    big = np.random.default_rng(41)  # its own: the models after keep their values
    save(out, "conv_bands",
         [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
          helper.make_node("Relu", ["c"], ["r"]),
          helper.make_node("Exp", ["r"], ["e"]),
          helper.make_node("Sub", ["r", "e"], ["s"]),
          helper.make_node("Mul", ["s", "columns"], ["m"]),
          helper.make_node("MaxPool", ["m"], ["p"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
          helper.make_node("Conv", ["p", "w2"], ["y"], strides=[2, 2], pads=[0, 0, 1, 1])],
         [tensor("x", [1, 3, 520, 520])], [tensor("y", None)],
         [const("w", big.uniform(-0.3, 0.3, (64, 3, 3, 3)).astype(np.float32)),
          const("b", big.uniform(-0.5, 0.5, 64).astype(np.float32)),
          const("columns", big.uniform(-1, 1, 520).astype(np.float32)),
          const("w2", big.uniform(-0.05, 0.05, (8, 64, 3, 3)).astype(np.float32))])
    save(out, "conv_many_macs",
         [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
          helper.make_node("Conv", ["c", "w2"], ["y"])],
         [tensor("x", [1, 64, 260, 260])], [tensor("y", None)],
         [const("w", big.uniform(-0.05, 0.05, (128, 64, 3, 3)).astype(np.float32)),
          const("w2", big.uniform(-0.1, 0.1, (4, 128, 1, 1)).astype(np.float32))])
    # Copies of 66 MiB in pieces that fit: a sum broadcast to [1, 64, 520,
    # 520] (both operands expanded), its Transpose, a Softmax over its
    # last axis (ranges of rows), a strided Slice of that.
    save(out, "copy_pieces",
         [helper.make_node("Add", ["x", "rows"], ["e"]),
          helper.make_node("Transpose", ["e"], ["t"], perm=[0, 2, 3, 1]),
          helper.make_node("Softmax", ["t"], ["p"], axis=-1),
          helper.make_node("Slice", ["p", "starts", "ends", "axes", "steps"], ["y"])],
         [tensor("x", [1, 64, 1, 520])], [tensor("y", None)],
         [const("rows", big.uniform(-1, 1, (1, 1, 520, 1)).astype(np.float32)),
          const("starts", np.array([3, 5, 0], np.int64)),
          const("ends", np.array([520, 520, 64], np.int64)),
          const("axes", np.array([1, 2, 3], np.int64)),
          const("steps", np.array([8, 8, 1], np.int64))])
    # A bilinear Resize to 66 MiB (runs of planes), its
    # InstanceNormalization (ranges of rows, the affine in bands), then a
    # 1x1 Conv of it (bands of rows).
    save(out, "resize_planes",
         [helper.make_node("Resize", ["x", "", "scales"], ["r"], mode="linear"),
          helper.make_node("InstanceNormalization", ["r", "gamma", "beta"], ["i"]),
          helper.make_node("Conv", ["i", "w"], ["y"])],
         [tensor("x", [1, 64, 260, 260])], [tensor("y", None)],
         [const("scales", np.array([1, 1, 2, 2], np.float32)),
          const("gamma", big.uniform(0.5, 1.5, 64).astype(np.float32)),
          const("beta", big.uniform(-0.5, 0.5, 64).astype(np.float32)),
          const("w", big.uniform(-0.1, 0.1, (4, 64, 1, 1)).astype(np.float32))])
    # A ConvTranspose whose output is 66 MiB (a U-Net decoder's up-sampling
    # to 520x520; kernel 4, stride 2, pads 1) in groups of output channels,
    # then a 1x1 Conv of it.
    save(out, "conv_transpose_channels",
         [helper.make_node("ConvTranspose", ["x", "wt", "bt"], ["u"], strides=[2, 2],
                           pads=[1, 1, 1, 1], kernel_shape=[4, 4]),
          helper.make_node("Conv", ["u", "w"], ["y"])],
         [tensor("x", [1, 64, 260, 260])], [tensor("y", None)],
         [const("wt", big.uniform(-0.1, 0.1, (64, 64, 4, 4)).astype(np.float32)),
          const("bt", big.uniform(-0.5, 0.5, 64).astype(np.float32)),
          const("w", big.uniform(-0.1, 0.1, (4, 64, 1, 1)).astype(np.float32))])
    # A sum whose second operand, 4100 x 4100 (67 MB), repeats over two
    # images: too long to be ELTWISE's broadcast b, so made whole first
    # (lowered by host tests only: 134 MB per input).
    save(out, "broadcast_beyond_operand",
         [helper.make_node("Add", ["x", "b"], ["y"])],
         [tensor("x", [2, 1, 4100, 4100]), tensor("b", [1, 1, 4100, 4100])],
         [tensor("y", None)])
    # Reductions of a tensor of 66 MiB: the mean of all of it and the sum
    # and maximum over its channels (one reduction beyond the operand:
    # partial sums or maxima of runs of rows, reduced again), the mean of
    # each plane (ranges of planes). Not the sum of all of it: 17M terms in
    # float32 lose about 1e-4 of it (onnxruntime 3e-4 of sum |x|, the
    # device 8e-5, against float64), beyond the tolerance.
    save(out, "reduce_beyond_operand",
         [helper.make_node("ReduceMean", ["x"], ["mean"], keepdims=0),
          helper.make_node("ReduceMean", ["x"], ["planes"], axes=[2, 3]),
          helper.make_node("ReduceMax", ["x"], ["channel_max"], axes=[1]),
          helper.make_node("ReduceSum", ["x", "channel"], ["channel_sum"], keepdims=0)],
         [tensor("x", [1, 64, 520, 520])],
         [tensor("mean", None), tensor("planes", None), tensor("channel_max", None),
          tensor("channel_sum", None)],
         [const("channel", np.array([1], np.int64))])
    # The mean of 69 million values around 3 (a Resize by 4 of x + 3), run
    # in FP16: 138 MB, beyond the operand. Partial sums of its runs would
    # overflow FP16 (33 million x 3); partial means weighted by their share
    # do not.
    save(out, "reduce_mean_fp16",
         [helper.make_node("Add", ["x", "three"], ["shifted"]),
          helper.make_node("Resize", ["shifted", "", "scales"], ["big"], mode="nearest"),
          helper.make_node("ReduceMean", ["big"], ["y"], keepdims=0)],
         [tensor("x", [1, 64, 260, 260])], [tensor("y", None)],
         [const("three", np.array(3, np.float32)),
          const("scales", np.array([1, 1, 4, 4], np.float32))])
    # Masks of a tensor of 66 MiB (COMPARE of a broadcast row of
    # thresholds, SELECT, CONVERT of the mask to float, ThresholdedRelu's
    # COMPARE and SELECT by a scalar): ranges that fit the operand, each of
    # whole rows of the broadcast thresholds.
    save(out, "masks_beyond_operand",
         [helper.make_node("Greater", ["x", "thresholds"], ["g"]),
          helper.make_node("Where", ["g", "x", "floor"], ["w"]),
          helper.make_node("Cast", ["g"], ["c"], to=TensorProto.FLOAT),
          helper.make_node("Add", ["w", "c"], ["s"]),
          helper.make_node("ThresholdedRelu", ["x"], ["t"], alpha=0.5),
          helper.make_node("Add", ["s", "t"], ["y"])],
         [tensor("x", [1, 64, 520, 520])], [tensor("y", None)],
         [const("thresholds", big.uniform(-1, 1, 520).astype(np.float32)),
          const("floor", np.array(-0.25, np.float32))])
    # Products whose A (8400 x 2048, 69 MB) exceeds the operand: MatMul and
    # Gemm (transposed B, a bias) in ranges of rows of A and of the result.
    save(out, "matmul_rows",
         [helper.make_node("MatMul", ["x", "w"], ["m"]),
          helper.make_node("Gemm", ["x", "wt", "bias"], ["g"], transB=1)],
         [tensor("x", [8400, 2048])], [tensor("m", None), tensor("g", None)],
         [const("w", big.uniform(-0.005, 0.005, (2048, 64)).astype(np.float32)),
          const("wt", big.uniform(-0.005, 0.005, (32, 2048)).astype(np.float32)),
          const("bias", big.uniform(-0.5, 0.5, 32).astype(np.float32))])
    # Channels of a tensor of 66 MiB in a shuffled order: one GATHER per
    # range of the rows that fits (the table is not staged).
    save(out, "gather_beyond_operand",
         [helper.make_node("Gather", ["x", "order"], ["y"], axis=1)],
         [tensor("x", [1, 64, 520, 520])], [tensor("y", None)],
         [const("order", big.permutation(64).astype(np.int64))])
    # Products of a batched B whose A (3 x 2800 x 2048, 69 MB) exceeds the
    # operand: GEMM_BATCHEDs of runs of matrices that fit (two, then one).
    save(out, "batched_matmul_beyond_operand",
         [helper.make_node("MatMul", ["x", "w"], ["y"])],
         [tensor("x", [3, 2800, 2048])], [tensor("y", None)],
         [const("w", big.uniform(-0.005, 0.005, (3, 2048, 8)).astype(np.float32))])
    # Products whose B, or transposed A, exceeds the operand (a language
    # model's vocabulary projection, 2048 x 8448, 69 MB): a constant B
    # stored K x N (MatMul; Gemm transB 0 with alpha and a bias) transposed
    # on the host, a computed one (h, 66 MiB) and a computed transposed A
    # (Gemm transA 1) by COPY_STRIDEDs in pieces; then GEMMs of blocks of
    # B's rows and ranges of A's.
    save(out, "products_beyond_operand",
         [helper.make_node("MatMul", ["x", "w"], ["m"]),
          helper.make_node("Gemm", ["x", "w", "bias"], ["g"], alpha=0.5),
          helper.make_node("ReduceMean", ["x"], ["r"], axes=[0]),
          helper.make_node("Transpose", ["r"], ["rt"]),
          helper.make_node("Mul", ["rt", "small"], ["rs"]),
          helper.make_node("Add", ["w", "rs"], ["h"]),
          helper.make_node("MatMul", ["x", "h"], ["mh"]),
          helper.make_node("Gemm", ["h", "z"], ["ga"], transA=1)],
         [tensor("x", [4, 2048])],
         [tensor("m", None), tensor("g", None), tensor("mh", None), tensor("ga", None)],
         [const("w", big.uniform(-0.005, 0.005, (2048, 8448)).astype(np.float32)),
          const("bias", big.uniform(-0.5, 0.5, 8448).astype(np.float32)),
          const("small", np.array(0.01, np.float32)),
          const("z", big.uniform(-1, 1, (2048, 16)).astype(np.float32))])
    # Grouped ConvTransposes to 64 x 520 x 520 (66 MiB): four groups, and
    # depthwise (bilinear up-sampling as FCNs export it), each in parts of
    # one image, one group and the output channels that fit.
    save(out, "conv_transpose_groups",
         [helper.make_node("ConvTranspose", ["x", "wg", "bg"], ["u"], strides=[2, 2],
                           pads=[1, 1, 1, 1], kernel_shape=[4, 4], group=4),
          helper.make_node("ConvTranspose", ["x", "wd"], ["d"], strides=[2, 2],
                           pads=[1, 1, 1, 1], kernel_shape=[4, 4], group=64),
          helper.make_node("Add", ["u", "d"], ["y"])],
         [tensor("x", [1, 64, 260, 260])], [tensor("y", None)],
         [const("wg", big.uniform(-0.1, 0.1, (64, 16, 4, 4)).astype(np.float32)),
          const("bg", big.uniform(-0.5, 0.5, 64).astype(np.float32)),
          const("wd", big.uniform(-0.5, 0.5, (64, 1, 4, 4)).astype(np.float32))])
    # A ConvTranspose to 66 MiB by weights computed from the input (their
    # slices cannot be cut on the host): compiled, and the job fails naming
    # the node and the tensor's size.
    save(out, "conv_transpose_computed_beyond_operand",
         [helper.make_node("Slice", ["x", "starts", "ends"], ["s"]),
          helper.make_node("Reshape", ["s", "shape"], ["w"]),
          helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2])],
         [tensor("x", [1, 64, 260, 260])], [tensor("y", None)],
         [const("starts", np.array([0, 0, 0, 0], np.int64)),
          const("ends", np.array([1, 1, 128, 128], np.int64)),
          const("shape", np.array([64, 64, 2, 2], np.int64))])
    # An output the runtime does not compute: the argmax indices of a 1-D
    # pooling.
    save(out, "maxpool_indices",
         [helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2])],
         [tensor("x", [1, 1, 5])],
         [tensor("y", None), helper.make_tensor_value_info("i", TensorProto.INT64, None)],
         opset=12)
    resize(out, "resize_tf_crop", [1, 1, 4, 4], "linear", "tf_crop_and_resize",
           scales=[1, 1, 2, 2])

    # ConvTranspose: pads, strides, dilations, groups, output_padding, bias.
    save(out, "conv_transpose",
         [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1],
                           strides=[2, 3], dilations=[2, 1], group=2, output_padding=[1, 2])],
         [tensor("x", [1, 4, 5, 6])], [tensor("y", None)],
         [const("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
          const("b", rng.standard_normal(6).astype(np.float32))])
    # Each side padded apart: asymmetric pads, output_shape (an odd total
    # split as the spec has it, and one beyond the extent: bias-only rows),
    # SAME_UPPER and SAME_LOWER.
    save(out, "conv_transpose_asymmetric",
         [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], pads=[0, 2, 1, 1],
                           strides=[2, 2], output_padding=[1, 0])],
         [tensor("x", [1, 2, 3, 4])], [tensor("y", None)],
         [const("w", rng.standard_normal((2, 3, 3, 3)).astype(np.float32)),
          const("b", rng.standard_normal(3).astype(np.float32))])
    save(out, "conv_transpose_output_shape",
         [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 3],
                           dilations=[1, 2], output_shape=[8, 16])],
         [tensor("x", [1, 2, 4, 5])], [tensor("y", None)],
         [const("w", rng.standard_normal((2, 2, 3, 3)).astype(np.float32)),
          const("b", rng.standard_normal(2).astype(np.float32))])
    save(out, "conv_transpose_too_large",
         [helper.make_node("ConvTranspose", ["x", "w"], ["y"], output_shape=[8, 8])],
         [tensor("x", [1, 1, 3, 3])], [tensor("y", None)],
         [const("w", np.ones((1, 1, 3, 3), np.float32))])
    save(out, "conv_transpose_same",
         [helper.make_node("ConvTranspose", ["x", "w"], ["u"], strides=[2, 2], auto_pad="SAME_UPPER"),
          helper.make_node("ConvTranspose", ["u", "w2"], ["y"], strides=[3, 2], group=3,
                           auto_pad="SAME_LOWER")],
         [tensor("x", [1, 2, 3, 5])], [tensor("y", None)],
         [const("w", rng.standard_normal((2, 3, 4, 3)).astype(np.float32)),
          const("w2", rng.standard_normal((3, 1, 3, 3)).astype(np.float32))])
    # As the det model: ConvTranspose -> Add bias -> BN -> Relu, two groups;
    # the fold's expected weights and bias next to it.
    w = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    b = rng.standard_normal((1, 6, 1, 1)).astype(np.float32)
    gamma, beta = rng.uniform(0.5, 2, 6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    mean, var = rng.standard_normal(6).astype(np.float32), rng.uniform(0.5, 2, 6).astype(np.float32)
    scale = gamma / np.sqrt(var + 1e-5)
    # Output channel of w[c, k]: group (c // 2) * 3 + k.
    channel = (np.arange(4)[:, None] // 2) * 3 + np.arange(3)[None, :]
    np.save(out / "conv_transpose_bn.weight.npy",
            (w * scale[channel][:, :, None, None]).astype(np.float32))
    np.save(out / "conv_transpose_bn.bias.npy", ((b.ravel() - mean) * scale + beta).astype(np.float32))
    save(out, "conv_transpose_bn",
         [helper.make_node("ConvTranspose", ["x", "w"], ["c"], strides=[2, 2], group=2),
          helper.make_node("Add", ["c", "b"], ["cb"]),
          helper.make_node("BatchNormalization", ["cb", "gamma", "beta", "mean", "var"], ["n"]),
          helper.make_node("Relu", ["n"], ["y"])],
         [tensor("x", [1, 4, 3, 5])], [tensor("y", None)],
         [const("w", w), const("b", b), const("gamma", gamma), const("beta", beta),
          const("mean", mean), const("var", var)])

    # Hard-swish as PaddlePaddle exports it, after a conv, and the ONNX op.
    save(out, "hard_swish",
         [helper.make_node("Conv", ["x", "w"], ["c"]),
          helper.make_node("Add", ["c", "three"], ["c3"]),
          helper.make_node("Clip", ["c3", "zero", "six"], ["r6"]),
          helper.make_node("Mul", ["c", "r6"], ["m"]),
          helper.make_node("Div", ["m", "six"], ["y"])],
         [tensor("x", [1, 2, 4, 4])], [tensor("y", None)],
         [const("w", (3 * rng.standard_normal((3, 2, 1, 1))).astype(np.float32)),
          const("three", np.array(3.0, np.float32)), const("zero", np.array(0.0, np.float32)),
          const("six", np.array(6.0, np.float32))])
    save(out, "hard_swish_op", [helper.make_node("HardSwish", ["x"], ["y"])],
         [tensor("x", [1, 2, 3, 4])], [tensor("y", None)], opset=14)

    # ISA v1.5's fused activations (hw-spec 7.4.5) after each product:
    # Conv + HardSwish, Conv + bias Add + HardSigmoid(1/6, 0.5) (PyTorch's),
    # Conv + Clip(0, 6) from inputs, Gemm + HardSwish, and MatMul + Add +
    # HardSigmoid with ONNX's default alpha 0.2 (another function, which
    # joins the product with its affine moved into the weights and bias).
    save(out, "hard_activations",
         [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
          helper.make_node("HardSwish", ["c1"], ["h1"]),
          helper.make_node("Conv", ["h1", "w2"], ["c2"]),
          helper.make_node("Add", ["c2", "cb"], ["c2b"]),
          helper.make_node("HardSigmoid", ["c2b"], ["h2"], alpha=1 / 6, beta=0.5),
          helper.make_node("Conv", ["h2", "w3"], ["c3"]),
          helper.make_node("Clip", ["c3", "zero", "six"], ["r3"]),
          helper.make_node("Flatten", ["r3"], ["f"]),
          helper.make_node("Gemm", ["f", "m1", "mb1"], ["g1"]),
          helper.make_node("HardSwish", ["g1"], ["h4"]),
          helper.make_node("MatMul", ["h4", "m2"], ["g2"]),
          helper.make_node("Add", ["g2", "mb2"], ["g2b"]),
          helper.make_node("HardSigmoid", ["g2b"], ["y"])],
         [tensor("x", [1, 3, 4, 4])], [tensor("y", None)],
         [const("w1", (2 * rng.standard_normal((4, 3, 3, 3))).astype(np.float32)),
          const("w2", (2 * rng.standard_normal((4, 4, 1, 1))).astype(np.float32)),
          const("cb", rng.standard_normal((4, 1, 1)).astype(np.float32)),
          const("w3", (4 * rng.standard_normal((2, 4, 1, 1))).astype(np.float32)),
          const("zero", np.array(0.0, np.float32)), const("six", np.array(6.0, np.float32)),
          const("m1", (2 * rng.standard_normal((32, 6))).astype(np.float32)),
          const("mb1", rng.standard_normal(6).astype(np.float32)),
          const("m2", (2 * rng.standard_normal((6, 5))).astype(np.float32)),
          const("mb2", rng.standard_normal(5).astype(np.float32))], opset=14)
    # As PaddlePaddle exports MobileNetV3 at opset 9: Clip's bounds as
    # attributes, ReLU6 after a conv and hard-swish spelled out after one.
    save(out, "hard_activations_opset9",
         [helper.make_node("Conv", ["x", "w1"], ["c1"]),
          helper.make_node("Clip", ["c1"], ["r1"], min=0.0, max=6.0),
          helper.make_node("Conv", ["r1", "w2"], ["c2"]),
          helper.make_node("Add", ["c2", "three"], ["c3"]),
          helper.make_node("Clip", ["c3"], ["r6"], min=0.0, max=6.0),
          helper.make_node("Mul", ["c2", "r6"], ["m"]),
          helper.make_node("Div", ["m", "six"], ["y"])],
         [tensor("x", [1, 3, 4, 4])], [tensor("y", None)],
         [const("w1", (3 * rng.standard_normal((4, 3, 1, 1))).astype(np.float32)),
          const("w2", (3 * rng.standard_normal((4, 4, 1, 1))).astype(np.float32)),
          const("three", np.array(3.0, np.float32)), const("six", np.array(6.0, np.float32))],
         opset=9)

    # ACTIVATION_PARAM: HardSigmoid, Clip, LeakyRelu, Sqrt, Exp, Pow.
    save(out, "activations",
         [helper.make_node("HardSigmoid", ["x"], ["h"], alpha=1 / 6, beta=0.5),
          helper.make_node("Clip", ["x", "lo", "hi"], ["c"]),
          helper.make_node("LeakyRelu", ["x"], ["k"], alpha=0.1),
          helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("Sqrt", ["r"], ["q"]),
          helper.make_node("Exp", ["x"], ["e"]),
          helper.make_node("Pow", ["x", "three"], ["p"]),
          helper.make_node("Add", ["h", "c"], ["s1"]),
          helper.make_node("Add", ["s1", "k"], ["s2"]),
          helper.make_node("Add", ["s2", "q"], ["s3"]),
          helper.make_node("Add", ["s3", "e"], ["s4"]),
          helper.make_node("Add", ["s4", "p"], ["y"])],
         [tensor("x", [2, 3, 4, 5])], [tensor("y", None)],
         [const("lo", np.array(-0.5, np.float32)), const("hi", np.array(0.75, np.float32)),
          const("three", np.array(3.0, np.float32))])

    # Attention's product: x times its transpose, a batch of 2 x 3 matrices.
    save(out, "matmul_batched",
         [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 1, 3, 2]),
          helper.make_node("MatMul", ["x", "xt"], ["y"])],
         [tensor("x", [2, 3, 4, 5])], [tensor("y", None)])

    # MatMul's broadcasting (NumPy's matmul): batch dimensions of 1 against
    # a batch, a shared B, 1-D operands on either side.
    save(out, "matmul_broadcast",
         [helper.make_node("MatMul", ["x", "b"], ["p"]),          # [2,1,3,4] x [3,4,5]
          helper.make_node("MatMul", ["a", "p"], ["q"]),          # [3,3] x [2,3,3,5]
          helper.make_node("MatMul", ["q", "c"], ["r"]),          # [2,3,3,5] x [1,1,5,2]
          helper.make_node("MatMul", ["v", "r"], ["s"]),          # [3] x [2,3,3,2] -> [2,3,2]
          helper.make_node("MatMul", ["s", "u"], ["y"])],         # [2,3,2] x [2] -> [2,3]
         [tensor("x", [2, 1, 3, 4])], [tensor("y", None)],
         [const("b", rng.standard_normal((3, 4, 5)).astype(np.float32)),
          const("a", rng.standard_normal((3, 3)).astype(np.float32)),
          const("c", rng.standard_normal((1, 1, 5, 2)).astype(np.float32)),
          const("v", rng.standard_normal(3).astype(np.float32)),
          const("u", rng.standard_normal(2).astype(np.float32))])
    # Two computed operands broadcast against each other (attention with a
    # shared key): [2,3,4,5] x [2,1,5,4], and a batch axis of 1 in between.
    save(out, "matmul_broadcast_computed",
         [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 1, 3, 2]),
          helper.make_node("ReduceMean", ["xt"], ["k"], axes=[1], keepdims=1),
          helper.make_node("MatMul", ["x", "k"], ["y"])],
         [tensor("x", [2, 3, 4, 5])], [tensor("y", None)])

    # GELU spelled out as PyTorch exports it (erf form), in three orders of
    # its factors: after a MatMul + bias (the product's activation), then
    # on its own twice; and Erf that is no GELU (refused by name).
    save(out, "gelu",
         [helper.make_node("MatMul", ["x", "w"], ["m"]),
          helper.make_node("Add", ["m", "b"], ["h"]),
          helper.make_node("Div", ["h", "sqrt2"], ["d"]),
          helper.make_node("Erf", ["d"], ["e"]),
          helper.make_node("Add", ["e", "one"], ["e1"]),
          helper.make_node("Mul", ["h", "e1"], ["he"]),
          helper.make_node("Mul", ["he", "half"], ["g"]),
          helper.make_node("Mul", ["g", "rsqrt2"], ["d2"]),
          helper.make_node("Erf", ["d2"], ["e2"]),
          helper.make_node("Add", ["one", "e2"], ["e21"]),
          helper.make_node("Mul", ["half", "g"], ["g_half"]),
          helper.make_node("Mul", ["g_half", "e21"], ["g2"]),
          helper.make_node("Div", ["g2", "sqrt2"], ["d3"]),
          helper.make_node("Erf", ["d3"], ["e3"]),
          helper.make_node("Add", ["e3", "one"], ["e31"]),
          helper.make_node("Mul", ["e31", "half"], ["e3h"]),
          helper.make_node("Mul", ["g2", "e3h"], ["y"])],
         [tensor("x", [2, 3, 8])], [tensor("y", None)],
         [const("w", rng.standard_normal((8, 6)).astype(np.float32)),
          const("b", rng.standard_normal(6).astype(np.float32)),
          const("sqrt2", np.array(np.sqrt(2), np.float32)),
          const("rsqrt2", np.array(np.sqrt(0.5), np.float32)),
          const("one", np.array(1.0, np.float32)), const("half", np.array(0.5, np.float32))])
    save(out, "erf",
         [helper.make_node("Div", ["x", "two"], ["d"]),
          helper.make_node("Erf", ["d"], ["e"]),
          helper.make_node("Add", ["e", "one"], ["e1"]),
          helper.make_node("Mul", ["x", "e1"], ["y"])],
         [tensor("x", [2, 3])], [tensor("y", None)],
         [const("two", np.array(2.0, np.float32)), const("one", np.array(1.0, np.float32))])

    # Conv padded unequally on the two sides (TensorFlow's exports): pads,
    # then auto_pad SAME_UPPER with stride 2 on an odd size. (Weights from a
    # generator of their own: the INT8 graph's stay as they were.)
    own = np.random.default_rng(5)
    save(out, "conv_asymmetric",
         [helper.make_node("Conv", ["x", "w"], ["c"], pads=[0, 1, 1, 2], strides=[2, 2]),
          helper.make_node("Conv", ["c", "w2", "b2"], ["y"], auto_pad="SAME_UPPER", strides=[2, 1])],
         [tensor("x", [1, 2, 7, 8])], [tensor("y", None)],
         [const("w", own.standard_normal((3, 2, 3, 3)).astype(np.float32)),
          const("w2", own.standard_normal((2, 3, 2, 3)).astype(np.float32)),
          const("b2", own.standard_normal(2).astype(np.float32))])

    # Pad (constant 0.5, a negative pad crops) and Softmax along an axis
    # that is not the last.
    save(out, "pad_softmax",
         [helper.make_node("Pad", ["x", "pads", "value"], ["p"]),
          helper.make_node("Softmax", ["p"], ["y"], axis=1)],
         [tensor("x", [1, 2, 3, 4])], [tensor("y", None)],
         [const("pads", np.array([0, 0, 1, -1, 0, 1, 2, 2], np.int64)),
          const("value", np.array(0.5, np.float32))])

    # Split into three unequal parts (opset 13: sizes as an input), one
    # Expanded over a new leading axis and a broadcast one, added to
    # another; the third part a second output.
    save(out, "split_expand",
         [helper.make_node("Split", ["x", "parts"], ["a", "b", "z"], axis=1),
          helper.make_node("Expand", ["a", "shape"], ["e"]),
          helper.make_node("Add", ["e", "b"], ["y"])],
         [tensor("x", [2, 6, 4])], [tensor("y", None), tensor("z", None)],
         [const("parts", np.array([1, 2, 3], np.int64)),
          const("shape", np.array([3, 2, 2, 4], np.int64))])

    # Concat of three (600 blocks before the axis: beyond v1's 256 copies)
    # and Slice with steps: one COPY_STRIDED each.
    save(out, "concat_slice",
         [helper.make_node("Concat", ["x", "x2", "k"], ["c"], axis=2),
          helper.make_node("Slice", ["c", "starts", "ends", "axes", "steps"], ["y"])],
         [tensor("x", [2, 300, 3, 4])], [tensor("y", None)],
         [const("x2", rng.standard_normal((2, 300, 2, 4)).astype(np.float32)),
          const("k", rng.standard_normal((2, 300, 1, 4)).astype(np.float32)),
          const("starts", np.array([1, 0, 1], np.int64)), const("ends", np.array([300, 6, 4], np.int64)),
          const("axes", np.array([1, 2, 3], np.int64)), const("steps", np.array([3, 2, 2], np.int64))])


def hard_sigmoid_affine_model(out):
    """HardSigmoids of other alpha and beta than v1.5's fixed 1/6 and 0.5
    after products, each folded into the product's weights and bias or kept:
    a squeeze-excitation block as PaddleOCR's v2.0 models have it (Conv +
    bias, default alpha 0.2 and beta 0.5), a Conv without bias (alpha -0.3,
    beta 0.6), a grouped ConvTranspose (0.5, 0.25), a Conv whose weights and
    bias another Conv reads too (its own copy folded), a Conv whose output
    has a second reader (not folded), a MatMul without bias (0.25, 0.4) and
    a Gemm with transB, alpha and beta (0.2, 0.5). Its own generator: the
    other models' weights stay as they were."""
    rng = np.random.default_rng(17)

    def normal(scale, *shape):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    weights = {"se_w1": normal(0.5, 2, 4, 1, 1), "se_b1": normal(0.5, 2),
               "se_w2": normal(1.0, 4, 2, 1, 1), "se_b2": normal(0.5, 4),
               "w3": normal(0.3, 4, 4, 3, 3), "wt": normal(0.5, 4, 2, 3, 3),
               "bt": normal(0.5, 4), "w4": normal(0.5, 4, 4, 1, 1), "b4": normal(0.5, 4),
               "w6": normal(0.5, 4, 4, 1, 1), "m7": normal(0.1, 144, 8),
               "gw": normal(1.0, 5, 8), "gc": normal(0.5, 5)}
    save(out, "hard_sigmoid_affine",
         [helper.make_node("GlobalAveragePool", ["x"], ["p"]),
          helper.make_node("Conv", ["p", "se_w1", "se_b1"], ["s1"]),
          helper.make_node("Relu", ["s1"], ["r"]),
          helper.make_node("Conv", ["r", "se_w2", "se_b2"], ["s2"]),
          helper.make_node("HardSigmoid", ["s2"], ["g"]),
          helper.make_node("Mul", ["x", "g"], ["e"]),
          helper.make_node("Conv", ["e", "w3"], ["c3"], pads=[1, 1, 1, 1]),
          helper.make_node("HardSigmoid", ["c3"], ["h3"], alpha=-0.3, beta=0.6),
          helper.make_node("ConvTranspose", ["h3", "wt", "bt"], ["t"], group=2,
                           pads=[1, 1, 1, 1]),
          helper.make_node("HardSigmoid", ["t"], ["ht"], alpha=0.5, beta=0.25),
          helper.make_node("Conv", ["ht", "w4", "b4"], ["c4"]),
          helper.make_node("HardSigmoid", ["c4"], ["h4"], alpha=0.2, beta=0.5),
          helper.make_node("Conv", ["e", "w4", "b4"], ["c5"]),
          helper.make_node("Add", ["h4", "c5"], ["a"]),
          helper.make_node("Conv", ["a", "w6"], ["c6"]),
          helper.make_node("HardSigmoid", ["c6"], ["h6"], alpha=0.2, beta=0.5),
          helper.make_node("Add", ["h6", "c6"], ["a6"]),
          helper.make_node("Flatten", ["a6"], ["f"]),
          helper.make_node("MatMul", ["f", "m7"], ["m"]),
          helper.make_node("HardSigmoid", ["m"], ["h7"], alpha=0.25, beta=0.4),
          helper.make_node("Gemm", ["h7", "gw", "gc"], ["g8"], transB=1, alpha=0.5, beta=2.0),
          helper.make_node("HardSigmoid", ["g8"], ["y"], alpha=0.2, beta=0.5)],
         [tensor("x", [1, 4, 6, 6])], [tensor("y", None)],
         [const(name, value) for name, value in weights.items()])


def prelu_models(out):
    """PRelu with a slope per channel ([C, 1, 1], as PyTorch's nn.PReLU(C)
    exports it), one slope, and a slope along the last axis. Also in
    guest-onnx-models against onnxruntime."""
    save(out, "prelu",
         [helper.make_node("PRelu", ["x", "per_channel"], ["y"]),
          helper.make_node("PRelu", ["x", "one"], ["z"]),
          helper.make_node("PRelu", ["x", "last_axis"], ["w"])],
         [tensor("x", [1, 4, 3, 5])], [tensor("y", None), tensor("z", None), tensor("w", None)],
         [const("per_channel", np.array([0.25, -0.5, 0.0, 2.0], np.float32).reshape(4, 1, 1)),
          const("one", np.array([0.1], np.float32)),
          const("last_axis", np.array([0.5, 1.5, -1.0, 0.125, 3.0], np.float32))])


def tile_models(out):
    """Tile of a computed tensor along two axes and along the middle one;
    also in guest-onnx-models against onnxruntime."""
    save(out, "tile",
         [helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("Tile", ["r", "twice_thrice"], ["y"]),
          helper.make_node("Tile", ["x", "middle"], ["z"])],
         [tensor("x", [2, 3, 4])], [tensor("y", None), tensor("z", None)],
         [const("twice_thrice", np.array([2, 1, 3], np.int64)),
          const("middle", np.array([1, 2, 1], np.int64))])


def general_models(out):
    """Graphs of the ops that PyTorch exports of torchvision and transformer
    models need beyond the PaddleOCR models (weights from a generator of
    their own, so the other graphs stay as they were)."""
    own = np.random.default_rng(11)
    f32 = np.float32

    # A mask built by the ops of PyTorch's shape subgraphs, all folded:
    # Range over Shape's dimension, Less, Where, Equal, Not, Cast,
    # ConstantOfShape (value 0.5 as its tensor attribute), Expand.
    save(out, "fold_mask",
         [helper.make_node("Shape", ["x"], ["s"]),
          helper.make_node("Gather", ["s", "two"], ["w"], axis=0),
          helper.make_node("Range", ["zero", "w", "one"], ["r"]),
          helper.make_node("Less", ["r", "three"], ["lt"]),
          helper.make_node("Equal", ["r", "zero"], ["eq"]),
          helper.make_node("Not", ["eq"], ["ne"]),
          helper.make_node("Cast", ["ne"], ["nef"], to=TensorProto.FLOAT),
          helper.make_node("Where", ["lt", "big", "small"], ["m"]),
          helper.make_node("ConstantOfShape", ["s"], ["half"],
                           value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5])),
          helper.make_node("Expand", ["m", "s"], ["me"]),
          helper.make_node("Mul", ["x", "me"], ["xm"]),
          helper.make_node("Mul", ["xm", "nef"], ["xn"]),
          helper.make_node("Add", ["xn", "half"], ["y"])],
         [tensor("x", [1, 4, 6])], [tensor("y", None)],
         [const("two", np.array(2, np.int64)), const("zero", np.array(0, np.int64)),
          const("one", np.array(1, np.int64)), const("three", np.array(3, np.int64)),
          const("big", np.array(2.0, f32)), const("small", np.array(-1.0, f32))])

    # BatchNormalization not after a Conv: on NCHW after Abs (a depthwise
    # 1x1 Conv, the Relu joining it), and on [N, C, L] (Mul and Add).
    def bn_params(prefix, channels):
        return [const(f"{prefix}_g", own.uniform(0.5, 2, channels).astype(f32)),
                const(f"{prefix}_b", own.standard_normal(channels).astype(f32)),
                const(f"{prefix}_m", own.standard_normal(channels).astype(f32)),
                const(f"{prefix}_v", own.uniform(0.5, 2, channels).astype(f32))]
    save(out, "batch_norm",
         [helper.make_node("Abs", ["x"], ["a"]),
          helper.make_node("BatchNormalization", ["a", "n1_g", "n1_b", "n1_m", "n1_v"], ["b"]),
          helper.make_node("Relu", ["b"], ["r"]),
          helper.make_node("Reshape", ["r", "shape"], ["f"]),
          helper.make_node("BatchNormalization", ["f", "n2_g", "n2_b", "n2_m", "n2_v"], ["y"],
                           epsilon=1e-3)],
         [tensor("x", [1, 4, 5, 5])], [tensor("y", None)],
         bn_params("n1", 4) + bn_params("n2", 4) + [const("shape", np.array([1, 4, 25], np.int64))])

    # Neg, Reciprocal, and Sum, Mean, Max, Min of three or four operands,
    # one of them a broadcast constant.
    save(out, "variadic",
         [helper.make_node("Neg", ["x"], ["n"]),
          helper.make_node("Mul", ["x", "x"], ["sq"]),
          helper.make_node("Add", ["sq", "one"], ["sq1"]),
          helper.make_node("Reciprocal", ["sq1"], ["r"]),
          helper.make_node("Sum", ["x", "n", "r", "c"], ["s"]),
          helper.make_node("Mean", ["c", "x", "r"], ["m"]),
          helper.make_node("Max", ["x", "n", "c"], ["hi"]),
          helper.make_node("Min", ["r", "x", "n"], ["lo"]),
          helper.make_node("Sum", ["s", "m", "hi", "lo"], ["y"])],
         [tensor("x", [2, 3, 4])], [tensor("y", None)],
         [const("one", np.array(1.0, f32)), const("c", own.standard_normal(4).astype(f32))])

    # Pad reflect, then edge; Gather of the computed tensor by constant
    # indices: a list (one copy each) and a scalar (one strided copy, the
    # axis dropped).
    save(out, "pad_gather",
         [helper.make_node("Pad", ["x", "pads1"], ["p"], mode="reflect"),
          helper.make_node("Pad", ["p", "pads2"], ["q"], mode="edge"),
          helper.make_node("Gather", ["q", "channels"], ["g"], axis=1),
          helper.make_node("Gather", ["g", "row"], ["y"], axis=2)],
         [tensor("x", [1, 3, 5, 6])], [tensor("y", None)],
         [const("pads1", np.array([0, 0, 2, 1, 0, 0, 1, 3], np.int64)),
          const("pads2", np.array([0, 0, 1, 0, 0, 0, 2, 2], np.int64)),
          const("channels", np.array([2, 0, 2, 1], np.int64)), const("row", np.array(-2, np.int64))])

    # MaxPool with ceil_mode (SqueezeNet's): 8x8, 3x3 windows, stride 2.
    save(out, "maxpool_ceil",
         [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                           ceil_mode=1)],
         [tensor("x", [1, 2, 8, 8])], [tensor("y", None)])

    # Upsample of opset 9 (nearest, scales as input) and Resize of opset
    # 10 (linear; nearest shrinking).
    save(out, "upsample_v9",
         [helper.make_node("Upsample", ["x", "scales"], ["y"], mode="nearest")],
         [tensor("x", [1, 2, 3, 4])], [tensor("y", None)],
         [const("scales", np.array([1, 1, 2, 3], f32))], opset=9)
    save(out, "resize_v10",
         [helper.make_node("Resize", ["x", "up"], ["u"], mode="linear"),
          helper.make_node("Resize", ["u", "down"], ["y"], mode="nearest")],
         [tensor("x", [1, 2, 3, 4])], [tensor("y", None)],
         [const("up", np.array([1, 1, 2, 2.5], f32)), const("down", np.array([1, 1, 0.6, 0.5], f32))],
         opset=10)


def ids(name, shape, elem=TensorProto.INT64):
    return helper.make_tensor_value_info(name, elem, shape)


def embedding_models(out):
    """Graphs with integer inputs (ISA v1.3 GATHER): token ids choosing rows of
    an embedding table at run time, as every BERT- or LLM-style network
    starts, and an attention mask cast to float. embed_encoder is also in
    guest-onnx-models against onnxruntime (int64 inputs)."""
    own = np.random.default_rng(13)
    f32 = np.float32

    def weight(*shape, scale=1.0):
        return (own.standard_normal(shape) * scale).astype(f32)

    # Token embedding by int64 ids, plus position embeddings (a Gather of
    # constants, folded), then LayerNormalization: GATHER, ELTWISE, LAYERNORM.
    save(out, "embedding",
         [helper.make_node("Gather", ["words", "input_ids"], ["we"], axis=0),
          helper.make_node("Gather", ["places", "position_ids"], ["pe"], axis=0),
          helper.make_node("Add", ["we", "pe"], ["e"]),
          helper.make_node("LayerNormalization", ["e", "gamma", "beta"], ["y"], axis=-1,
                           epsilon=1e-5)],
         [ids("input_ids", [2, 6])], [tensor("y", None)],
         [const("words", weight(40, 16)), const("places", weight(16, 16)),
          const("position_ids", np.arange(6, dtype=np.int64)[None]),
          const("gamma", own.uniform(0.5, 1.5, 16).astype(f32)),
          const("beta", weight(16))], opset=17)

    # int32 ids, reshaped (an alias), choosing rows of a tensor computed on
    # the device (the table need not be a constant).
    save(out, "gather_computed_table",
         [helper.make_node("Relu", ["x"], ["table"]),
          helper.make_node("Reshape", ["flat_ids", "shape"], ["ids2"]),
          helper.make_node("Gather", ["table", "ids2"], ["y"], axis=0)],
         [tensor("x", [10, 4]), ids("flat_ids", [6], TensorProto.INT32)], [tensor("y", None)],
         [const("shape", np.array([2, 3], np.int64))])

    # Runtime indices along another axis than 0 (an int64 input: the
    # guest checks that an index beyond the axis fails the inference).
    save(out, "gather_runtime_axis1",
         [helper.make_node("Gather", ["x", "cols"], ["y"], axis=1)],
         [tensor("x", [3, 5]), ids("cols", [2])], [tensor("y", None)])

    encoder_model(out, "embed_encoder", hf_mask=False)
    encoder_model(out, "hf_mask_encoder", hf_mask=True)
    # An embedding table of 66 MiB, beyond the device's operand (64 rows of
    # 270,400 values computed on the device: a Relu of one value per row,
    # expanded along it): one GATHER reads it as it is (the table is not
    # staged); a token id past it fails the job naming the Gather, no size.
    save(out, "large_table_embedding",
         [helper.make_node("Relu", ["per_row"], ["r"]),
          helper.make_node("Expand", ["r", "table_shape"], ["table"]),
          helper.make_node("Gather", ["table", "input_ids"], ["y"], axis=0)],
         [ids("input_ids", [1, 8])], [tensor("y", None)],
         [const("per_row", np.arange(64, dtype=np.float32)[:, None] - 8),
          const("table_shape", np.array([64, 270400], np.int64))])


def hf_mask_nodes(seq):
    """The attention mask as Hugging Face transformers' BERT exports it
    (_prepare_4d_attention_mask, then masked_fill with finfo(float32).min):
    mask[:, None, None, :].expand(b, 1, seq, seq).to(float32); inverted =
    1 - expanded; inverted.masked_fill(inverted.to(bool), finfo.min). Also
    the padding as a bool graph output (attention_mask == 0)."""
    return [
        helper.make_node("Unsqueeze", ["attention_mask", "axis1"], ["m3"]),
        helper.make_node("Unsqueeze", ["m3", "axis2"], ["m4"]),
        helper.make_node("Expand", ["m4", "mask_shape"], ["expanded"]),
        helper.make_node("Cast", ["expanded"], ["expanded_f"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["one", "expanded_f"], ["inverted"]),
        helper.make_node("Cast", ["inverted"], ["inverted_b"], to=TensorProto.BOOL),
        helper.make_node("Where", ["inverted_b", "finfo_min", "inverted"], ["mask4"]),
        helper.make_node("Equal", ["attention_mask", "zero_i64"], ["padding"]),
    ]


def encoder_model(out, name, hf_mask):
    """A small transformer encoder layer on int64 input_ids and an int64
    attention_mask: token + position embeddings, LayerNormalization,
    two-head self-attention with the mask's (1 - m) * -10000 (hf_mask: the
    finfo.min of hf_mask_nodes()) added to the scores, output projection,
    residual, LayerNormalization, a ReLU feed-forward, residual,
    LayerNormalization."""
    own = np.random.default_rng(13)
    f32 = np.float32

    def weight(*shape, scale=1.0):
        return (own.standard_normal(shape) * scale).astype(f32)

    d, heads, seq, vocab, ff = 32, 2, 8, 64, 64
    dh = d // heads
    nodes = [
        helper.make_node("Gather", ["words", "input_ids"], ["we"], axis=0),
        helper.make_node("Gather", ["places", "position_ids"], ["pe"], axis=0),
        helper.make_node("Add", ["we", "pe"], ["e"]),
        helper.make_node("LayerNormalization", ["e", "ln0_g", "ln0_b"], ["h"], axis=-1),
    ] + (hf_mask_nodes(seq) if hf_mask else [
        helper.make_node("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["one", "mf"], ["inv"]),
        helper.make_node("Mul", ["inv", "big_negative"], ["mask_bias"]),
        helper.make_node("Unsqueeze", ["mask_bias", "axes12"], ["mask4"]),
    ])
    for p in ("q", "k", "v"):
        nodes += [
            helper.make_node("MatMul", ["h", f"w{p}"], [f"{p}m"]),
            helper.make_node("Add", [f"{p}m", f"b{p}"], [f"{p}b"]),
            helper.make_node("Reshape", [f"{p}b", "heads_shape"], [f"{p}r"]),
        ]
    nodes += [
        helper.make_node("Transpose", ["qr"], ["qt"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["kr"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["vr"], ["vt"], perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["qt", "kt"], ["scores"]),
        helper.make_node("Mul", ["scores", "inv_sqrt_dh"], ["scaled"]),
        helper.make_node("Add", ["scaled", "mask4"], ["masked"]),
        helper.make_node("Softmax", ["masked"], ["probs"], axis=-1),
        helper.make_node("MatMul", ["probs", "vt"], ["ctx"]),
        helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ctx_t", "model_shape"], ["ctx_r"]),
        helper.make_node("MatMul", ["ctx_r", "wo"], ["om"]),
        helper.make_node("Add", ["om", "bo"], ["o"]),
        helper.make_node("Add", ["h", "o"], ["res1"]),
        helper.make_node("LayerNormalization", ["res1", "ln1_g", "ln1_b"], ["h1"], axis=-1),
        helper.make_node("MatMul", ["h1", "w1"], ["f1m"]),
        helper.make_node("Add", ["f1m", "b1"], ["f1b"]),
        helper.make_node("Relu", ["f1b"], ["f1"]),
        helper.make_node("MatMul", ["f1", "w2"], ["f2m"]),
        helper.make_node("Add", ["f2m", "b2"], ["f2"]),
        helper.make_node("Add", ["h1", "f2"], ["res2"]),
        helper.make_node("LayerNormalization", ["res2", "ln2_g", "ln2_b"], ["y"], axis=-1),
    ]
    inits = [const("words", weight(vocab, d)), const("places", weight(16, d)),
             const("position_ids", np.arange(seq, dtype=np.int64)[None]),
             const("one", np.array(1.0, f32)),
             const("heads_shape", np.array([1, seq, heads, dh], np.int64)),
             const("model_shape", np.array([1, seq, d], np.int64)),
             const("inv_sqrt_dh", np.array(1 / np.sqrt(dh), f32)),
             const("w1", weight(d, ff, scale=d ** -0.5)), const("b1", weight(ff, scale=0.1)),
             const("w2", weight(ff, d, scale=ff ** -0.5)), const("b2", weight(d, scale=0.1)),
             const("wo", weight(d, d, scale=d ** -0.5)), const("bo", weight(d, scale=0.1))]
    for p in ("q", "k", "v"):
        inits += [const(f"w{p}", weight(d, d, scale=d ** -0.5)), const(f"b{p}", weight(d, scale=0.1))]
    for ln in ("ln0", "ln1", "ln2"):
        inits += [const(f"{ln}_g", own.uniform(0.5, 1.5, d).astype(f32)),
                  const(f"{ln}_b", weight(d, scale=0.1))]
    outputs = [tensor("y", None)]
    if not hf_mask:
        inits += [const("big_negative", np.array(-10000.0, f32)),
                  const("axes12", np.array([1, 2], np.int64))]
    if hf_mask:
        inits += [const("axis1", np.array([1], np.int64)), const("axis2", np.array([2], np.int64)),
                  const("mask_shape", np.array([1, 1, seq, seq], np.int64)),
                  const("finfo_min", np.array(np.finfo(f32).min, f32)),
                  const("zero_i64", np.array(0, np.int64))]
        outputs += [helper.make_tensor_value_info("padding", TensorProto.BOOL, None),
                    tensor("mask4", None), ids("m3", None)]
    save(out, name, nodes,
         [ids("input_ids", [1, seq]), ids("attention_mask", [1, seq])], outputs,
         inits, opset=17)


def mask_models(out):
    """Masks computed at run time (ISA v1.4 COMPARE and SELECT) on a float
    input: comparisons with a broadcast constant and between tensors, Not,
    And, Or, Xor, Cast to bool and back, Where with a scalar and a row;
    the masks also as bool graph outputs. mask_ops is also a guest op graph
    against onnxruntime. Refused by name: a Where of integers, a Cast to
    int64, a comparison of an integer with a float."""
    row = np.array([-1.0, 0.0, 0.5, 1.0], np.float32)
    save(out, "mask_ops",
         [helper.make_node("Less", ["x", "row"], ["lt"]),
          helper.make_node("GreaterOrEqual", ["row", "x"], ["ge_swapped"]),
          helper.make_node("Greater", ["x", "y0"], ["gt"]),
          helper.make_node("LessOrEqual", ["x", "col"], ["le_col"]),
          helper.make_node("Not", ["gt"], ["not_gt"]),
          helper.make_node("Equal", ["lt", "not_gt"], ["same"]),
          helper.make_node("Cast", ["x"], ["nonzero"], to=TensorProto.BOOL),
          helper.make_node("Cast", ["same"], ["same_f"], to=TensorProto.FLOAT),
          helper.make_node("Where", ["le_col", "x", "lowest"], ["w1"]),
          helper.make_node("Where", ["lt", "w1", "same_f"], ["w2"]),
          helper.make_node("And", ["lt", "le_col"], ["both"]),
          helper.make_node("Or", ["both", "nonzero"], ["either"]),
          helper.make_node("Xor", ["either", "gt"], ["odd"]),
          helper.make_node("Where", ["odd", "w2", "row"], ["y"])],
         [tensor("x", [2, 3, 4])],
         [tensor("y", None), helper.make_tensor_value_info("ge_swapped", TensorProto.BOOL, None),
          helper.make_tensor_value_info("nonzero", TensorProto.BOOL, None)],
         [const("row", row), const("y0", np.array(0.25, np.float32)),
          const("col", np.array([[0.0], [0.5], [-0.5]], np.float32)),
          const("lowest", np.array(np.finfo(np.float32).min, np.float32))])
    save(out, "where_integers",
         [helper.make_node("Greater", ["ids", "zero"], ["c"]),
          helper.make_node("Where", ["c", "ids", "zero"], ["y"])],
         [ids("ids", [4])], [ids("y", None)], [const("zero", np.array(0, np.int64))])
    save(out, "cast_to_uint8",
         [helper.make_node("Cast", ["x"], ["b"], to=TensorProto.UINT8),
          helper.make_node("Cast", ["b"], ["y"], to=TensorProto.FLOAT)],
         [tensor("x", [4])], [tensor("y", None)])
    save(out, "compare_int_float",
         [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
          helper.make_node("Less", ["ids", "xf"], ["y"])],
         [ids("ids", [4]), tensor("x", [4])],
         [helper.make_tensor_value_info("y", TensorProto.BOOL, None)])


def lenet_log_softmax(out, name, rng):
    """PyTorch's MNIST example shape: two Conv+Relu+MaxPool, two Gemms, log_softmax."""
    def weight(*shape):
        return (rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32)
    save(out, name,
         [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"]),
          helper.make_node("Relu", ["c1"], ["r1"]),
          helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
          helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"]),
          helper.make_node("Relu", ["c2"], ["r2"]),
          helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
          helper.make_node("Flatten", ["p2"], ["f"]),
          helper.make_node("Gemm", ["f", "w3", "b3"], ["g1"], transB=1),
          helper.make_node("Relu", ["g1"], ["h"]),
          helper.make_node("Gemm", ["h", "w4", "b4"], ["logits"], transB=1),
          helper.make_node("LogSoftmax", ["logits"], ["y"], axis=1)],
         [tensor("x", [2, 1, 28, 28])], [tensor("y", None)],
         [const("w1", weight(6, 1, 5, 5)), const("b1", weight(6)),
          const("w2", weight(16, 6, 5, 5)), const("b2", weight(16)),
          const("w3", weight(84, 256)), const("b3", weight(84)),
          const("w4", weight(10, 84)), const("b4", weight(10))])


def log_family_models(out, rng):
    """ISA v1.5 (hw-spec 7.4.5): ACTIVATION_PARAM LOG .. ROUND and SOFTMAX LOG."""
    lenet_log_softmax(out, "lenet_log_softmax", rng)
    # LogSoftmax along a middle axis (opset 13): between two TRANSPOSEs.
    save(out, "log_softmax_axis1", [helper.make_node("LogSoftmax", ["x"], ["y"], axis=1)],
         [tensor("x", [2, 5, 3])], [tensor("y", None)])
    # Log, Softplus, Softsign, Round, Abs: one ACTIVATION_PARAM each
    # (Softsign three instructions).
    save(out, "log_family",
         [helper.make_node("Softplus", ["x"], ["s"]),
          helper.make_node("Log", ["s"], ["l"]),
          helper.make_node("Softsign", ["x"], ["g"]),
          helper.make_node("Round", ["x"], ["r"]),
          helper.make_node("Abs", ["x"], ["a"]),
          helper.make_node("Sum", ["l", "g", "r", "a"], ["y"])],
         [tensor("x", [2, 3, 4])], [tensor("y", None)])
    save(out, "mish_op", [helper.make_node("Mish", ["x"], ["y"])],
         [tensor("x", [2, 3, 4])], [tensor("y", None)], opset=18)
    # Mish as exporters before opset 18 spell it: x * Tanh(Softplus(x)).
    save(out, "mish_spelled",
         [helper.make_node("Softplus", ["x"], ["s"]),
          helper.make_node("Tanh", ["s"], ["t"]),
          helper.make_node("Mul", ["x", "t"], ["y"])],
         [tensor("x", [2, 3, 4])], [tensor("y", None)])
    save(out, "gelu_tanh", [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")],
         [tensor("x", [2, 3, 4])], [tensor("y", None)], opset=20)
    # Of |x|: a sum of normal samples may be negative (NaN in both runtimes).
    save(out, "reduce_log_sum",
         [helper.make_node("Abs", ["x"], ["a"]),
          helper.make_node("ReduceLogSum", ["a"], ["y"], axes=[1], keepdims=1)],
         [tensor("x", [2, 3, 4])], [tensor("y", None)])
    save(out, "reduce_log_sum_exp",
         [helper.make_node("ReduceLogSumExp", ["x"], ["y"], axes=[1], keepdims=0)],
         [tensor("x", [2, 3, 4])], [tensor("y", None)])
    reduce_opset18_models(out)
    norm_models(out)


def norm_models(out):
    """ReduceL1, ReduceL2, ReduceSumSquare, ReduceProd (axes an attribute at
    opsets 11 and 13, an input at 18), LpNormalization (p 1 and 2, any axis) and the
    layer normalization exporters spell out, at opsets 13 and 18.
    guest-onnx-models sets all-zero slices in their inputs."""
    def axes(name, values):
        return const(name, np.array(values, np.int64))
    norms = ("l1", "l2", "ss", "l2_all", "l1_first")
    save(out, "reduce_norms",
         [helper.make_node("ReduceL1", ["x"], ["l1"], axes=[1], keepdims=1),
          helper.make_node("ReduceL2", ["x"], ["l2"], axes=[-1], keepdims=0),
          helper.make_node("ReduceSumSquare", ["x"], ["ss"], axes=[0, 1]),
          helper.make_node("ReduceL2", ["x"], ["l2_all"], keepdims=0),
          helper.make_node("ReduceL1", ["x"], ["l1_first"], axes=[0], keepdims=0)],
         [tensor("x", [2, 3, 4])], [tensor(name, None) for name in norms])
    save(out, "reduce_norms_opset11",
         [helper.make_node("ReduceL1", ["x"], ["l1"], axes=[-1], keepdims=0),
          helper.make_node("ReduceL2", ["x"], ["l2"], axes=[1, 2]),
          helper.make_node("ReduceSumSquare", ["x"], ["ss"], axes=[1], keepdims=0)],
         [tensor("x", [2, 3, 4])], [tensor(name, None) for name in ("l1", "l2", "ss")],
         opset=11)
    # Opset 18: the axes an input; no axes with noop_with_empty_axes is
    # |x|, x * x and sqrt(x * x) in onnxruntime (no reduction, the terms).
    outputs18 = ("l1", "l2", "ss", "l2_all", "l1_noop", "l2_noop", "ss_noop")
    save(out, "reduce_norms_opset18",
         [helper.make_node("ReduceL1", ["x", "ax_last"], ["l1"], keepdims=0),
          helper.make_node("ReduceL2", ["x", "ax1"], ["l2"]),
          helper.make_node("ReduceSumSquare", ["x", "ax01"], ["ss"], keepdims=0),
          helper.make_node("ReduceL2", ["x"], ["l2_all"]),
          helper.make_node("ReduceL1", ["x", "no_axes"], ["l1_noop"], noop_with_empty_axes=1),
          helper.make_node("ReduceL2", ["x"], ["l2_noop"], noop_with_empty_axes=1),
          helper.make_node("ReduceSumSquare", ["x", "no_axes"], ["ss_noop"],
                           noop_with_empty_axes=1)],
         [tensor("x", [2, 3, 4])], [tensor(name, None) for name in outputs18],
         [axes("ax_last", [-1]), axes("ax1", [1]), axes("ax01", [0, -2]), axes("no_axes", [])],
         opset=18)
    # ReduceProd: products of rows by halves (axis 1: an odd count, the
    # reduced axes moved first; the last axis; axis 0 in place; every axis).
    save(out, "reduce_prod",
         [helper.make_node("ReduceProd", ["x"], ["middle"], axes=[1], keepdims=1),
          helper.make_node("ReduceProd", ["x"], ["last"], axes=[-1], keepdims=0),
          helper.make_node("ReduceProd", ["x"], ["first"], axes=[0], keepdims=0),
          helper.make_node("ReduceProd", ["x"], ["all"])],
         [tensor("x", [2, 3, 4])],
         [tensor(name, None) for name in ("middle", "last", "first", "all")])
    save(out, "reduce_prod_opset18",
         # x + 2: products of 12 values around 2, not near 0 (the
         # comparison's absolute tolerance would hide their errors).
         [helper.make_node("Add", ["x", "two"], ["shifted"]),
          helper.make_node("ReduceProd", ["shifted", "ax12"], ["p"], keepdims=0),
          helper.make_node("ReduceProd", ["x", "no_axes"], ["noop"], noop_with_empty_axes=1),
          helper.make_node("Abs", ["x"], ["a"]),
          helper.make_node("ReduceLogSum", ["a"], ["log_noop"], noop_with_empty_axes=1)],
         [tensor("x", [2, 3, 4])], [tensor(name, None) for name in ("p", "noop", "log_noop")],
         [axes("ax12", [1, -1]), axes("no_axes", []), const("two", np.float32(2.0))], opset=18)
    save(out, "reduce_norm_axes_computed",
         [helper.make_node("ReduceL2", ["x", "axes"], ["y"], keepdims=1)],
         [tensor("x", [2, 3, 4]), ids("axes", [1])], [tensor("y", None)], opset=18)
    save(out, "lp_norm",
         [helper.make_node("LpNormalization", ["x"], ["l2_last"], axis=-1, p=2),
          helper.make_node("LpNormalization", ["x"], ["l1_middle"], axis=1, p=1),
          helper.make_node("LpNormalization", ["x"], ["l2_first"], axis=0),
          helper.make_node("LpNormalization", ["x"], ["l1_last"], axis=2, p=1)],
         [tensor("x", [2, 3, 4])],
         [tensor(name, None) for name in ("l2_last", "l1_middle", "l2_first", "l1_last")],
         opset=11)
    save(out, "lp_norm_bad_p", [helper.make_node("LpNormalization", ["x"], ["y"], name="lp3", p=3)],
         [tensor("x", [2, 3, 4])], [tensor("y", None)], opset=11)
    # Layer normalization as exporters spell it: the two ReduceMeans' axes an
    # attribute (opset 13) or an input (18); fused into one LAYERNORM. The
    # same over a middle axis stays op by op.
    def spelled_layer_norm(name, opset, axis):
        attribute = {} if opset >= 18 else {"axes": [axis]}
        inputs = ["ax"] if opset >= 18 else []
        save(out, name,
             [helper.make_node("ReduceMean", ["x"] + inputs, ["mean"], **attribute),
              helper.make_node("Sub", ["x", "mean"], ["d"]),
              helper.make_node("Pow", ["d", "two"], ["d2"]),
              helper.make_node("ReduceMean", ["d2"] + inputs, ["var"], **attribute),
              helper.make_node("Add", ["var", "eps"], ["ve"]),
              helper.make_node("Sqrt", ["ve"], ["std"]),
              helper.make_node("Div", ["d", "std"], ["n"]),
              helper.make_node("Mul", ["n", "gamma"], ["g"]),
              helper.make_node("Add", ["g", "beta"], ["y"])],
             [tensor("x", [2, 3, 8])], [tensor("y", None)],
             [const("two", np.float32(2.0)), const("eps", np.float32(1e-5)),
              const("gamma", np.linspace(0.5, 1.5, 8, dtype=np.float32)),
              const("beta", np.linspace(-0.2, 0.2, 8, dtype=np.float32)),
              *([axes("ax", [axis])] if opset >= 18 else [])], opset=opset)
    spelled_layer_norm("layer_norm_spelled", 13, -1)
    spelled_layer_norm("layer_norm_spelled_opset18", 18, -1)
    spelled_layer_norm("layer_norm_spelled_opset18_axis2", 18, 2)
    spelled_layer_norm("layer_norm_spelled_opset18_middle", 18, 1)
    # Found by ONNX's backend node tests (guest-onnx-node): LayerNormalization
    # over the axes from 1 on with its Mean and InvStdDev outputs; Dropout's
    # mask; Pow with a constant exponent of several values; Gemm with one C.
    save(out, "layer_norm_axis1",
         [helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["y", "mean", "isd"],
                           axis=1, epsilon=1e-3)],
         [tensor("x", [2, 3, 4])], [tensor("y", None), tensor("mean", None), tensor("isd", None)],
         [const("gamma", np.linspace(0.5, 1.5, 12, dtype=np.float32).reshape(3, 4)),
          const("beta", np.float32([0.25]))], opset=17)
    save(out, "dropout_mask",
         [helper.make_node("Dropout", ["x"], ["y", "mask"], seed=0)],
         [tensor("x", [3, 5])],
         [tensor("y", None), helper.make_tensor_value_info("mask", TensorProto.BOOL, None)])
    save(out, "pow_vector_exponent", [helper.make_node("Pow", ["x", "e"], ["y"], name="pow")],
         [tensor("x", [2, 3])], [tensor("y", None)], [const("e", np.float32([1, 2, 3]))])
    save(out, "gemm_scalar_c", [helper.make_node("Gemm", ["a", "b", "c"], ["y"], beta=2.0)],
         [tensor("a", [2, 3])], [tensor("y", None)],
         [const("b", np.ones((3, 4), np.float32)), const("c", np.float32(1.5))])


def reduce_opset18_models(out):
    """Opset 18: the Reduce* operators' axes an optional input (ReduceSum's
    since 13), with noop_with_empty_axes; libonnx 1.12 knows opsets up to 17,
    so the opset import is set by hand (save())."""
    def axes(name, values):
        return const(name, np.array(values, np.int64))
    save(out, "reduce_opset18",
         [helper.make_node("ReduceMax", ["x", "ax1"], ["max"], keepdims=1),
          helper.make_node("ReduceMin", ["x", "ax_last"], ["min"], keepdims=0),
          helper.make_node("ReduceMean", ["x", "ax12"], ["mean"]),
          helper.make_node("ReduceSum", ["x", "ax0"], ["sum"], keepdims=0),
          helper.make_node("Abs", ["x"], ["a"]),
          helper.make_node("ReduceLogSum", ["a", "ax_last"], ["log_sum"]),
          helper.make_node("ReduceLogSumExp", ["x", "ax1"], ["log_sum_exp"], keepdims=0),
          # No axes: every axis; empty axes with noop_with_empty_axes: the identity.
          helper.make_node("ReduceMax", ["x"], ["max_all"]),
          helper.make_node("ReduceLogSumExp", ["a", "no_axes"], ["lse_noop"],
                           noop_with_empty_axes=1),
          helper.make_node("ReduceMean", ["a"], ["mean_noop"], noop_with_empty_axes=1)],
         [tensor("x", [2, 3, 4])],
         [tensor(name, None) for name in ("max", "min", "mean", "sum", "log_sum", "log_sum_exp",
                                          "max_all", "lse_noop", "mean_noop")],
         [axes("ax1", [1]), axes("ax_last", [-1]), axes("ax12", [1, 2]), axes("ax0", [0]),
          axes("no_axes", [])], opset=18)
    # Axes only known at run time: refused by name.
    save(out, "reduce_axes_computed", [helper.make_node("ReduceMax", ["x", "axes"], ["y"])],
         [tensor("x", [2, 3, 4]), ids("axes", [1])], [tensor("y", None)], opset=18)
    # Slices of only -inf, and with +inf (guest-onnx-models sets them in its
    # input): the maximum m is clipped to the finite range before x - m.
    save(out, "reduce_log_sum_exp_infinite",
         [helper.make_node("ReduceLogSumExp", ["x", "ax_last"], ["y"], keepdims=0)],
         [tensor("x", [2, 3, 4])], [tensor("y", None)], [axes("ax_last", [-1])], opset=18)


def if_models(out):
    """If nodes whose condition folds to a constant (a test of the input's
    static shape, as scripted PyTorch and tf.cond exports hold): the branch
    taken is spliced in, an If inside it too; and what cannot be."""
    shape_test = [helper.make_node("Shape", ["x"], ["s"]),
                  helper.make_node("Gather", ["s", "one"], ["channels"], axis=0),
                  helper.make_node("Equal", ["channels", "three"], ["is_rgb"])]
    tests = [const("one", np.array(1, np.int64)), const("three", np.array(3, np.int64))]

    def branch(name, nodes, output, initializers=()):
        return helper.make_graph(nodes, name, [], [tensor(output, [1, 3, 4, 4])],
                                 list(initializers))

    inner = helper.make_node(
        "If", ["keep"], ["scaled"],
        then_branch=branch("scale", [helper.make_node("Mul", ["r", "two"], ["m"])], "m",
                           [const("two", np.array(2, np.float32))]),
        else_branch=branch("squash", [helper.make_node("Sigmoid", ["r"], ["q"])], "q"))
    then_branch = branch("rgb", [helper.make_node("Relu", ["x"], ["r"]), inner], "scaled",
                         [const("keep", np.array(True))])
    # Names the else branch shares with the then branch: only one is spliced.
    else_branch = branch("other", [helper.make_node("Neg", ["x"], ["r"])], "r")
    save(out, "if_constant",
         shape_test + [helper.make_node("If", ["is_rgb"], ["picked"], then_branch=then_branch,
                                        else_branch=else_branch),
                       helper.make_node("Add", ["picked", "x"], ["y"])],
         [tensor("x", [1, 3, 4, 4])], [tensor("y", None)], tests)
    # The condition a graph input: known only at run time, refused by name.
    save(out, "if_runtime",
         [helper.make_node("If", ["flag"], ["y"], then_branch=else_branch,
                           else_branch=branch("same", [helper.make_node("Relu", ["x"], ["q"])],
                                              "q"))],
         [tensor("x", [1, 3, 4, 4]), ids("flag", [], TensorProto.BOOL)], [tensor("y", None)])
    # A condition of two elements, and a branch of two outputs for one.
    save(out, "hostile_if_condition_pair",
         [helper.make_node("If", ["pair"], ["y"], then_branch=else_branch,
                           else_branch=else_branch)],
         [tensor("x", [1, 3, 4, 4])], [tensor("y", None)], [const("pair", np.array([True, False]))])
    two_outputs = helper.make_graph([helper.make_node("Neg", ["x"], ["r"])], "two", [],
                                    [tensor("r", [1, 3, 4, 4]), tensor("x", [1, 3, 4, 4])])
    save(out, "hostile_if_branch_outputs",
         [helper.make_node("If", ["yes"], ["y"], then_branch=two_outputs,
                           else_branch=two_outputs)],
         [tensor("x", [1, 3, 4, 4])], [tensor("y", None)], [const("yes", np.array(True))])


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
