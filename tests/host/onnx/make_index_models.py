"""Operators whose indices are constants, lowered to GATHERs by tables known
when compiling: ScatterND, ScatterElements and opset 9's Scatter (slice
assignment as PyTorch exports `x[:, i] = y`, index_put, KV-cache updates),
with the reductions add, mul, max and min. Written by make_test_models.py;
tests/guest/onnx_models_check.py's OP_GRAPHS runs them in
guest-onnx-models against onnxruntime."""
import numpy as np
from onnx import helper, numpy_helper


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def ints(name, values):
    return const(name, np.array(values, np.int64))


def scatter_models(out, save, tensor, rng):
    def uniform(*shape):
        return rng.uniform(-2, 2, shape).astype(np.float32)
    save(out, "scatter",
         [helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("ReduceMean", ["x"], ["mean"], axes=[0], keepdims=0),
          helper.make_node("Slice", ["mean", "zero", "two", "zero"], ["rows"]),
          # data[0, 1] and data[1, 2] replaced by computed rows
          helper.make_node("ScatterND", ["r", "nd_tuples", "rows"], ["nd"]),
          # an index repeated: added twice
          helper.make_node("ScatterND", ["x", "nd_repeated", "nd_updates"], ["nd_add"],
                           reduction="add"),
          # single elements multiplied
          helper.make_node("ScatterND", ["x", "nd_elements", "nd_factors"], ["nd_mul"],
                           reduction="mul"),
          helper.make_node("ScatterElements", ["r", "along_2", "elements"], ["elements_out"],
                           axis=2),
          helper.make_node("ScatterElements", ["x", "repeated", "summed"], ["elements_add"],
                           axis=-1, reduction="add")],
         [tensor("x", [2, 3, 4, 5])],
         [tensor(name, None) for name in ("nd", "nd_add", "nd_mul", "elements_out",
                                          "elements_add")],
         [ints("zero", [0]), ints("two", [2]),
          ints("nd_tuples", [[0, 1], [1, -1]]),
          ints("nd_repeated", [[1, 0], [1, 0], [0, 2]]), const("nd_updates", uniform(3, 4, 5)),
          ints("nd_elements", [[0, 0, 0, 0], [1, 2, 3, 4]]), const("nd_factors", uniform(2)),
          ints("along_2", rng.permuted(np.tile(np.arange(-4, 0), (2, 3, 5, 1)), axis=3)
               .transpose(0, 1, 3, 2)[:, :, :2, :]),
          const("elements", uniform(2, 3, 2, 5)),
          ints("repeated", rng.integers(0, 2, (2, 3, 4, 3))), const("summed", uniform(2, 3, 4, 3))],
         opset=16)
    save(out, "scatter_v10",
         [helper.make_node("Scatter", ["x", "indices", "updates"], ["y"], axis=1)],
         [tensor("x", [3, 4])], [tensor("y", None)],
         [ints("indices", [[3, 0], [1, 2], [0, 3]]), const("updates", uniform(3, 2))], opset=10)
    # An index repeated 65 times under a reduction: 65 rounds, refused.
    save(out, "scatter_too_many_rounds",
         [helper.make_node("ScatterElements", ["x", "same", "ones"], ["y"], reduction="add")],
         [tensor("x", [2, 3])], [tensor("y", None)],
         [ints("same", np.zeros((65, 3), np.int64)), const("ones", np.ones((65, 3), np.float32))],
         opset=16)
