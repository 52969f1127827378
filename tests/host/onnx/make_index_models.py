"""Operators whose indices are constants, lowered to GATHERs by tables known
when compiling: ScatterND, ScatterElements and opset 9's Scatter (slice
assignment as PyTorch exports `x[:, i] = y`, index_put, KV-cache updates),
with the reductions add, mul, max and min; OneHot of computed indices
(COMPAREs with a constant ramp and a SELECT); EyeLike folded on the host.
Written by make_test_models.py;
tests/guest/onnx_models_check.py's OP_GRAPHS runs them in
guest-onnx-models against onnxruntime."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper


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
    # Data of 2^31 rows under a reduction: refused before the rows'
    # updates are listed (they were listed first).
    save(out, "scatter_huge",
         [helper.make_node("ScatterElements", ["x", "one", "update"], ["y"], reduction="add")],
         [tensor("x", [1 << 28, 8])], [tensor("y", None)],
         [ints("one", np.zeros((1, 8), np.int64)), const("update", np.ones((1, 8), np.float32))],
         opset=16)
    # An index repeated 65 times under a reduction: 65 rounds, refused.
    save(out, "scatter_too_many_rounds",
         [helper.make_node("ScatterElements", ["x", "same", "ones"], ["y"], reduction="add")],
         [tensor("x", [2, 3])], [tensor("y", None)],
         [ints("same", np.zeros((65, 3), np.int64)), const("ones", np.ones((65, 3), np.float32))],
         opset=16)


def one_hot_models(out, save, tensor):
    """OneHot of float indices (3x: an index that is no integer selects
    nothing, as in onnxruntime; so does one beyond the depth) along a middle
    axis and the last, of integral float indices (Floor(3x): negative ones
    count from the end), and of ArgMax's int64 indices; EyeLike of x's
    shape, k 1, added to x."""
    save(out, "one_hot",
         [helper.make_node("Mul", ["x", "three"], ["idx"]),
          helper.make_node("OneHot", ["idx", "depth", "values"], ["middle"], axis=1),
          helper.make_node("Floor", ["idx"], ["whole"]),
          helper.make_node("OneHot", ["whole", "depth", "values"], ["last"]),
          helper.make_node("ArgMax", ["x"], ["best"], axis=1, keepdims=0),
          helper.make_node("OneHot", ["best", "classes", "zero_one"], ["best_one_hot"]),
          helper.make_node("EyeLike", ["x"], ["eye"], k=1),
          helper.make_node("Add", ["x", "eye"], ["x_eye"])],
         [tensor("x", [4, 6])],
         [tensor(name, None) for name in ("middle", "last", "best_one_hot", "x_eye")],
         [const("three", np.array(3, np.float32)), const("depth", np.array(5, np.float32)),
          const("values", np.array([-1, 2], np.float32)), const("classes", np.array(6.0, np.float32)),
          const("zero_one", np.array([0, 1], np.float32))], opset=13)
    # EyeLike to double, a graph output declared double: ONNX's shape
    # inference refused the folded eye when it was stored back as float.
    save(out, "eye_like_double", [helper.make_node("EyeLike", ["x"], ["y"], dtype=TensorProto.DOUBLE)],
         [tensor("x", [3, 3])], [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
         opset=13)
    # EyeLike with k = 2^63 - 1: r + k overflowed.
    save(out, "eye_like_huge_k", [helper.make_node("EyeLike", ["x"], ["y"], k=(1 << 63) - 1)],
         [tensor("x", [2, 3])], [tensor("y", None)], opset=13)
    # A depth of 2^26: its ramp would be built before anything bounded it.
    save(out, "one_hot_huge", [helper.make_node("OneHot", ["x", "depth", "values"], ["y"])],
         [tensor("x", [4])], [tensor("y", None)],
         [const("depth", np.array(1 << 26, np.float32)),
          const("values", np.array([0, 1], np.float32))], opset=13)


def integer_models(out, save, tensor, rng):
    """Integer arithmetic on values computed at run time (INT32 on the
    device): token ids from ArgMax; RoBERTa's position ids from the padding
    mask (Cast, CumSum, Mul, Add, Gather of the embedding table), Llama's
    (CumSum - 1, Where of the mask), an exclusive reversed CumSum, Max and
    Min with constants, an Add broadcasting a constant row; Slices of
    computed integers."""
    def i64(name, values):
        return const(name, np.array(values, np.int64))
    save(out, "integer_arithmetic",
         [helper.make_node("ArgMax", ["x"], ["ids"], axis=2, keepdims=0),
          helper.make_node("Equal", ["ids", "pad"], ["is_pad"]),
          helper.make_node("Not", ["is_pad"], ["mask"]),
          helper.make_node("Cast", ["mask"], ["m32"], to=TensorProto.INT32),
          helper.make_node("CumSum", ["m32", "axis1"], ["counted"]),
          helper.make_node("Mul", ["counted", "m32"], ["masked"]),
          helper.make_node("Cast", ["masked"], ["masked64"], to=TensorProto.INT64),
          helper.make_node("Add", ["masked64", "pad"], ["position_ids"]),
          helper.make_node("Gather", ["table", "position_ids"], ["positions"]),
          helper.make_node("Cast", ["mask"], ["m64"], to=TensorProto.INT64),
          helper.make_node("CumSum", ["m64", "last"], ["running"]),
          helper.make_node("Sub", ["running", "one"], ["from_zero"]),
          helper.make_node("Where", ["mask", "from_zero", "one"], ["llama_position_ids"]),
          helper.make_node("CumSum", ["m64", "axis1"], ["remaining"], exclusive=1, reverse=1),
          helper.make_node("Max", ["ids", "one"], ["at_least_one"]),
          helper.make_node("Min", ["at_least_one", "three"], ["clamped"]),
          helper.make_node("Add", ["ids", "row"], ["shifted"])],
         [tensor("x", [2, 8, 5])],
         [tensor("positions", None)]
         + [helper.make_tensor_value_info(name, TensorProto.INT64, None)
            for name in ("position_ids", "llama_position_ids", "remaining", "clamped",
                         "shifted")],
         [i64("pad", 1), const("axis1", np.array(1, np.int32)), i64("last", -1), i64("one", 1),
          i64("three", 3), i64("row", np.arange(8) * 10),
          const("table", rng.uniform(-1, 1, (16, 4)).astype(np.float32))], opset=14)
    # Slices of integers computed on the device, then looked up: token ids
    # past a prefix, every third one, and the last positions of Llama's
    # position ids (`position_ids[:, -T:]`).
    save(out, "integer_slice",
         [helper.make_node("ArgMax", ["x"], ["ids"], axis=2, keepdims=0),
          helper.make_node("Slice", ["ids", "two", "end", "axis1_64"], ["tail_ids"]),
          helper.make_node("Gather", ["table", "tail_ids"], ["tail"]),
          helper.make_node("Slice", ["ids", "zero", "end", "axis1_64", "three"], ["every_third"]),
          helper.make_node("Gather", ["table", "every_third"], ["thirds"]),
          helper.make_node("Cast", ["ids"], ["ids32"], to=TensorProto.INT32),
          helper.make_node("CumSum", ["ids32", "axis1"], ["running"]),
          helper.make_node("Slice", ["running", "minus_five", "end", "axis1_64"], ["last"]),
          helper.make_node("Cast", ["last"], ["last_f"], to=TensorProto.FLOAT)],
         [tensor("x", [2, 8, 5])],
         [tensor(name, None) for name in ("tail", "thirds", "last_f")],
         [i64("two", [2]), i64("zero", [0]), i64("end", [8]), i64("axis1_64", [1]),
          i64("three", [3]), i64("minus_five", [-5]), const("axis1", np.array(1, np.int32)),
          const("table", rng.uniform(-1, 1, (5, 4)).astype(np.float32))], opset=14)
    # Floats made integers on the device (ISA v1.7's CONVERT to INT32,
    # truncating as ONNX's Cast does), then integer Div and Mod (the
    # divisor's sign and fmod's, divisors of both signs, a scalar and a
    # column broadcast) and a Cast back to float; outputs int64 and int32.
    def i32(name, values):
        return const(name, np.array(values, np.int32))
    save(out, "integer_division",
         [helper.make_node("Mul", ["x", "forty"], ["big"]),
          helper.make_node("Cast", ["big"], ["t"], to=TensorProto.INT64),
          helper.make_node("Floor", ["big"], ["floored"]),
          helper.make_node("Cast", ["floored"], ["t32"], to=TensorProto.INT32),
          helper.make_node("Div", ["t", "divisors"], ["quotient"]),
          helper.make_node("Mod", ["t", "divisors"], ["remainder"]),
          helper.make_node("Mod", ["t", "divisors"], ["fmod"], fmod=1),
          helper.make_node("Div", ["t", "minus_two"], ["halved"]),
          helper.make_node("Mod", ["t32", "column"], ["by_row"]),
          helper.make_node("Cast", ["quotient"], ["quotient_f"], to=TensorProto.FLOAT)],
         [tensor("x", [3, 9])],
         [helper.make_tensor_value_info(name, TensorProto.INT64, None)
          for name in ("t", "quotient", "remainder", "fmod", "halved")]
         + [helper.make_tensor_value_info(name, TensorProto.INT32, None) for name in ("t32", "by_row")]
         + [tensor("quotient_f", None)],
         [const("forty", np.array(40, np.float32)), i64("divisors", [3, -3, 5, -5, 7, 2, -2, 4, 1]),
          i64("minus_two", -2), i32("column", [[6], [-4], [9]])], opset=13)
    # Pow of integers computed on the device (x * 3 made int32 and int64):
    # exponents a constant scalar (2, 3), one per column, computed
    # (min(b², 3)), negative (1/b truncated to 0, 1 for b = 1);
    # outputs int32 and int64.
    save(out, "integer_pow",
         [helper.make_node("Mul", ["x", "three_f"], ["scaled"]),
          helper.make_node("Cast", ["scaled"], ["b"], to=TensorProto.INT32),
          helper.make_node("Cast", ["scaled"], ["b64"], to=TensorProto.INT64),
          helper.make_node("Pow", ["b", "two"], ["squared"]),
          helper.make_node("Pow", ["b64", "three64"], ["cubed"]),
          helper.make_node("Pow", ["b", "per_column"], ["by_column"]),
          helper.make_node("Mul", ["b", "b"], ["b_squared"]),
          helper.make_node("Min", ["b_squared", "three"], ["small"]),
          helper.make_node("Pow", ["b", "small"], ["own_power"]),
          helper.make_node("Add", ["small", "one"], ["positive"]),
          helper.make_node("Pow", ["positive", "minus_one"], ["reciprocal"])],
         [tensor("x", [3, 5])],
         [helper.make_tensor_value_info(name, TensorProto.INT32, None)
          for name in ("squared", "by_column", "own_power", "reciprocal")]
         + [helper.make_tensor_value_info("cubed", TensorProto.INT64, None)],
         [const("three_f", np.array(3, np.float32)), i32("two", 2), i64("three64", 3),
          i32("per_column", [0, 1, 2, 3, 4]), i32("one", 1), i32("three", 3),
          i32("minus_one", -1)], opset=15)
    # Selections by indices computed at run time along other axes than 0:
    # GatherElements of an ArgMax's and a TopK's indices (torch.gather),
    # Gather along the last axis by negative indices (ids - 4) and along
    # axis 1 of a constant table; GatherND of each row's ArgMax (batch_dims
    # 2), and by pairs of an int64 input (gather_nd_ids).
    save(out, "runtime_gathers",
         [helper.make_node("ArgMax", ["x"], ["column_best"], axis=1, keepdims=1),
          helper.make_node("GatherElements", ["x", "column_best"], ["column_max"], axis=1),
          helper.make_node("Neg", ["x"], ["negated"]),
          helper.make_node("TopK", ["x", "two"], ["top", "top_ids"], axis=2),
          helper.make_node("GatherElements", ["negated", "top_ids"], ["picked_negated"], axis=2),
          helper.make_node("ArgMax", ["x"], ["row_best"], axis=2, keepdims=0),
          helper.make_node("Sub", ["row_best", "four"], ["from_end"]),
          helper.make_node("Gather", ["x", "from_end"], ["picked"], axis=2),
          helper.make_node("Gather", ["table", "row_best"], ["table_columns"], axis=1),
          helper.make_node("ArgMax", ["x"], ["row_best_kept"], axis=2, keepdims=1),
          helper.make_node("GatherND", ["x", "row_best_kept"], ["row_max"], batch_dims=2)],
         [tensor("x", [3, 5, 4])],
         [tensor(name, None) for name in ("column_max", "picked_negated", "picked",
                                          "table_columns", "row_max")],
         [i64("two", [2]), i64("four", 4),
          const("table", rng.uniform(-1, 1, (6, 7)).astype(np.float32))], opset=13)
    # Scatters at positions computed at run time (a KV cache written at a
    # position the model computes): ScatterElements at each column's ArgMax,
    # ScatterND of rows at each head's peak position (the last update
    # landing on a row wins); under a reduction refused by name.
    save(out, "runtime_scatters",
         [helper.make_node("ArgMax", ["x"], ["column_best"], axis=1, keepdims=1),
          helper.make_node("Slice", ["x", "zero", "one", "one"], ["first"]),
          helper.make_node("Neg", ["first"], ["negated_first"]),
          helper.make_node("ScatterElements", ["x", "column_best", "negated_first"],
                           ["scattered_elements"], axis=1),
          helper.make_node("ReduceMax", ["x"], ["peaks"], axes=[2], keepdims=0),
          helper.make_node("ArgMax", ["peaks"], ["peak_rows"], axis=1, keepdims=1),
          helper.make_node("Reshape", ["x", "rows_shape"], ["flat"]),
          helper.make_node("Reshape", ["first", "update_shape"], ["update_rows"]),
          helper.make_node("ScatterND", ["flat", "peak_rows", "update_rows"], ["scattered_rows"])],
         [tensor("x", [2, 6, 4])],
         [tensor(name, None) for name in ("scattered_elements", "scattered_rows")],
         [i64("zero", [0]), i64("one", [1]), i64("rows_shape", [12, 4]),
          i64("update_shape", [2, 4])], opset=13)
    # Index tuples stacked on the device (Concat of computed integers, one of
    # them negative) for a GatherND; the tuples and a Slice of them (int64)
    # graph outputs.
    save(out, "stacked_tuples",
         [helper.make_node("ArgMax", ["x"], ["best"], axis=2, keepdims=1),
          helper.make_node("Mod", ["best", "three"], ["rows"]),
          helper.make_node("Sub", ["best", "four"], ["columns"]),
          helper.make_node("Concat", ["rows", "columns"], ["tuples"], axis=-1),
          helper.make_node("GatherND", ["x", "tuples"], ["picked"]),
          helper.make_node("Slice", ["tuples", "one", "three", "one"], ["middle"])],
         [tensor("x", [3, 5, 4])],
         [tensor("picked", None)]
         + [helper.make_tensor_value_info(name, TensorProto.INT64, None)
            for name in ("tuples", "middle")],
         [i64("three", [3]), i64("four", 4), i64("one", [1])], opset=13)
    # Integer reductions: a sequence's length as the sum of a mask computed
    # from the input, the last token pooled by GatherElements at length - 1
    # (a classifier head's pooling), a ReduceMin of the mask kept as an
    # int64 output; ReduceMean of integers is refused by name.
    save(out, "integer_reductions",
         [helper.make_node("Slice", ["x", "zero", "one", "two"], ["first"]),
          helper.make_node("Reshape", ["first", "mask_shape"], ["first2d"]),
          helper.make_node("Greater", ["first2d", "zero_f"], ["positive"]),
          helper.make_node("Cast", ["positive"], ["mask"], to=TensorProto.INT64),
          helper.make_node("ReduceSum", ["mask", "one"], ["lengths"], keepdims=0),
          helper.make_node("ReduceMin", ["mask"], ["any_zero"], axes=[1], keepdims=1),
          helper.make_node("Sub", ["lengths", "one"], ["last_raw"]),
          helper.make_node("Max", ["last_raw", "zero"], ["last"]),
          helper.make_node("Reshape", ["last", "index_shape"], ["last3d"]),
          helper.make_node("Expand", ["last3d", "pooled_shape"], ["index"]),
          helper.make_node("GatherElements", ["x", "index"], ["pooled"], axis=1)],
         [tensor("x", [2, 8, 4])],
         [tensor("pooled", None)]
         + [helper.make_tensor_value_info(name, TensorProto.INT64, None)
            for name in ("lengths", "any_zero")],
         [i64("zero", [0]), i64("one", [1]), i64("two", [2]), i64("mask_shape", [2, 8]),
          const("zero_f", np.array(0, np.float32)), i64("index_shape", [2, 1, 1]),
          i64("pooled_shape", [2, 1, 4])], opset=13)
    save(out, "integer_reduce_mean",
         [helper.make_node("ArgMax", ["x"], ["ids"], axis=1, keepdims=0),
          helper.make_node("ReduceMean", ["ids"], ["y"], keepdims=0)],
         [tensor("x", [3, 4])], [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
         opset=13)
    save(out, "runtime_scatter_add",
         [helper.make_node("ArgMax", ["x"], ["ids"], axis=0, keepdims=1),
          helper.make_node("ScatterElements", ["x", "ids", "x_row"], ["y"], reduction="add")],
         [tensor("x", [3, 4]), tensor("x_row", [1, 4])], [tensor("y", None)], opset=16)
    save(out, "runtime_scatter_integers",
         [helper.make_node("ArgMax", ["x"], ["ids"], axis=1, keepdims=1),
          helper.make_node("ScatterElements", ["ids", "ids", "ids"], ["y"], axis=1)],
         [tensor("x", [3, 4])], [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
         opset=13)
    save(out, "runtime_scatter_wide",
         [helper.make_node("ArgMax", ["x"], ["ids"], axis=0, keepdims=1),
          helper.make_node("ScatterElements", ["x", "ids", "x_row"], ["y"])],
         [tensor("x", [1024, 1024]), tensor("x_row", [1, 1024])], [tensor("y", None)], opset=13)
    save(out, "gather_nd_ids", [helper.make_node("GatherND", ["x", "ids"], ["y"])],
         [tensor("x", [5, 4, 3]), helper.make_tensor_value_info("ids", TensorProto.INT64, [4, 2])],
         [tensor("y", None)], opset=13)
    # A Mod of floats: no exact remainder on the device, refused by name.
    save(out, "float_mod", [helper.make_node("Mod", ["x", "x"], ["y"], fmod=1)],
         [tensor("x", [4])], [tensor("y", None)], opset=13)
