"""Graphs of the operators real trained networks use beyond the PaddleOCR
models and torchvision's exports of 2026-12-03: ArgMax/ArgMin, instance and
group normalization (also as PyTorch exports nn.GroupNorm), LRN, 1-D
convolutions and pooling, pooling padded unevenly, Floor, Ceil and Sign,
models exported in float16, Trilu, uint8 and int8 inputs, LSTM, GRU and
RNN layers, Einsum, CumSum, operands computed at run time, selections by
constant indices, thresholds (ThresholdedRelu, Shrink, IsInf, IsNaN).
Written by make_test_models.py; tests/guest/onnx_models_check.py's
OP_GRAPHS runs most of them in guest-onnx-models against onnxruntime."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def int64_output(name):
    return helper.make_tensor_value_info(name, TensorProto.INT64, None)


def argmax_models(out, save, tensor):
    """ArgMax and ArgMin along the middle, last and first axes, with and
    without keepdims; ties (Relu's zeros) resolved to the first index and,
    with select_last_index, the last; an index read on by a Cast. Refused:
    ArgMax of integers."""
    save(out, "argmax",
         [helper.make_node("ArgMax", ["x"], ["first_c"], axis=1, keepdims=1),
          helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("ArgMin", ["r"], ["last_min"], axis=-1, keepdims=0,
                           select_last_index=1),
          helper.make_node("ArgMax", ["r"], ["first_zero"], axis=0, keepdims=0),
          helper.make_node("ArgMax", ["x"], ["am"], axis=2, keepdims=0),
          helper.make_node("Cast", ["am"], ["am_f"], to=TensorProto.FLOAT)],
         [tensor("x", [2, 3, 5])],
         [int64_output("first_c"), int64_output("last_min"), int64_output("first_zero"),
          tensor("am_f", None)])
    save(out, "argmax_integers", [helper.make_node("ArgMax", ["ids"], ["y"], axis=0)],
         [helper.make_tensor_value_info("ids", TensorProto.INT64, [4])], [int64_output("y")])


def normalization_models(out, save, tensor, rng):
    """InstanceNormalization with a per-channel affine (then Relu), with the
    identity affine on [N, C, L], and nn.GroupNorm(2, 4) as PyTorch exports
    it (Reshape to [N, groups, -1], InstanceNormalization with unit scale,
    Reshape back, Mul and Add per channel); GroupNormalization of opsets
    18 and 21 (newer than Debian's libonnx 1.12: newer_schemas.cpp).
    Refused: a 5-D input."""
    scale = rng.uniform(0.5, 2.0, 4).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    save(out, "instance_norm",
         [helper.make_node("InstanceNormalization", ["x", "scale", "bias"], ["n"], epsilon=1e-3),
          helper.make_node("Relu", ["n"], ["y"]),
          helper.make_node("Reshape", ["x", "ncl"], ["x3"]),
          helper.make_node("InstanceNormalization", ["x3", "ones", "zeros"], ["z"]),
          helper.make_node("Reshape", ["x", "grouped"], ["xg"]),
          helper.make_node("InstanceNormalization", ["xg", "ones2", "zeros2"], ["ng"]),
          helper.make_node("Reshape", ["ng", "nchw"], ["ng4"]),
          helper.make_node("Mul", ["ng4", "gamma"], ["gm"]),
          helper.make_node("Add", ["gm", "beta"], ["g"])],
         [tensor("x", [2, 4, 3, 5])], [tensor("y", None), tensor("z", None), tensor("g", None)],
         [const("scale", scale), const("bias", bias),
          const("ncl", np.array([2, 4, 15], np.int64)),
          const("ones", np.ones(4, np.float32)), const("zeros", np.zeros(4, np.float32)),
          const("grouped", np.array([2, 2, -1], np.int64)),
          const("ones2", np.ones(2, np.float32)), const("zeros2", np.zeros(2, np.float32)),
          const("nchw", np.array([2, 4, 3, 5], np.int64)),
          const("gamma", scale.reshape(4, 1, 1)), const("beta", bias.reshape(4, 1, 1))])
    # Volumes (nnU-Net's InstanceNorm3d), and scale and bias computed.
    save(out, "instance_norm_5d",
         [helper.make_node("InstanceNormalization", ["x", "scale", "bias"], ["y"])],
         [tensor("x", [2, 3, 2, 3, 4])], [tensor("y", None)],
         [const("scale", rng.uniform(0.5, 2.0, 3).astype(np.float32)),
          const("bias", rng.standard_normal(3).astype(np.float32))])
    save(out, "instance_norm_computed_scale",
         [helper.make_node("Relu", ["s"], ["scale"]),
          helper.make_node("InstanceNormalization", ["x", "scale", "bias"], ["y"])],
         [tensor("x", [1, 2, 3, 4]), tensor("s", [2])], [tensor("y", None)],
         [const("bias", np.zeros(2, np.float32))])
    # BatchNormalization with training_mode 1 (opset 15; ONNX's shape
    # inference wants its three outputs): normalized by the batch's own
    # statistics, after a Conv and alone. Refused naming what the runtime
    # takes (before: "not after a Conv it can be folded into").
    channels = [const(n, v) for n, v in (("gamma", np.ones(2, np.float32)),
                                         ("beta", np.zeros(2, np.float32)),
                                         ("mean", np.zeros(2, np.float32)),
                                         ("var", np.ones(2, np.float32)))]
    save(out, "batch_norm_training",
         [helper.make_node("Conv", ["x", "w"], ["c"]),
          helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"],
                           ["y", "running_mean", "running_var"], training_mode=1)],
         [tensor("x", [2, 2, 3, 3])], [tensor("y", None)],
         channels + [const("w", np.ones((2, 2, 1, 1), np.float32))], opset=15)
    save(out, "batch_norm_training_alone",
         [helper.make_node("BatchNormalization", ["x", "gamma", "beta", "mean", "var"],
                           ["y", "running_mean", "running_var"], training_mode=1)],
         [tensor("x", [2, 2, 3, 3])], [tensor("y", None)], channels, opset=15)
    # GroupNormalization: opset 18 scales per group, opset 21 per channel.
    for opset, per in ((18, 2), (21, 6)):
        save(out, f"group_norm_v{opset}",
             [helper.make_node("GroupNormalization", ["x", "scale", "bias"], ["y"],
                               num_groups=2, epsilon=1e-4)],
             [tensor("x", [2, 6, 3, 4])], [tensor("y", None)],
             [const("scale", rng.uniform(0.5, 2.0, per).astype(np.float32)),
              const("bias", rng.standard_normal(per).astype(np.float32))],
             opset=opset)


def lrn_models(out, save, tensor):
    """LRN as the ONNX Model Zoo's AlexNet and GoogLeNet use it (size 5,
    here on 6 channels: windows past both ends) and of size 3. Refused: an
    even size (onnxruntime refuses it too)."""
    save(out, "lrn",
         [helper.make_node("LRN", ["x"], ["y"], size=3, alpha=0.05, beta=0.75, bias=1.0),
          helper.make_node("LRN", ["x"], ["z"], size=5, alpha=0.02, beta=0.5, bias=2.0)],
         [tensor("x", [1, 6, 4, 5])], [tensor("y", None), tensor("z", None)])
    save(out, "lrn_even", [helper.make_node("LRN", ["x"], ["y"], size=4)],
         [tensor("x", [1, 6, 4, 5])], [tensor("y", None)])


def window_mask_models(out, save, tensor, rng):
    """Swin Transformer's window attention: scores [1, windows, heads, T, T]
    plus a mask per window [1, windows, 1, T, T] (a constant) and plus a
    computed tensor of that shape: operands varying along two blocks of
    axes."""
    mask = np.where(rng.standard_normal((1, 2, 1, 4, 4)) > 0, 0.0, -100.0).astype(np.float32)
    save(out, "window_mask",
         [helper.make_node("Add", ["x", "mask"], ["masked"]),
          helper.make_node("ReduceMean", ["x"], ["per_window"], axes=[2], keepdims=1),
          helper.make_node("Mul", ["masked", "per_window"], ["y"])],
         [tensor("x", [1, 2, 3, 4, 4])], [tensor("y", None)], [const("mask", mask)])


def window_1d_models(out, save, tensor, rng):
    """1-D windows as audio and sequence models use them (wav2vec-style
    feature extractors, TCNs, text CNNs): a strided, dilated Conv padded
    unevenly, then BatchNormalization and Relu (folded and fused as in 2-D),
    a depthwise Conv with auto_pad SAME_UPPER, MaxPool with ceil_mode,
    AveragePool with and without count_include_pad over uneven pads,
    ConvTranspose, GlobalAveragePool of [N, C, L]. Refused: MaxPool's
    Indices output."""
    k = 6
    save(out, "window_1d",
         [helper.make_node("Conv", ["x", "w", "b"], ["c"], strides=[2], dilations=[2],
                           pads=[2, 1]),
          helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["bn"]),
          helper.make_node("Relu", ["bn"], ["r"]),
          helper.make_node("Conv", ["r", "dw"], ["d"], group=k, auto_pad="SAME_UPPER",
                           strides=[2]),
          helper.make_node("MaxPool", ["r"], ["mp"], kernel_shape=[3], strides=[2], pads=[1, 0],
                           ceil_mode=1),
          helper.make_node("AveragePool", ["r"], ["ap"], kernel_shape=[4], strides=[3],
                           pads=[1, 2], ceil_mode=1),
          helper.make_node("AveragePool", ["r"], ["api"], kernel_shape=[3], strides=[2],
                           pads=[2, 0], count_include_pad=1),
          helper.make_node("ConvTranspose", ["d", "tw"], ["t"], strides=[2], pads=[1, 2]),
          helper.make_node("GlobalAveragePool", ["t"], ["g"])],
         [tensor("x", [2, 4, 19])],
         [tensor(name, None) for name in ("d", "mp", "ap", "api", "t", "g")],
         [const("w", rng.standard_normal((k, 4, 3)).astype(np.float32)),
          const("b", rng.standard_normal(k).astype(np.float32)),
          const("gamma", rng.uniform(0.5, 2.0, k).astype(np.float32)),
          const("beta", rng.standard_normal(k).astype(np.float32)),
          const("mean", rng.standard_normal(k).astype(np.float32)),
          const("var", rng.uniform(0.5, 2.0, k).astype(np.float32)),
          const("dw", rng.standard_normal((k, 1, 5)).astype(np.float32)),
          const("tw", rng.standard_normal((k, 3, 4)).astype(np.float32))])
    save(out, "maxpool_1d_indices",
         [helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2])],
         [tensor("x", [1, 2, 8])], [tensor("y", None), int64_output("i")])


def uneven_pool_models(out, save, tensor):
    """2-D pooling padded unevenly, as TensorFlow's exports pad (auto_pad
    SAME_UPPER, SAME_LOWER, explicit pads), and average pooling with
    ceil_mode, where ONNX divides each window by the elements it covers."""
    save(out, "pool_uneven",
         [helper.make_node("AveragePool", ["x"], ["same_upper"], kernel_shape=[3, 2],
                           strides=[2, 2], auto_pad="SAME_UPPER"),
          helper.make_node("AveragePool", ["x"], ["same_lower"], kernel_shape=[2, 3],
                           strides=[1, 2], auto_pad="SAME_LOWER", count_include_pad=1),
          helper.make_node("MaxPool", ["x"], ["max_same"], kernel_shape=[3, 3],
                           strides=[2, 2], auto_pad="SAME_UPPER"),
          helper.make_node("AveragePool", ["x"], ["ceil"], kernel_shape=[3, 3], strides=[2, 2],
                           pads=[0, 1, 1, 0], ceil_mode=1),
          helper.make_node("AveragePool", ["x"], ["ceil_pad"], kernel_shape=[3, 3],
                           strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                           count_include_pad=1)],
         [tensor("x", [1, 3, 8, 9])],
         [tensor(name, None) for name in ("same_upper", "same_lower", "max_same", "ceil",
                                          "ceil_pad")])


def computed_weights_models(out, save, tensor):
    """A Conv and a ConvTranspose whose weights and bias are graph inputs
    (dynamic filters, hypernetworks): the instructions read them as
    computed."""
    save(out, "conv_computed_weights",
         [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
          helper.make_node("ConvTranspose", ["c", "tw"], ["y"], strides=[2, 2])],
         [tensor("x", [1, 3, 5, 6]), tensor("w", [4, 3, 3, 3]), tensor("b", [4]),
          tensor("tw", [4, 2, 2, 2])],
         [tensor("y", None)])


def rounding_models(out, save, tensor):
    """Floor, Ceil and Sign (from ROUND, COMPARE and SELECT), on 3x and on x,
    whose guest input holds infinities; Sign of Floor(x) meets zeros. The
    trigonometric and other math functions folded on constants; Sin and Cos
    of computed angles on the device."""
    # Rotary position embeddings' tables: Sin and Cos of constant angles
    # (positions from a Range times the inverse frequencies), folded on the
    # host.
    save(out, "rotary_tables",
         [helper.make_node("Range", ["start", "limit", "delta"], ["positions"]),
          helper.make_node("Unsqueeze", ["positions", "axis1"], ["column"]),
          helper.make_node("Mul", ["column", "inv_freq"], ["angles"]),
          helper.make_node("Sin", ["angles"], ["sin"]),
          helper.make_node("Cos", ["angles"], ["cos"]),
          helper.make_node("Mul", ["x", "cos"], ["xc"]),
          helper.make_node("Mul", ["x", "sin"], ["xs"]),
          helper.make_node("Add", ["xc", "xs"], ["y"])],
         [tensor("x", [1, 8, 4])], [tensor("y", None)],
         [const("start", np.array(0.0, np.float32)), const("limit", np.array(8.0, np.float32)),
          const("delta", np.array(1.0, np.float32)), const("axis1", np.array([1], np.int64)),
          const("inv_freq", np.array([[1.0, 0.1, 0.01, 0.001]], np.float32))])
    # The same tables from positions computed per inference (Llama's from
    # the attention mask): positions [1, T, 1] by frequencies [1, 1, F],
    # Sin and Cos on the device (ISA v1.6), large angles included.
    save(out, "rotary_computed",
         [helper.make_node("Mul", ["x", "inv_freq"], ["angles"]),
          helper.make_node("Concat", ["angles", "angles"], ["doubled"], axis=-1),
          helper.make_node("Sin", ["doubled"], ["sin"]),
          helper.make_node("Cos", ["doubled"], ["cos"])],
         [tensor("x", [1, 8, 1])], [tensor("sin", None), tensor("cos", None)],
         [const("inv_freq", np.array([[[1.0, 0.1, 0.01, 0.001]]], np.float32))])
    save(out, "floor_ceil_sign",
         [helper.make_node("Mul", ["x", "three"], ["x3"]),
          helper.make_node("Floor", ["x3"], ["floor"]),
          helper.make_node("Ceil", ["x3"], ["ceil"]),
          helper.make_node("Sign", ["x"], ["sign"]),
          helper.make_node("Floor", ["x"], ["fx"]),
          helper.make_node("Sign", ["fx"], ["sign_floor"])],
         [tensor("x", [2, 3, 4])],
         [tensor(name, None) for name in ("floor", "ceil", "sign", "sign_floor")],
         [const("three", np.array(3.0, np.float32))])


def math_function_models(out, save, tensor):
    """ISA v1.8's functions of computed values: Tan, Atan, Sinh, Cosh, Asinh
    and Erf of x; Asin, Acos and Atanh of Tanh(x), inside (-1, 1); Acosh of
    Cosh(x), from 1. Pow with an exponent per element: computed (Cosh(x) to
    the power Tanh(x)), a constant vector broadcast along the last axis, and
    constant integers (x^1 ... x^8, negative bases included). Mod of floats
    (fmod 1) of a computed and of a constant divisor."""
    unary = {"tan": ("Tan", "x"), "atan": ("Atan", "x"), "sinh": ("Sinh", "x"),
             "cosh": ("Cosh", "x"), "asinh": ("Asinh", "x"), "erf": ("Erf", "x"),
             "asin": ("Asin", "t"), "acos": ("Acos", "t"), "atanh": ("Atanh", "t"),
             "acosh": ("Acosh", "cosh")}
    nodes = [helper.make_node("Tanh", ["x"], ["t"])]
    nodes += [helper.make_node(op, [operand], [name]) for name, (op, operand) in unary.items()]
    nodes += [helper.make_node("Pow", ["cosh", "t"], ["pow_computed"]),
              helper.make_node("Pow", ["cosh", "exponents"], ["pow_vector"]),
              helper.make_node("Pow", ["x", "integers"], ["pow_integers"]),
              helper.make_node("Mod", ["x", "t"], ["fmod_computed"], fmod=1),
              helper.make_node("Mod", ["sinh", "exponents"], ["fmod_vector"], fmod=1)]
    outputs = list(unary) + ["pow_computed", "pow_vector", "pow_integers", "fmod_computed",
                             "fmod_vector"]
    save(out, "math_functions", nodes, [tensor("x", [2, 3, 8])],
         [tensor(name, None) for name in outputs],
         [const("exponents", np.linspace(-2.5, 3.5, 8).astype(np.float32)),
          const("integers", np.arange(1, 9, dtype=np.int64))])


def half_precision_models(out, save, tensor, rng):
    """A small classifier exported in half precision (float16 weights and
    activations): with float16 inputs and outputs, and with float32 ones
    and Casts at both ends (onnxconverter-common's keep_io_types)."""
    def half(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT16, shape)

    def weights(dtype):
        return [const("w", (0.5 * rng.standard_normal((8, 3, 3, 3))).astype(dtype)),
                const("b", (0.1 * rng.standard_normal(8)).astype(dtype)),
                const("fc", (0.5 * rng.standard_normal((8, 5))).astype(dtype))]

    body = [helper.make_node("Conv", ["xh", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("GlobalAveragePool", ["r"], ["g"]),
            helper.make_node("Flatten", ["g"], ["f"]),
            helper.make_node("MatMul", ["f", "fc"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["yh"])]
    fp16 = weights(np.float16)
    # float64 inputs and outputs (as scikit-learn models are often
    # converted: an MLP in double), computed in the program's dtype; a
    # double value Cast to float for a second output.
    def double(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.DOUBLE, shape)

    own = np.random.default_rng(64)  # its own: the models after keep their values

    save(out, "double_io",
         [helper.make_node("MatMul", ["x", "w1"], ["m1"]),
          helper.make_node("Add", ["m1", "b1"], ["a1"]),
          helper.make_node("Relu", ["a1"], ["h"]),
          helper.make_node("MatMul", ["h", "w2"], ["m2"]),
          helper.make_node("Softmax", ["m2"], ["y"], axis=-1),
          helper.make_node("ReduceMax", ["h"], ["s"], axes=[1], keepdims=0),
          helper.make_node("Cast", ["s"], ["total"], to=TensorProto.FLOAT)],
         [double("x", [4, 16])], [double("y", None), tensor("total", None)],
         [const("w1", (0.5 * own.standard_normal((16, 32))).astype(np.float64)),
          const("b1", (0.1 * own.standard_normal(32)).astype(np.float64)),
          const("w2", (0.5 * own.standard_normal((32, 5))).astype(np.float64))])
    save(out, "half_io",
         [helper.make_node("Identity", ["x"], ["xh"])] + body
         + [helper.make_node("Identity", ["yh"], ["y"])],
         [half("x", [2, 3, 8, 8])], [half("y", None)], fp16)
    save(out, "half_keep_io",
         [helper.make_node("Cast", ["x"], ["xh"], to=TensorProto.FLOAT16)] + body
         + [helper.make_node("Cast", ["yh"], ["y"], to=TensorProto.FLOAT)],
         [tensor("x", [2, 3, 8, 8])], [tensor("y", None)], fp16)
    # float16 weights large enough that import decodes them once and drops
    # their data from the protobuf (detach_weights): (i mod 256) / 8.
    save(out, "half_large_weights", [helper.make_node("MatMul", ["x", "w"], ["y"])],
         [half("x", [1, 64])], [half("y", None)],
         [const("w", (np.arange(64 * 64) % 256 / 8).reshape(64, 64).astype(np.float16))])
    # A constant cast to float16 and back, folded on the host: rounded.
    save(out, "half_constant_cast",
         [helper.make_node("Cast", ["k"], ["kh"], to=TensorProto.FLOAT16),
          helper.make_node("Cast", ["kh"], ["k32"], to=TensorProto.FLOAT),
          helper.make_node("Add", ["x", "k32"], ["y"])],
         [tensor("x", [3])], [tensor("y", None)],
         [const("k", np.array([0.1, 1 / 3, 65519.0], np.float32))])
    # CastLike (opset 15): a Cast to its second input's type; of a constant
    # to float16, folded and rounded as that Cast.
    save(out, "cast_like",
         [helper.make_node("CastLike", ["k", "like"], ["kh"]),
          helper.make_node("CastLike", ["kh", "x"], ["k32"]),
          helper.make_node("Add", ["x", "k32"], ["y"])],
         [tensor("x", [3])], [tensor("y", None)],
         [const("k", np.array([0.1, 1 / 3, 65519.0], np.float32)),
          const("like", np.array([0], np.float16))], opset=15)


def trilu_models(out, save, tensor):
    """Trilu (opset 14) of a computed tensor: upper, lower with k -1, upper
    with k 2; and the causal mask a decoder's export builds from a full
    matrix (folded on the host), added to attention scores before Softmax.
    Refused: a k computed at run time."""
    k = [const("km1", np.array(-1, np.int64)), const("k2", np.array(2, np.int64))]
    save(out, "trilu",
         [helper.make_node("Trilu", ["x"], ["upper"]),
          helper.make_node("Trilu", ["x", "km1"], ["lower"], upper=0),
          helper.make_node("Trilu", ["x", "k2"], ["upper_k2"])],
         [tensor("x", [2, 3, 4, 5])],
         [tensor(name, None) for name in ("upper", "lower", "upper_k2")], k, opset=14)
    minimum = np.finfo(np.float32).min
    save(out, "causal_mask",
         [helper.make_node("ConstantOfShape", ["dims"], ["full"],
                           value=helper.make_tensor("v", TensorProto.FLOAT, [1], [minimum])),
          helper.make_node("Trilu", ["full", "one"], ["mask"]),
          helper.make_node("Add", ["x", "mask"], ["masked"]),
          helper.make_node("Softmax", ["masked"], ["y"], axis=-1)],
         [tensor("x", [1, 2, 4, 4])], [tensor("y", None)],
         [const("dims", np.array([4, 4], np.int64)), const("one", np.array(1, np.int64))],
         opset=14)
    # Of integers computed on the device (ArgMax's indices; an int32 Cast
    # of them): INT32 words, int64 and int32 outputs.
    save(out, "trilu_integers",
         [helper.make_node("ArgMax", ["x"], ["ids"], axis=1, keepdims=0),
          helper.make_node("Trilu", ["ids", "one"], ["upper_ids"]),
          helper.make_node("Cast", ["ids"], ["ids32"], to=TensorProto.INT32),
          helper.make_node("Trilu", ["ids32"], ["lower_ids"], upper=0)],
         [tensor("x", [2, 3, 4, 5])],
         [int64_output("upper_ids"),
          helper.make_tensor_value_info("lower_ids", TensorProto.INT32, None)],
         [const("one", np.array(1, np.int64))], opset=14)
    # Matrices of 2^20 x 2^20: the mask would be built before any bound.
    save(out, "trilu_huge", [helper.make_node("Trilu", ["x"], ["y"])],
         [tensor("x", [1 << 20, 1 << 20])], [tensor("y", None)], opset=14)
    save(out, "trilu_computed_k",
         [helper.make_node("Trilu", ["x", "k"], ["y"])],
         [tensor("x", [3, 3]), helper.make_tensor_value_info("k", TensorProto.INT64, [])],
         [tensor("y", None)], opset=14)


def byte_input_models(out, save, tensor, rng):
    """Models that take an image's bytes (uint8) or int8 values and Cast
    them to float before normalizing and convolving; graph outputs that are
    constants; 8-bit arithmetic and outputs (wrapping modulo 256), a
    quantized model's uint8 input and int8/uint8 outputs. Refused: an int16
    graph output."""
    save(out, "uint8_image",
         [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
          helper.make_node("Mul", ["xf", "scale"], ["xs"]),
          helper.make_node("Sub", ["xs", "mean"], ["xn"]),
          helper.make_node("Conv", ["xn", "w"], ["y"], pads=[1, 1, 1, 1])],
         [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 6, 6])], [tensor("y", None)],
         [const("scale", np.array(1 / 255, np.float32)), const("mean", np.array(0.5, np.float32)),
          const("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32))])
    save(out, "int8_values",
         [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
          helper.make_node("Mul", ["xf", "step"], ["y"])],
         [helper.make_tensor_value_info("x", TensorProto.INT8, [2, 5])], [tensor("y", None)],
         [const("step", np.array(0.125, np.float32))])
    # Graph outputs that are constants once folded: a Shape (int64), a
    # float table, a comparison of constants (bool), beside a computed one.
    save(out, "constant_outputs",
         [helper.make_node("Relu", ["x"], ["y"]),
          helper.make_node("Shape", ["x"], ["shape"]),
          helper.make_node("Identity", ["table_in"], ["table"]),
          helper.make_node("Greater", ["table_in", "half"], ["above"])],
         [tensor("x", [2, 3])],
         [tensor("y", None), int64_output("shape"), tensor("table", None),
          helper.make_tensor_value_info("above", TensorProto.BOOL, None)],
         [const("table_in", np.array([0.25, 0.5, 0.75, 1.0], np.float32)),
          const("half", np.array(0.5, np.float32))])
    save(out, "uint8_passthrough", [helper.make_node("Identity", ["x"], ["y"])],
         [helper.make_tensor_value_info("x", TensorProto.UINT8, [4])],
         [helper.make_tensor_value_info("y", TensorProto.UINT8, [4])])
    save(out, "int16_output", [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.INT16)],
         [tensor("x", [4])], [helper.make_tensor_value_info("y", TensorProto.INT16, [4])])
    # uint8 arithmetic as onnxruntime's: sums and products wrap modulo 256
    # in graph outputs and in a value read on (Cast to float); Clip, Min;
    # Casts to int8 (wrapping) and from float (truncating).
    def u8(name):
        return helper.make_tensor_value_info(name, TensorProto.UINT8, None)
    save(out, "byte_arithmetic",
         [helper.make_node("Add", ["x", "x"], ["sum"]),
          helper.make_node("Mul", ["x", "three"], ["product"]),
          helper.make_node("Add", ["x", "two_hundred"], ["shifted"]),
          helper.make_node("Cast", ["shifted"], ["shifted_float"], to=TensorProto.FLOAT),
          helper.make_node("Clip", ["x", "ten", "two_hundred"], ["clipped"]),
          helper.make_node("Min", ["x", "product"], ["smaller"]),
          helper.make_node("Cast", ["x"], ["signed"], to=TensorProto.INT8),
          helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
          helper.make_node("Mul", ["xf", "scale"], ["xs"]),
          helper.make_node("Cast", ["xs"], ["requantized"], to=TensorProto.UINT8)],
         [helper.make_tensor_value_info("x", TensorProto.UINT8, [2, 64])],
         [u8("sum"), u8("product"), tensor("shifted_float", None), u8("clipped"), u8("smaller"),
          helper.make_tensor_value_info("signed", TensorProto.INT8, None), u8("requantized")],
         [const("three", np.array(3, np.uint8)), const("two_hundred", np.array(200, np.uint8)),
          const("ten", np.array(10, np.uint8)), const("scale", np.array(0.7, np.float32))],
         opset=17)  # Add, Mul and Clip of uint8 (opset 14, Clip 12)
    # A quantized model's edges: a uint8 image dequantized per channel
    # (zero points 128, 0, 255), scaled, quantized into an int8 output
    # (zero point -5) and, per channel, into a uint8 one.
    save(out, "quantized_io",
         [helper.make_node("DequantizeLinear", ["x", "x_s", "x_zp"], ["d"], axis=1),
          helper.make_node("Mul", ["d", "k"], ["m"]),
          helper.make_node("QuantizeLinear", ["m", "q_s", "q_zp"], ["q"]),
          helper.make_node("QuantizeLinear", ["d", "p_s", "p_zp"], ["p"], axis=1)],
         [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 4, 4])],
         [helper.make_tensor_value_info("q", TensorProto.INT8, None), u8("p")],
         [const("x_s", np.array([0.02, 0.05, 0.1], np.float32)),
          const("x_zp", np.array([128, 0, 255], np.uint8)),
          const("k", np.array([1.5, -0.75, 0.5], np.float32).reshape(3, 1, 1)),
          const("q_s", np.array(0.05, np.float32)), const("q_zp", np.array(-5, np.int8)),
          const("p_s", np.array([0.03, 0.04, 0.2], np.float32)),
          const("p_zp", np.array([10, 20, 30], np.uint8))])


def recurrent_weights(rng, prefix, gates, directions, hidden, inputs):
    """W, R and B of a recurrent layer, uniform in [-0.6, 0.6]."""
    def uniform(*shape):
        return rng.uniform(-0.6, 0.6, shape).astype(np.float32)
    return [const(f"{prefix}_w", uniform(directions, gates * hidden, inputs)),
            const(f"{prefix}_r", uniform(directions, gates * hidden, hidden)),
            const(f"{prefix}_b", uniform(directions, 2 * gates * hidden))]


def recurrent_models(out, save, tensor, rng):
    """LSTM, GRU and RNN (opset 14) over x [5 steps, 2 sequences, 3
    features], hidden size 4: forward, reverse and bidirectional; given and
    zero initial states; LSTM peepholes; clip; GRU's linear_before_reset;
    other activations (HardSigmoid and Relu with parameters, LeakyRelu);
    outputs omitted; the batch-first layout (layout 1) of each. Refused:
    sequences shorter than the shape (sequence_lens), an activation the
    device lacks (Affine)."""
    steps, batch, features, hidden = 5, 2, 3, 4

    def state(name, directions):
        return const(name, rng.uniform(-1, 1, (directions, batch, hidden)).astype(np.float32))

    def layer(op, inputs, outputs, **attributes):
        return helper.make_node(op, inputs, outputs, hidden_size=hidden, **attributes)

    lstm = (recurrent_weights(rng, "f", 4, 1, hidden, features)
            + recurrent_weights(rng, "bi", 4, 2, hidden, features)
            + recurrent_weights(rng, "rev", 4, 1, hidden, features)[:2]
            + [state("h0", 1), state("c0", 1),
               const("p", rng.uniform(-1, 1, (2, 3 * hidden)).astype(np.float32))])
    save(out, "lstm",
         [layer("LSTM", ["x", "f_w", "f_r", "f_b", "", "h0", "c0"], ["y", "y_h", "y_c"]),
          layer("LSTM", ["x", "bi_w", "bi_r", "bi_b", "", "", "", "p"],
                ["bi_y", "bi_h", "bi_c"], direction="bidirectional", clip=1.5),
          layer("LSTM", ["x", "rev_w", "rev_r", "", "", "h0"], ["", "rev_h"],
                direction="reverse", activations=["HardSigmoid", "Tanh", "Relu"],
                activation_alpha=[0.25], activation_beta=[0.4])],
         [tensor("x", [steps, batch, features])],
         [tensor(name, None) for name in ("y", "y_h", "y_c", "bi_y", "bi_h", "bi_c", "rev_h")],
         lstm, opset=14)
    gru = (recurrent_weights(rng, "f", 3, 1, hidden, features)
           + recurrent_weights(rng, "bi", 3, 2, hidden, features)
           + recurrent_weights(rng, "rev", 3, 1, hidden, features)[:2] + [state("h0", 1)])
    save(out, "gru",
         [layer("GRU", ["x", "f_w", "f_r", "f_b", "", "h0"], ["y", "y_h"]),
          layer("GRU", ["x", "bi_w", "bi_r", "bi_b"], ["bi_y", "bi_h"],
                direction="bidirectional", linear_before_reset=1),
          layer("GRU", ["x", "rev_w", "rev_r"], ["rev_y"], direction="reverse", clip=0.8)],
         [tensor("x", [steps, batch, features])],
         [tensor(name, None) for name in ("y", "y_h", "bi_y", "bi_h", "rev_y")], gru, opset=14)
    rnn = (recurrent_weights(rng, "f", 1, 1, hidden, features)
           + recurrent_weights(rng, "bi", 1, 2, hidden, features))
    save(out, "rnn",
         [layer("RNN", ["x", "f_w", "f_r", "f_b"], ["y", "y_h"]),
          layer("RNN", ["x", "bi_w", "bi_r", "bi_b"], ["bi_y"], direction="bidirectional",
                activations=["Relu", "LeakyRelu"], activation_alpha=[0.1])],
         [tensor("x", [steps, batch, features])],
         [tensor(name, None) for name in ("y", "y_h", "bi_y")], rnn, opset=14)
    # The same layers batch-first (layout 1), which onnxruntime 1.30's CPU
    # kernels refuse: checked against ONNX's own cases (test_*_batchwise)
    # and here in the lowered program.
    save(out, "lstm_batch_first",
         [layer("LSTM", ["x", "bi_w", "bi_r", "bi_b", "", "h0b", "c0b"],
                ["y", "y_h", "y_c"], direction="bidirectional", layout=1)],
         [tensor("x", [batch, steps, features])],
         [tensor(name, None) for name in ("y", "y_h", "y_c")],
         recurrent_weights(rng, "bi", 4, 2, hidden, features)
         + [const("h0b", rng.uniform(-1, 1, (batch, 2, hidden)).astype(np.float32)),
            const("c0b", rng.uniform(-1, 1, (batch, 2, hidden)).astype(np.float32))], opset=14)
    save(out, "lstm_sequence_lens",
         [layer("LSTM", ["x", "f_w", "f_r", "f_b", "lengths"], ["y"])],
         [tensor("x", [steps, batch, features])], [tensor("y", None)],
         recurrent_weights(rng, "f", 4, 1, hidden, features)
         + [const("lengths", np.array([5, 3], np.int32))], opset=14)
    save(out, "rnn_affine",
         [layer("RNN", ["x", "f_w", "f_r"], ["y"], activations=["Affine"],
                activation_alpha=[0.5], activation_beta=[0.1])],
         [tensor("x", [steps, batch, features])], [tensor("y", None)],
         recurrent_weights(rng, "f", 1, 1, hidden, features)[:2], opset=14)


def einsum_models(out, save, tensor, rng):
    """Einsum as attention and projections are written with torch.einsum:
    scores q·kᵀ and their product with v (batch indices b, h), a
    projection by a constant, a transpose, a sum over two indices, an
    implicit output with an ellipsis, an outer product, a contraction with
    an operand of fewer indices. Refused: a diagonal (an index repeated)."""
    def uniform(*shape):
        return rng.uniform(-1, 1, shape).astype(np.float32)
    save(out, "einsum",
         [helper.make_node("Einsum", ["x", "x"], ["scores"], equation="bhqd,bhkd->bhqk"),
          helper.make_node("Einsum", ["scores", "x"], ["context"], equation="bhqk,bhkd->bhqd"),
          helper.make_node("Einsum", ["x", "w"], ["projected"], equation="bhqd,de->bhqe"),
          helper.make_node("Einsum", ["x"], ["moved"], equation="bhqd->bqhd"),
          helper.make_node("Einsum", ["x"], ["summed"], equation="bhqd -> bd"),
          helper.make_node("Einsum", ["x", "v"], ["inner"], equation="...d,d"),
          helper.make_node("Einsum", ["x", "e"], ["outer"], equation="bhqd,e->bhqde"),
          helper.make_node("Einsum", ["x", "keys"], ["per_batch"], equation="bhqd,bkd->bhqk")],
         [tensor("x", [2, 3, 4, 5])],
         [tensor(name, None) for name in ("scores", "context", "projected", "moved", "summed",
                                          "inner", "outer", "per_batch")],
         [const("w", uniform(5, 6)), const("v", uniform(5)), const("e", uniform(3)),
          const("keys", uniform(2, 7, 5))], opset=12)
    save(out, "einsum_diagonal", [helper.make_node("Einsum", ["x"], ["y"], equation="ii->i")],
         [tensor("x", [3, 3])], [tensor("y", None)], opset=12)


def computed_operand_models(out, save, tensor, rng):
    """CumSum along each axis, exclusive and reversed; and operands real
    graphs compute where the lowering took constants only: Clip's bounds,
    LayerNormalization's scale and bias (one per element, and one value
    broadcast), Gemm's C varying along the rows (computed, and a
    constant), with beta and a Relu after it."""
    def reduce(op, name, output, axes, keepdims):
        return helper.make_node(op, [name], [output], axes=axes, keepdims=keepdims)
    save(out, "cumsum",
         [helper.make_node("CumSum", ["x", "one"], ["along_1"]),
          helper.make_node("CumSum", ["x", "minus_one"], ["exclusive"], exclusive=1),
          helper.make_node("CumSum", ["x", "zero"], ["reversed"], reverse=1),
          helper.make_node("CumSum", ["x", "two"], ["both"], exclusive=1, reverse=1)],
         [tensor("x", [2, 3, 4])],
         [tensor(name, None) for name in ("along_1", "exclusive", "reversed", "both")],
         [const("one", np.array(1, np.int64)), const("minus_one", np.array(-1, np.int64)),
          const("zero", np.array(0, np.int32)), const("two", np.array(2, np.int64))], opset=14)
    save(out, "computed_operands",
         [reduce("ReduceMean", "x", "low", [0, 1, 2], 0),
          reduce("ReduceMax", "x", "max", [0, 1, 2], 0),
          helper.make_node("Mul", ["max", "half"], ["high"]),
          helper.make_node("Clip", ["x", "low", "high"], ["clipped"]),
          helper.make_node("Clip", ["x", "", "high"], ["below"]),
          reduce("ReduceMean", "x", "scale", [0, 1], 0),
          reduce("ReduceMax", "x", "bias", [0, 1], 0),
          helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["normalized"],
                           axis=-1),
          helper.make_node("LayerNormalization", ["x", "high", "low"], ["scalar_affine"],
                           axis=-1),
          helper.make_node("Reshape", ["x", "rows"], ["a"]),
          helper.make_node("ReduceSum", ["a", "axis_1"], ["row_sums"], keepdims=1),
          helper.make_node("Gemm", ["a", "w", "row_sums"], ["gemm"], beta=0.5),
          helper.make_node("Relu", ["gemm"], ["gemm_relu"]),
          helper.make_node("Gemm", ["a", "w", "c_rows"], ["gemm_rows"])],
         [tensor("x", [2, 3, 4])],
         [tensor(name, None) for name in ("clipped", "below", "normalized", "scalar_affine",
                                          "gemm_relu", "gemm_rows")],
         [const("half", np.array(0.5, np.float32)), const("rows", np.array([6, 4], np.int64)),
          const("w", rng.uniform(-1, 1, (4, 5)).astype(np.float32)),
          const("c_rows", rng.uniform(-1, 1, (6, 1)).astype(np.float32)),
          const("axis_1", np.array([1], np.int64))], opset=17)


def broadcast_models(out, save, tensor):
    """Binary operators where no operand has the output's shape (the outer
    product Llama's rotary table is, positions [1, T, 1] by frequencies
    [1, 1, F]; a Sum of three partial shapes), or where the first operand
    broadcasts under Div and Sub (RMSNorm's 1 / sqrt(mean + eps), a [1, C]
    row less a [N, C] tensor): the first operand expanded first."""
    save(out, "broadcast_operands",
         [helper.make_node("ReduceMean", ["x"], ["column"], axes=[2], keepdims=1),
          helper.make_node("ReduceMean", ["x"], ["row"], axes=[1], keepdims=1),
          helper.make_node("Mul", ["column", "row"], ["outer"]),
          helper.make_node("Sub", ["row", "column"], ["difference"]),
          helper.make_node("Abs", ["outer"], ["outer_abs"]),
          helper.make_node("Sqrt", ["outer_abs"], ["root"]),
          helper.make_node("Add", ["root", "eps"], ["root_eps"]),
          helper.make_node("Div", ["one", "root_eps"], ["reciprocal"]),
          helper.make_node("Div", ["row", "x"], ["quotient"]),
          helper.make_node("Sum", ["column", "row", "frequencies"], ["sum"])],
         [tensor("x", [2, 3, 4])],
         [tensor(name, None) for name in ("outer", "difference", "reciprocal", "quotient",
                                          "sum")],
         [const("one", np.array(1.0, np.float32)), const("eps", np.array(1e-3, np.float32)),
          const("frequencies", np.array([[[0.5, 1.0, 2.0, 4.0]]], np.float32))], opset=13)


def constant_selection_models(out, save, tensor):
    """Selections of a computed tensor's elements known when compiling,
    each one GATHER: Slices with negative steps (a channel flip, every
    second column backwards, two axes reversed), Gather of indices not in
    progression, GatherElements and GatherND (with batch_dims) of
    constant indices. Refused: an index table beyond the device's
    operand."""
    def ints(name, values):
        return const(name, np.array(values, np.int64))
    save(out, "constant_selection",
         [helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("Slice", ["r", "s_start", "s_end", "s_axis", "s_step"], ["flip_c"]),
          helper.make_node("Slice", ["r", "b_start", "b_end", "b_axis", "b_step"], ["back2"]),
          helper.make_node("Slice", ["x", "t_start", "t_end", "t_axes", "t_steps"], ["both"]),
          helper.make_node("Gather", ["x", "irregular"], ["picked"], axis=2),
          helper.make_node("GatherElements", ["x", "elements"], ["elements_out"], axis=3),
          helper.make_node("GatherND", ["x", "tuples"], ["nd"]),
          helper.make_node("GatherND", ["x", "per_batch"], ["nd_batch"], batch_dims=1)],
         [tensor("x", [2, 3, 4, 5])],
         [tensor(name, None) for name in ("flip_c", "back2", "both", "picked", "elements_out",
                                          "nd", "nd_batch")],
         [ints("s_start", [-1]), ints("s_end", [-4]), ints("s_axis", [1]), ints("s_step", [-1]),
          ints("b_start", [4]), ints("b_end", [-6]), ints("b_axis", [3]), ints("b_step", [-2]),
          ints("t_start", [10, 2]), ints("t_end", [-10, 0]), ints("t_axes", [0, 2]),
          ints("t_steps", [-1, -1]), ints("irregular", [3, 0, 3]),
          ints("elements", np.arange(2 * 3 * 4 * 2).reshape(2, 3, 4, 2) % 5 - 2),
          ints("tuples", [[0, 1], [1, -1]]), ints("per_batch", [[[2]], [[0]]])], opset=13)
    # Found by the model fuzzer: an irregular Gather over a declared shape
    # of 2^28 rows built its index table before any bound was checked.
    save(out, "gather_huge", [helper.make_node("Gather", ["x", "irregular"], ["y"], axis=1)],
         [tensor("x", [1 << 28, 4])], [tensor("y", None)], [ints("irregular", [3, 0, 3])])


def threshold_models(out, save, tensor):
    """ThresholdedRelu, Shrink (with a bias, and the defaults), IsInf
    (both signs, each, neither) on an input with infinities, and IsNaN of
    the NaNs Sqrt makes of the negative values: COMPAREs and SELECTs."""
    bool_output = TensorProto.BOOL
    outputs = ["thresholded", "shrunk", "shrunk_default"]
    flags = ["inf", "inf_positive", "inf_negative", "inf_neither", "nan"]
    save(out, "thresholds",
         [helper.make_node("ThresholdedRelu", ["x"], ["thresholded"], alpha=0.3),
          helper.make_node("Shrink", ["x"], ["shrunk"], lambd=0.7, bias=0.2),
          helper.make_node("Shrink", ["x"], ["shrunk_default"]),
          helper.make_node("IsInf", ["x"], ["inf"]),
          helper.make_node("IsInf", ["x"], ["inf_positive"], detect_negative=0),
          helper.make_node("IsInf", ["x"], ["inf_negative"], detect_positive=0),
          helper.make_node("IsInf", ["x"], ["inf_neither"], detect_negative=0,
                           detect_positive=0),
          helper.make_node("Sqrt", ["x"], ["root"]),
          helper.make_node("IsNaN", ["root"], ["nan"])],
         [tensor("x", [2, 3, 4])],
         [tensor(name, None) for name in outputs]
         + [helper.make_tensor_value_info(name, bool_output, None) for name in flags])


def extreme_models(out, save, tensor):
    """Hardmax, at opsets 11 and 13; TopK: the 3 largest along the last axis (values and int64 indices,
    ties to the lower index: Relu's zeros), the 2 smallest along axis 1,
    the indices read on by a Cast. Refused: a k over 64 (k rounds of ten
    instructions each)."""
    save(out, "top_k",
         [helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("TopK", ["r", "three"], ["top", "top_indices"]),
          helper.make_node("TopK", ["x", "two"], ["low", "low_indices"], axis=1, largest=0),
          helper.make_node("Cast", ["low_indices"], ["low_f"], to=TensorProto.FLOAT)],
         [tensor("x", [2, 3, 5])],
         [tensor("top", None), int64_output("top_indices"), tensor("low", None),
          tensor("low_f", None)],
         [const("three", np.array([3], np.int64)), const("two", np.array([2], np.int64))])
    # Hardmax: opset 11 coerces x to 2-D at axis 1 ([2, 15]); opset 13
    # takes one axis. Relu's zeros tie.
    save(out, "hardmax",
         [helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("Hardmax", ["r"], ["y"])],
         [tensor("x", [2, 3, 5])], [tensor("y", None)], opset=11)
    save(out, "hardmax_axis",
         [helper.make_node("Hardmax", ["x"], ["y"], axis=1)],
         [tensor("x", [2, 3, 5])], [tensor("y", None)])
    save(out, "top_k_too_many", [helper.make_node("TopK", ["x", "five"], ["v", "i"])],
         [tensor("x", [2, 100])], [tensor("v", None), int64_output("i")],
         [const("five", np.array([65], np.int64))])


def loss_models(out, save, tensor):
    """Operators ONNX defines as functions of others, inlined at load:
    NegativeLogLikelihoodLoss (per-class weights, an ignored class, a mean
    over the weights kept) and SoftmaxCrossEntropyLoss (sum; none with
    its log-probabilities), on targets of a batch of 4 sequences of 3;
    a Bernoulli, whose body draws at random (kept, refused by its name);
    and a model that already uses a name the inlined function makes."""
    targets = np.array([[0, 2, 4], [1, 1, 3], [4, 0, 2], [3, 2, 1]], np.int64)
    weights = np.array([0.5, 1.0, 2.0, 1.5, 0.25], np.float32)
    save(out, "losses",
         [helper.make_node("LogSoftmax", ["x"], ["log_p"], axis=1),
          helper.make_node("NegativeLogLikelihoodLoss", ["log_p", "t", "w"], ["nll"],
                           reduction="mean", ignore_index=2),
          helper.make_node("SoftmaxCrossEntropyLoss", ["x", "t"], ["sce"], reduction="sum"),
          helper.make_node("SoftmaxCrossEntropyLoss", ["x", "t", "w"], ["sce_none", "log_prob"],
                           reduction="none")],
         [tensor("x", [4, 5, 3])],
         [tensor("nll", None), tensor("sce", None), tensor("sce_none", None),
          tensor("log_prob", None)],
         [const("t", targets), const("w", weights)])
    save(out, "bernoulli", [helper.make_node("Bernoulli", ["x"], ["y"])],
         [tensor("x", [4])], [tensor("y", None)], opset=15)
    save(out, "loss_name_taken",
         [helper.make_node("NegativeLogLikelihoodLoss", ["x", "t"], ["nll"]),
          helper.make_node("Neg", ["x"], ["Func_NegativeLogLikelihoodLossNegativeLogLikelihoodLoss"
                                          "const_zero"])],
         [tensor("x", [4, 5])],
         [tensor("nll", None),
          tensor("Func_NegativeLogLikelihoodLossNegativeLogLikelihoodLossconst_zero", None)],
         [const("t", targets[:, 0])])


def high_rank_copy_models(out, save, tensor):
    """Copies of more than COPY_STRIDED's four axes: a Tile of a 4-D
    tensor along every axis (eight), an Expand of rank 6."""
    save(out, "high_rank_copies",
         [helper.make_node("Tile", ["x", "repeats"], ["tiled"]),
          helper.make_node("Reshape", ["x", "six_d"], ["r"]),
          helper.make_node("Expand", ["r", "wide"], ["expanded"])],
         [tensor("x", [2, 3, 4, 5])], [tensor("tiled", None), tensor("expanded", None)],
         [const("repeats", np.array([2, 2, 2, 3], np.int64)),
          const("six_d", np.array([2, 1, 3, 4, 1, 5], np.int64)),
          const("wide", np.array([2, 2, 3, 4, 2, 5], np.int64))])


def unpooling_models(out, save, tensor):
    """SegNet's encoder and decoder step: MaxPool 2 x 2 / 2 with its
    Indices (after a Relu, so windows of zeros tie: the first position
    wins), the pooled values scaled, MaxUnpool back to 9 x 10 (a ninth row
    no window covers); the indices also a graph output."""
    save(out, "max_unpool",
         [helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("MaxPool", ["r"], ["y", "i"], kernel_shape=[2, 2], strides=[2, 2]),
          helper.make_node("Mul", ["y", "two"], ["z"]),
          helper.make_node("MaxUnpool", ["z", "i", "shape"], ["u"], kernel_shape=[2, 2],
                           strides=[2, 2])],
         [tensor("x", [2, 3, 9, 10])],
         [tensor("u", None), int64_output("i"), tensor("y", None)],
         [const("two", np.array(2, np.float32)),
          const("shape", np.array([2, 3, 9, 10], np.int64))])
    # Indices of windows that overlap or leave gaps: ResNet's stem pool
    # (3 x 3 / 2, pads 1; also column-major, storage_order 1), a dilated
    # one in ceil_mode (windows past the end), and 2 x 2 / 1 after a Relu
    # (windows of zeros tie; the first position in row-major order wins).
    save(out, "maxpool_indices_windows",
         [helper.make_node("MaxPool", ["x"], ["stem", "stem_i"], kernel_shape=[3, 3],
                           strides=[2, 2], pads=[1, 1, 1, 1]),
          helper.make_node("MaxPool", ["x"], ["stem_cm", "stem_cm_i"], kernel_shape=[3, 3],
                           strides=[2, 2], pads=[1, 1, 1, 1], storage_order=1),
          helper.make_node("MaxPool", ["x"], ["dilated", "dilated_i"], kernel_shape=[2, 3],
                           strides=[3, 2], dilations=[2, 2], ceil_mode=1),
          helper.make_node("Relu", ["x"], ["r"]),
          helper.make_node("MaxPool", ["r"], ["ties", "ties_i"], kernel_shape=[2, 2])],
         [tensor("x", [2, 3, 9, 10])],
         [tensor("stem", None), int64_output("stem_i"), int64_output("stem_cm_i"),
          tensor("dilated", None),
          int64_output("dilated_i"), tensor("ties", None), int64_output("ties_i")])


def grid_sample_models(out, save, tensor, rng):
    """GridSample of a grid computed from the input as a flow field is
    (Tanh of a Conv, times 1.3: points beyond the image too), in every mode
    (bilinear, nearest, bicubic), padding (zeros, border, reflection) and
    align_corners (0, 1): eighteen outputs of [2, 3, 5, 7] from a
    [2, 3, 6, 8] input. Refused: a mode or padding_mode ONNX does not
    define, a grid of triples."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["flow"]),
             helper.make_node("Tanh", ["flow"], ["bounded"]),
             helper.make_node("Mul", ["bounded", "reach"], ["spread"]),
             helper.make_node("Transpose", ["spread"], ["grid"], perm=[0, 2, 3, 1])]
    outputs = []
    for mode in ("bilinear", "nearest", "bicubic"):
        for padding in ("zeros", "border", "reflection"):
            for align in (0, 1):
                name = f"{mode}_{padding}_{align}"
                nodes.append(helper.make_node("GridSample", ["x", "grid"], [name], mode=mode,
                                              padding_mode=padding, align_corners=align))
                outputs.append(tensor(name, None))
    save(out, "grid_sample", nodes, [tensor("x", [2, 3, 6, 8])], outputs,
         [const("w", (rng.standard_normal((2, 3, 2, 2)) / 2).astype(np.float32)),
          const("reach", np.array(1.3, np.float32))], opset=16)
    # A grid of (x, y, z) triples for a 4-D input.
    save(out, "grid_sample_triples",
         [helper.make_node("GridSample", ["x", "grid"], ["y"], name="bad_sample")],
         [tensor("x", [1, 1, 3, 3]), tensor("grid", [1, 2, 2, 3])], [tensor("y", None)],
         opset=16)
    for name, attributes in (("grid_sample_bad_mode", {"mode": "area"}),
                             ("grid_sample_bad_padding", {"padding_mode": "wrap"})):
        save(out, name, [helper.make_node("GridSample", ["x", "grid"], ["y"], name="bad_sample",
                                          **attributes)],
             [tensor("x", [1, 1, 3, 3]), tensor("grid", [1, 2, 2, 2])], [tensor("y", None)],
             opset=16)


def spectral_models(out, save, tensor):
    """DFT and STFT (opset 17) as MatMuls by constant DFT matrices, of one
    [2, 64, 1] signal: DFT of it as [2, 16, 4, 1] along axis 1 (every bin)
    and 2 (onesided, zero-padded to 16), truncated to 8, and the inverse of
    a complex spectrum (the round trip); STFT with a constant Hann window and
    with a window computed at run time (the Sigmoid of the first 16
    samples), then a log-mel spectrogram (|X|^2 times a MelWeightMatrix
    folded on the host). DFT-20 with the axis an input. Refused: onesided
    of a complex signal, an axis on the (re, im) pairs, a dft_length given
    at run time."""
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(16) / 16)).astype(np.float32)
    nodes = [helper.make_node("Reshape", ["x", "blocks"], ["blocks_x"]),
             helper.make_node("DFT", ["blocks_x"], ["dft_axis1"], axis=1),
             helper.make_node("DFT", ["blocks_x", "sixteen"], ["dft_onesided_padded"], axis=2,
                              onesided=1),
             helper.make_node("DFT", ["blocks_x", "eight"], ["dft_truncated"], axis=1),
             helper.make_node("DFT", ["dft_axis1"], ["round_trip"], axis=1, inverse=1),
             helper.make_node("STFT", ["x", "step", "hann"], ["stft_hann"]),
             helper.make_node("Slice", ["x", "starts", "ends"], ["head"]),
             helper.make_node("Reshape", ["head", "sixteen_1d"], ["head_1d"]),
             helper.make_node("Sigmoid", ["head_1d"], ["window"]),
             helper.make_node("STFT", ["x", "step", "window"], ["stft_window"],
                              onesided=0),
             helper.make_node("Mul", ["stft_hann", "stft_hann"], ["squares"]),
             helper.make_node("ReduceSum", ["squares", "last"], ["power"], keepdims=0),
             helper.make_node("MelWeightMatrix", ["bands", "sixteen", "rate", "low", "high"],
                              ["mel_weights"]),
             helper.make_node("MatMul", ["power", "mel_weights"], ["mel"]),
             helper.make_node("Add", ["mel", "floor"], ["mel_floor"]),
             helper.make_node("Log", ["mel_floor"], ["log_mel"])]
    outputs = ["dft_axis1", "dft_onesided_padded", "dft_truncated", "round_trip", "stft_hann",
               "stft_window", "log_mel"]
    save(out, "spectral", nodes, [tensor("x", [2, 64, 1])],
         [tensor(name, None) for name in outputs],
         [const("blocks", np.array([2, 16, 4, 1], np.int64)),
          const("sixteen", np.array(16, np.int64)), const("eight", np.array(8, np.int64)),
          const("step", np.array(8, np.int64)), const("hann", hann),
          const("starts", np.array([0, 0, 0], np.int64)),
          const("ends", np.array([1, 16, 1], np.int64)),
          const("sixteen_1d", np.array([16], np.int64)),
          const("last", np.array([-1], np.int64)), const("bands", np.array(8, np.int64)),
          const("rate", np.array(8000, np.int64)), const("low", np.array(0.0, np.float32)),
          const("high", np.array(4000.0, np.float32)),
          const("floor", np.array(1e-6, np.float32))], opset=17)
    save(out, "dft_opset20",
         [helper.make_node("DFT", ["x", "", "zero"], ["y"], onesided=1),
          helper.make_node("DFT", ["x"], ["z"], inverse=1)],
         [tensor("x", [6, 10, 1])], [tensor("y", None), tensor("z", None)],
         [const("zero", np.array(0, np.int64))], opset=20)
    for name, node, shape in (
            ("dft_onesided_complex",
             helper.make_node("DFT", ["x"], ["y"], name="bad_dft", onesided=1), [1, 8, 2]),
            ("dft_axis_on_pairs", helper.make_node("DFT", ["x"], ["y"], name="bad_dft", axis=2),
             [1, 8, 2])):
        save(out, name, [node], [tensor("x", shape)], [tensor("y", None)], opset=17)
    # MelWeightMatrix folded into a graph output: fractional triangles, and
    # an upper edge past the spectrum's last bin (refused).
    for name, high in (("mel_weight_matrix", 6000.0), ("mel_beyond_nyquist", 20000.0)):
        save(out, name,
             [helper.make_node("MelWeightMatrix", ["bands", "length", "rate", "low", "high"],
                               ["weights"], name="mel")],
             [], [tensor("weights", None)],
             [const("bands", np.array(5, np.int32)), const("length", np.array(64, np.int32)),
              const("rate", np.array(16000, np.int32)), const("low", np.array(100.0, np.float32)),
              const("high", np.array(high, np.float32))], opset=17)
    save(out, "dft_runtime_length",
         [helper.make_node("DFT", ["x", "n"], ["y"], name="runtime_dft")],
         [tensor("x", [1, 8, 1]), helper.make_tensor_value_info("n", TensorProto.INT64, [])],
         [tensor("y", None)], opset=17)


def loop_models(out, save, tensor):
    """Loop and Scan unrolled at compile time, of x [2, 5, 3]: a Scan summing
    x along axis 1 (its running Tanh a scan output along axis 1), one reading
    x backwards with its outputs stacked last first, a Loop of 4 iterations
    (iteration_num, an outer value, a loop-carried value and a scan output of
    its ReduceMax) whose condition is absent, and one whose condition is a
    constant true given and kept; Scan-8's batch axis. Refused: a Loop whose
    body computes its condition, a Loop of a trip count given at run time, a
    Scan-8 with sequence_lens."""
    def body(name, nodes, inputs, outputs, initializers=()):
        return helper.make_graph(nodes, name, inputs, outputs, list(initializers))

    def state(name):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)

    def scalar(name, kind):
        return helper.make_tensor_value_info(name, kind, [])

    running = body("running", [helper.make_node("Add", ["sum_in", "next"], ["sum_out"]),
                               helper.make_node("Tanh", ["sum_out"], ["squashed_step"])],
                   [state("sum_in"), state("next")], [state("sum_out"), state("squashed_step")])
    carried = body("carried",
                   [helper.make_node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
                    helper.make_node("Mul", ["fi", "tenth"], ["offset"]),
                    helper.make_node("Mul", ["y_in", "half"], ["decayed"]),
                    helper.make_node("Add", ["decayed", "offset"], ["shifted"]),
                    helper.make_node("Add", ["shifted", "sin_x"], ["y_out"]),
                    helper.make_node("ReduceMax", ["y_out"], ["peak"], axes=[1], keepdims=0),
                    helper.make_node("Identity", ["cond_in"], ["cond_out"])],
                   [scalar("i", TensorProto.INT64), scalar("cond_in", TensorProto.BOOL),
                    state("y_in")],
                   [scalar("cond_out", TensorProto.BOOL), state("y_out"), state("peak")],
                   [const("tenth", np.array(0.1, np.float32)),
                    const("half", np.array(0.5, np.float32))])
    kept = body("kept", [helper.make_node("Mul", ["z_in", "z_in"], ["squared"]),
                         helper.make_node("Sub", ["squared", "x"], ["z_out"])],
                [scalar("j", TensorProto.INT64), scalar("go", TensorProto.BOOL), state("z_in")],
                [scalar("always", TensorProto.BOOL), state("z_out")],
                [const("always", np.array(True))])
    nodes = [helper.make_node("Scan", ["zeros", "x"], ["sum", "squashed"], body=running,
                              num_scan_inputs=1, scan_input_axes=[1], scan_output_axes=[1]),
             helper.make_node("Scan", ["zeros", "x"], ["sum_back", "squashed_back"],
                              body=running, num_scan_inputs=1, scan_input_axes=[1],
                              scan_input_directions=[1], scan_output_directions=[1]),
             helper.make_node("Sin", ["x"], ["sin_x"]),
             helper.make_node("Loop", ["four", "", "x"], ["y", "peaks"], body=carried),
             helper.make_node("Mul", ["x", "tenth_outer"], ["small"]),
             helper.make_node("Loop", ["three", "yes", "small"], ["z"], body=kept)]
    outputs = ["sum", "squashed", "sum_back", "squashed_back", "y", "peaks", "z"]
    save(out, "loops", nodes, [tensor("x", [2, 5, 3])],
         [tensor(name, None) for name in outputs],
         [const("zeros", np.zeros((2, 3), np.float32)), const("four", np.array(4, np.int64)),
          const("three", np.array(3, np.int64)), const("yes", np.array(True)),
          const("tenth_outer", np.array(0.1, np.float32))], opset=17)
    # Scan-8: batch axis 0, scan axis 1; the second read backwards.
    save(out, "scan_opset8",
         [helper.make_node("Scan", ["", "zeros", "x"], ["sum", "squashed"], body=running,
                           num_scan_inputs=1),
          helper.make_node("Scan", ["", "zeros", "x"], ["sum_back", "squashed_back"],
                           body=running, num_scan_inputs=1, directions=[1])],
         [tensor("x", [2, 5, 3])],
         [tensor(name, None) for name in ("sum", "squashed", "sum_back", "squashed_back")],
         [const("zeros", np.zeros((2, 3), np.float32))], opset=8)
    save(out, "scan_sequence_lens",
         [helper.make_node("Scan", ["lengths", "zeros", "x"], ["sum", "squashed"], body=running,
                           num_scan_inputs=1, name="ragged")],
         [tensor("x", [2, 5, 3])], [tensor("sum", None), tensor("squashed", None)],
         [const("zeros", np.zeros((2, 3), np.float32)),
          const("lengths", np.array([5, 3], np.int32))], opset=8)
    computed = body("computed", [helper.make_node("Less", ["k", "limit"], ["more"]),
                                 helper.make_node("Add", ["w_in", "w_in"], ["w_out"])],
                    [scalar("k", TensorProto.INT64), scalar("c", TensorProto.BOOL),
                     state("w_in")],
                    [scalar("more", TensorProto.BOOL), state("w_out")],
                    [const("limit", np.array(2, np.int64))])
    save(out, "loop_computed_condition",
         [helper.make_node("Loop", ["four", "", "x"], ["y"], body=computed, name="early")],
         [tensor("x", [2, 3])], [tensor("y", None)], [const("four", np.array(4, np.int64))],
         opset=17)
    save(out, "loop_too_long",
         [helper.make_node("Loop", ["many", "", "x"], ["y"], body=kept, name="long")],
         [tensor("x", [2, 3])], [tensor("y", None)],
         [const("many", np.array(1 << 20, np.int64))], opset=17)
    # A Loop in a Loop's body: each unrolled in turn, their product bounded.
    inner = body("inner", [helper.make_node("Add", ["a_in", "a_in"], ["a_out"]),
                           helper.make_node("Identity", ["ci"], ["co"])],
                 [scalar("ii", TensorProto.INT64), scalar("ci", TensorProto.BOOL),
                  state("a_in")],
                 [scalar("co", TensorProto.BOOL), state("a_out")])
    outer = body("outer", [helper.make_node("Loop", ["many_inner", "", "b_in"], ["b_out"],
                                            body=inner, name="inner_loop"),
                           helper.make_node("Identity", ["cj"], ["cjo"])],
                 [scalar("jj", TensorProto.INT64), scalar("cj", TensorProto.BOOL),
                  state("b_in")],
                 [scalar("cjo", TensorProto.BOOL), state("b_out")])
    save(out, "loop_nested_too_long",
         [helper.make_node("Loop", ["many_outer", "", "x"], ["y"], body=outer, name="outer_loop")],
         [tensor("x", [2, 3])], [tensor("y", None)],
         [const("many_outer", np.array(1000, np.int64)),
          const("many_inner", np.array(1000, np.int64))], opset=17)
    save(out, "loop_runtime_trips",
         [helper.make_node("Loop", ["n", "", "x"], ["y"], body=kept, name="trips")],
         [tensor("x", [2, 3]), helper.make_tensor_value_info("n", TensorProto.INT64, [])],
         [tensor("y", None)], [], opset=17)


def selection_models(out, save, tensor):
    """ReverseSequence and Compress as a GatherElements or a Gather, of x
    [4, 5, 3]: sequences reversed up to constant lengths (batch-major and,
    transposed, time-major) and up to lengths computed from x (1 to 4);
    Compress by a constant condition along axis 1 and of the flattened x.
    Refused: a condition computed at run time (by name), a length beyond
    the time axis (naming the node)."""
    nodes = [helper.make_node("ReverseSequence", ["x", "lengths"], ["reversed"], time_axis=1,
                              batch_axis=0),
             helper.make_node("Transpose", ["x"], ["time_major"], perm=[1, 0, 2]),
             helper.make_node("ReverseSequence", ["time_major", "lengths"],
                              ["reversed_time_major"], time_axis=0, batch_axis=1),
             helper.make_node("Gather", ["x", "zero"], ["first"], axis=2),
             helper.make_node("Gather", ["first", "zero"], ["rows"], axis=1),
             helper.make_node("Sigmoid", ["rows"], ["sigmoid"]),
             helper.make_node("Mul", ["sigmoid", "four"], ["stretched"]),
             helper.make_node("Floor", ["stretched"], ["floored"]),
             helper.make_node("Add", ["floored", "one"], ["lengths_f"]),
             helper.make_node("Cast", ["lengths_f"], ["computed_lengths"], to=TensorProto.INT64),
             helper.make_node("ReverseSequence", ["x", "computed_lengths"],
                              ["reversed_computed"], time_axis=1, batch_axis=0),
             helper.make_node("Compress", ["x", "columns"], ["compressed"], axis=1),
             helper.make_node("Compress", ["x", "flat_mask"], ["compressed_flat"])]
    outputs = ["reversed", "reversed_time_major", "reversed_computed", "compressed",
               "compressed_flat"]
    flat_mask = np.zeros(60, bool)
    flat_mask[[0, 7, 8, 30, 59]] = True
    save(out, "selections", nodes, [tensor("x", [4, 5, 3])],
         [tensor(name, None) for name in outputs],
         [const("lengths", np.array([5, 1, 3, 2], np.int64)), const("zero", np.array(0, np.int64)),
          const("four", np.array(4.0, np.float32)), const("one", np.array(1.0, np.float32)),
          const("columns", np.array([True, False, True, True, False])),
          const("flat_mask", flat_mask)], opset=13)
    save(out, "compress_runtime",
         [helper.make_node("Greater", ["x", "zero"], ["mask"]),
          helper.make_node("Compress", ["x", "mask"], ["y"], name="by_values")],
         [tensor("x", [6])], [tensor("y", None)], [const("zero", np.array(0.0, np.float32))],
         opset=13)
    save(out, "reverse_beyond_time",
         [helper.make_node("ReverseSequence", ["x", "lengths"], ["y"], name="too_long",
                           time_axis=1, batch_axis=0)],
         [tensor("x", [2, 3])], [tensor("y", None)],
         [const("lengths", np.array([3, 4], np.int64))], opset=13)


def determinant_models(out, save, tensor):
    """Det of x [3, 4, 4]'s blocks: 1 x 1, 2 x 2, 3 x 3 and 4 x 4 (Slices of
    x), the batch kept; and of one 2 x 2 matrix (a scalar output). Refused
    by name: a 5 x 5 Det."""
    nodes, outputs, inits = [], [], []
    for n in (1, 2, 3, 4):
        inits += [const(f"end{n}", np.array([n, n], np.int64))]
        nodes += [helper.make_node("Slice", ["x", "start", f"end{n}", "last_two"], [f"block{n}"]),
                  helper.make_node("Det", [f"block{n}"], [f"det{n}"])]
        outputs.append(f"det{n}")
    nodes += [helper.make_node("Gather", ["block2", "zero"], ["first"], axis=0),
              helper.make_node("Det", ["first"], ["det_single"])]
    outputs.append("det_single")
    save(out, "determinants", nodes, [tensor("x", [3, 4, 4])],
         [tensor(name, None) for name in outputs],
         inits + [const("start", np.array([0, 0], np.int64)),
                  const("last_two", np.array([1, 2], np.int64)),
                  const("zero", np.array(0, np.int64))], opset=13)
    save(out, "det_5x5", [helper.make_node("Det", ["x"], ["y"])], [tensor("x", [5, 5])],
         [tensor("y", None)], opset=13)


def empty_tensor_models(out, save, tensor):
    """Tensors without elements: an empty Slice of x [2, 4] (a slice past
    the end) and what reads it: Relu (an empty output), reductions over
    nothing (ReduceSum 0, ReduceProd 1, ReduceMax -inf, ReduceL2 0), a
    MatMul of inner dimension 0 (zeros), a Concat with it (x again);
    and x of a dynamic batch given as 0 (empty_batch): every node reads an
    empty input; a Split into an empty piece and a full one, a Pad of an
    empty tensor."""
    save(out, "empty_tensors",
         [helper.make_node("Slice", ["x", "three", "three", "one"], ["nothing"]),
          helper.make_node("Relu", ["nothing"], ["empty_relu"]),
          helper.make_node("ReduceSum", ["nothing", "one"], ["sum_nothing"], keepdims=0),
          helper.make_node("ReduceProd", ["nothing"], ["prod_nothing"], axes=[1]),
          helper.make_node("ReduceMax", ["nothing"], ["max_nothing"], axes=[1], keepdims=0),
          helper.make_node("ReduceL2", ["nothing"], ["l2_nothing"], axes=[1]),
          helper.make_node("MatMul", ["nothing", "no_rows"], ["product_nothing"]),
          helper.make_node("Concat", ["nothing", "x", "nothing"], ["x_again"], axis=1),
          helper.make_node("Add", ["x_again", "x"], ["twice"])],
         [tensor("x", [2, 4])],
         [tensor(name, None) for name in ("empty_relu", "sum_nothing", "prod_nothing",
                                          "max_nothing", "l2_nothing", "product_nothing",
                                          "twice")],
         [const("three", np.array([3], np.int64)), const("one", np.array([1], np.int64)),
          const("no_rows", np.zeros((0, 3), np.float32))], opset=13)
    save(out, "empty_batch",
         [helper.make_node("Relu", ["x"], ["y"]),
          helper.make_node("ReduceSum", ["x", "zero"], ["total"], keepdims=0)],
         [tensor("x", ["batch", 3])], [tensor("y", None), tensor("total", None)],
         [const("zero", np.array([0], np.int64))], opset=13)
    # A Split with an empty piece and a full one (the empty one copied by
    # no instruction), a Pad of an empty tensor (its value everywhere).
    save(out, "split_empty_piece",
         [helper.make_node("Split", ["x", "pieces"], ["none", "all"], axis=0, name="uneven"),
          helper.make_node("Relu", ["all"], ["y"])],
         [tensor("x", [4])], [tensor("none", None), tensor("y", None)],
         [const("pieces", np.array([0, 4], np.int64))], opset=13)
    save(out, "pad_empty",
         [helper.make_node("Slice", ["x", "two", "two"], ["nothing"]),
          helper.make_node("Pad", ["nothing", "pads", "seven"], ["y"], name="around_nothing")],
         [tensor("x", [4])], [tensor("y", None)],
         [const("two", np.array([2], np.int64)), const("pads", np.array([1, 1], np.int64)),
          const("seven", np.array(7.0, np.float32))],
         opset=13)


def operator_models(out, save, tensor, rng):
    loss_models(out, save, tensor)
    unpooling_models(out, save, tensor)
    high_rank_copy_models(out, save, tensor)
    argmax_models(out, save, tensor)
    normalization_models(out, save, tensor, rng)
    lrn_models(out, save, tensor)
    window_mask_models(out, save, tensor, rng)
    window_1d_models(out, save, tensor, rng)
    uneven_pool_models(out, save, tensor)
    computed_weights_models(out, save, tensor)
    rounding_models(out, save, tensor)
    math_function_models(out, save, tensor)
    half_precision_models(out, save, tensor, rng)
    trilu_models(out, save, tensor)
    byte_input_models(out, save, tensor, rng)
    recurrent_models(out, save, tensor, rng)
    einsum_models(out, save, tensor, rng)
    computed_operand_models(out, save, tensor, rng)
    constant_selection_models(out, save, tensor)
    broadcast_models(out, save, tensor)
    extreme_models(out, save, tensor)
    threshold_models(out, save, tensor)
    # A generator of its own: adding it changes no other graph's draws.
    grid_sample_models(out, save, tensor, np.random.default_rng(21))
    spectral_models(out, save, tensor)
    loop_models(out, save, tensor)
    selection_models(out, save, tensor)
    determinant_models(out, save, tensor)
    empty_tensor_models(out, save, tensor)
