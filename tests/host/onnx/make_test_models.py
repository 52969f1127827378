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

OPSET = 13


def save(out, name, nodes, inputs, outputs, initializers=(), opset=OPSET):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
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
          helper.make_node("Resize", ["r", "", "scales"], ["z"], mode="nearest"),
          helper.make_node("Erf", ["z"], ["e"]),
          helper.make_node("Erf", ["e"], ["y"])],
         [tensor("x", [1, 1, 2, 2])], [tensor("y", None)],
         [const("scales", np.array([1, 1, 2, 2], np.float32))])
    # Known op, attributes ISA v1 cannot map: reported at compile time.
    save(out, "softmax_axis1",
         [helper.make_node("Softmax", ["x"], ["y"], axis=1)],
         [tensor("x", [2, 3, 4])], [tensor("y", None)])

    # Malformed: a node reading a value nothing defines; a truncated file.
    save(out, "undefined_input",
         [helper.make_node("Relu", ["nowhere"], ["y"])],
         [tensor("x", [1])], [tensor("y", [1])])
    whole = (out / "chain.onnx").read_bytes()
    (out / "truncated.onnx").write_bytes(whole[: len(whole) // 2])
    (out / "garbage.onnx").write_bytes(b"\x93NUMPY not a model at all" * 7)
    (out / "empty.onnx").write_bytes(b"")
    # An input npu-infer refuses: the models take float32.
    np.save(out / "int8_input.npy", np.zeros(4, np.int8))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
