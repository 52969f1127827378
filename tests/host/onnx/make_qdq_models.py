"""Pre-quantized (QDQ) graphs for the runtime's host tests and
guest-onnx-models, as onnxruntime's quantize_static writes them:
QuantizeLinear -> DequantizeLinear on activations, DequantizeLinear of int8
weights (per-channel, zero point 0) and of int32 biases (scale s_x * s_w).
Also the malformed ones the runtime refuses at load, each naming its node.
Imported by make_test_models.py."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

# Every QDQ graph's outputs are dequantized with this scale: guest-onnx-models
# states its tolerance in these steps.
OUTPUT_STEP = 1.0 / 32


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _qdq(name, x, scale, zero_point, nodes, inits, dq_zero_point=None, dq_scale=None):
    """Q then DQ of activation x; returns the dequantized value's name."""
    inits += [_const(f"{name}_s", np.float32(scale)), _const(f"{name}_zp", zero_point)]
    dq_s, dq_zp = f"{name}_s", f"{name}_zp"
    if dq_scale is not None:
        inits.append(_const(f"{name}_dq_s", np.float32(dq_scale)))
        dq_s = f"{name}_dq_s"
    if dq_zero_point is not None:
        inits.append(_const(f"{name}_dq_zp", dq_zero_point))
        dq_zp = f"{name}_dq_zp"
    nodes += [helper.make_node("QuantizeLinear", [x, f"{name}_s", f"{name}_zp"], [f"{name}_q"],
                               name=f"{name}_quantize"),
              helper.make_node("DequantizeLinear", [f"{name}_q", dq_s, dq_zp], [f"{name}_dq"],
                               name=f"{name}_dequantize")]
    return f"{name}_dq"


def _weights(name, w, axis, nodes, inits):
    """int8 symmetric weights per channel along `axis`, dequantized."""
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    scale = (np.abs(moved).max(axis=1) / 127).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    inits += [_const(f"{name}_q", q), _const(f"{name}_s", scale),
              _const(f"{name}_zp", np.zeros(w.shape[axis], np.int8))]
    nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_s", f"{name}_zp"],
                                  [name], axis=axis, name=f"{name}_dequantize"))
    return scale, q


def _bias(name, b, s_x, s_w, nodes, inits):
    """int32 bias in accumulator units (scale s_x * s_w), dequantized."""
    scale = (np.float32(s_x) * s_w).astype(np.float32)
    inits += [_const(f"{name}_q", np.rint(b / scale).astype(np.int32)), _const(f"{name}_s", scale)]
    nodes.append(helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_s"], [name], axis=0,
                                  name=f"{name}_dequantize"))


def qdq_models(out, rng, save, tensor):
    """The graphs (saved with make_test_models.py's `save`)."""
    # Conv (uint8 activations, zero point 128) + Relu -> Conv (int8, zero
    # point 0) -> Gemm, each weight per channel: quantize_static's layout.
    nodes, inits = [], []
    x = _qdq("x", "x", 0.02, np.uint8(128), nodes, inits)
    w1 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32) / 3
    s1, _ = _weights("w1", w1, 0, nodes, inits)
    _bias("b1", rng.standard_normal(8).astype(np.float32) / 4, 0.02, s1, nodes, inits)
    nodes += [helper.make_node("Conv", [x, "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
              helper.make_node("Relu", ["c1"], ["r1"], name="relu1")]
    r1 = _qdq("r1", "r1", 0.01, np.uint8(0), nodes, inits)
    w2 = rng.standard_normal((4, 8, 3, 3)).astype(np.float32) / 6
    s2, _ = _weights("w2", w2, 0, nodes, inits)
    nodes.append(helper.make_node("Conv", [r1, "w2"], ["c2"], strides=[2, 2], name="conv2"))
    c2 = _qdq("c2", "c2", 0.02, np.int8(0), nodes, inits)
    nodes.append(helper.make_node("Flatten", [c2], ["f"], name="flatten"))
    f = _qdq("f", "f", 0.02, np.int8(0), nodes, inits)
    wg = (rng.standard_normal((10, 36)) / 6).astype(np.float32)
    sg, _ = _weights("wg", wg, 0, nodes, inits)
    _bias("bg", rng.standard_normal(10).astype(np.float32), 0.02, sg, nodes, inits)
    nodes.append(helper.make_node("Gemm", [f, "wg", "bg"], ["g"], transB=1, name="gemm"))
    _qdq("y", "g", OUTPUT_STEP, np.int8(0), nodes, inits)
    nodes.append(helper.make_node("Identity", ["y_dq"], ["y"], name="output"))
    save(out, "qdq_conv", nodes, [tensor("x", [1, 3, 8, 8])], [tensor("y", None)], inits)

    # MatMul with uint8 weights of zero point 100 (per tensor), int8
    # activations of zero point -3, and an output quantized to uint8 with
    # zero point 0: negative values saturate to 0.
    nodes, inits = [], []
    x = _qdq("x", "x", 0.03, np.int8(-3), nodes, inits)
    wm = rng.integers(0, 256, (16, 12)).astype(np.uint8)
    inits += [_const("wm_q", wm), _const("wm_s", np.float32(0.004)),
              _const("wm_zp", np.uint8(100))]
    nodes += [helper.make_node("DequantizeLinear", ["wm_q", "wm_s", "wm_zp"], ["wm"],
                               name="wm_dequantize"),
              helper.make_node("MatMul", [x, "wm"], ["m"], name="matmul")]
    _qdq("y", "m", OUTPUT_STEP, np.uint8(0), nodes, inits)
    save(out, "qdq_matmul", nodes, [tensor("x", [2, 16])], [tensor("y_dq", None)], inits)

    # Quantization alone, exact: saturation at both ends of int8 with zero
    # point 50 (x up to 4 standard deviations, 0.02 per step), a
    # DequantizeLinear with another scale and zero point than its
    # QuantizeLinear, and ties of x / s (guest-onnx-models feeds multiples
    # of 1/16: x / 0.5 and 4x / 0.5 hit halves).
    nodes, inits = [], []
    _qdq("a", "x", 0.02, np.int8(50), nodes, inits)
    _qdq("b", "x", 0.5, np.uint8(7), nodes, inits, dq_zero_point=np.uint8(3), dq_scale=0.25)
    nodes.append(helper.make_node("Mul", ["x", "four"], ["x4"], name="times_four"))
    _qdq("c", "x4", 0.5, np.int8(0), nodes, inits)
    inits.append(_const("four", np.float32(4)))
    save(out, "qdq_semantics", nodes, [tensor("x", [4, 64])],
         [tensor("a_dq", None), tensor("b_dq", None), tensor("c_dq", None)], inits)

    # Opset 10: per-tensor parameters only, Clip with attributes, and a
    # QuantizeLinear of a constant (folded).
    nodes, inits = [], []
    x = _qdq("x", "x", 0.05, np.uint8(128), nodes, inits)
    inits += [_const("k", (rng.standard_normal((1, 4, 1, 1))).astype(np.float32)),
              _const("k_s", np.float32(0.01)), _const("k_zp", np.int8(0))]
    nodes += [helper.make_node("QuantizeLinear", ["k", "k_s", "k_zp"], ["k_q"], name="k_quantize"),
              helper.make_node("DequantizeLinear", ["k_q", "k_s", "k_zp"], ["k_dq"],
                               name="k_dequantize"),
              helper.make_node("Mul", [x, "k_dq"], ["m"], name="scale")]
    _qdq("y", "m", OUTPUT_STEP, np.uint8(128), nodes, inits)
    save(out, "qdq_opset10", nodes, [tensor("x", [1, 4, 5, 5])], [tensor("y_dq", None)], inits,
         opset=10)

    # Folded weights checked on the host: per-axis (axis 1, uint8 with zero
    # points), negative axis, int32.
    w = rng.integers(0, 256, (2, 3, 2)).astype(np.uint8)
    s = np.array([0.5, 0.25, 0.125], np.float32)
    zp = np.array([0, 128, 255], np.uint8)
    np.save(out / "qdq_fold_axis1.npy",
            ((w.astype(np.int32) - zp.reshape(1, 3, 1)) * s.reshape(1, 3, 1)).astype(np.float32))
    bias = np.array([-7, 0, 2**20 + 1], np.int32)
    np.save(out / "qdq_fold_int32.npy", (bias.astype(np.float32) * np.float32(0.001)))
    save(out, "qdq_fold",
         [helper.make_node("DequantizeLinear", ["w", "s", "zp"], ["wf"], axis=-2, name="w_dq"),
          helper.make_node("DequantizeLinear", ["bias", "bs"], ["bf"], name="bias_dq"),
          helper.make_node("Add", ["x", "wf"], ["y"], name="add_w"),
          helper.make_node("Add", ["bf", "x2"], ["z"], name="add_b")],
         [tensor("x", [2, 3, 2]), tensor("x2", [3])], [tensor("y", None), tensor("z", None)],
         [_const("w", w), _const("s", s), _const("zp", zp), _const("bias", bias),
          _const("bs", np.float32(0.001))])


def hostile_qdq_models(out, save, tensor):
    """Malformed QDQ graphs: each refused at load, naming the node. Also in
    the model fuzzer's corpus."""
    def dq_weight(name, scale, zero_point=np.int8(0), weight=None, axis=None, extra=()):
        weight = np.ones((2, 3), np.int8) if weight is None else weight
        attrs = {} if axis is None else {"axis": axis}
        inits = [_const("w_q", weight), _const("w_s", scale), _const("w_zp", zero_point)]
        save(out, name,
             [helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_zp"], ["w"],
                               name="bad_dequantize", **attrs),
              helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
             [tensor("x", [1, 2])], [tensor("y", None)], inits + list(extra))
    dq_weight("qdq_scale_zero", np.float32(0))
    dq_weight("qdq_scale_negative", np.float32(-0.5))
    dq_weight("qdq_scale_nan", np.float32(np.nan))
    dq_weight("qdq_scale_infinite", np.float32(np.inf))
    dq_weight("qdq_axis_length", np.full(2, 0.1, np.float32), np.zeros(2, np.int8), axis=1)
    dq_weight("qdq_axis_outside", np.full(3, 0.1, np.float32), np.zeros(3, np.int8), axis=2)
    dq_weight("qdq_zero_point_shape", np.full(3, 0.1, np.float32), np.zeros(2, np.int8), axis=1)
    # A uint8 zero point of 300 (int32_data holds any int32).
    save(out, "qdq_zero_point_outside_type",
         [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="bad_quantize"),
          helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], name="dequantize")],
         [tensor("x", [4])], [tensor("y", None)],
         [_const("s", np.float32(0.1)), helper.make_tensor("zp", TensorProto.UINT8, [], [300])])
    # int16 weights: ONNX's schema of opset 13 refuses the type.
    save(out, "qdq_int16",
         [helper.make_node("DequantizeLinear", ["w_q", "w_s"], ["w"], name="bad_dequantize"),
          helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
         [tensor("x", [1, 2])], [tensor("y", None)],
         [_const("w_q", np.ones((2, 3), np.int16)), _const("w_s", np.float32(0.1))])
    # A QuantizeLinear's output read by a Relu, and as a graph output.
    save(out, "qdq_quantized_read",
         [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="bad_quantize"),
          helper.make_node("Relu", ["q"], ["y"], name="relu")],
         [tensor("x", [4])], [helper.make_tensor_value_info("y", TensorProto.INT8, None)],
         [_const("s", np.float32(0.1)), _const("zp", np.int8(0))])
    save(out, "qdq_quantized_output",
         [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="bad_quantize")],
         [tensor("x", [4])], [helper.make_tensor_value_info("q", TensorProto.INT8, None)],
         [_const("s", np.float32(0.1)), _const("zp", np.int8(0))])
    # A scale computed at run time; per-axis scales on a computed tensor; a
    # DequantizeLinear of an int8 graph input.
    save(out, "qdq_computed_scale",
         [helper.make_node("Abs", ["t"], ["s"], name="abs"),
          helper.make_node("QuantizeLinear", ["x", "s"], ["q"], name="bad_quantize"),
          helper.make_node("DequantizeLinear", ["q", "s"], ["y"], name="dequantize")],
         [tensor("x", [4]), tensor("t", [])], [tensor("y", None)])
    save(out, "qdq_per_axis_activation",
         [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], axis=1, name="bad_quantize"),
          helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], axis=1,
                           name="dequantize")],
         [tensor("x", [1, 3, 2])], [tensor("y", None)],
         [_const("s", np.full(3, 0.1, np.float32)), _const("zp", np.zeros(3, np.int8))])
    # Per-axis scales on an input of unknown rank; an int16 input.
    save(out, "qdq_per_axis_unknown_rank",
         [helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], axis=1,
                           name="bad_dequantize")],
         [helper.make_tensor_value_info("q", TensorProto.INT8, None)], [tensor("y", None)],
         [_const("s", np.full(3, 0.1, np.float32)), _const("zp", np.zeros(3, np.int8))])
    save(out, "qdq_int16_input",
         [helper.make_node("DequantizeLinear", ["q", "s"], ["y"], name="bad_dequantize")],
         [helper.make_tensor_value_info("q", TensorProto.INT16, [4])], [tensor("y", None)],
         [_const("s", np.float32(0.1))])
