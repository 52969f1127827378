"""Pre-quantized graphs in the QOperator format (onnxruntime's
quantize_static with QuantFormat.QOperator, the ONNX Model Zoo's -int8
models) for the runtime's host tests and guest-onnx-models: QLinearConv,
QLinearMatMul and com.microsoft's quantized operators between a
QuantizeLinear of the float input and a DequantizeLinear of the output, 8-bit
MaxPool and Flatten between them. Also the malformed ones the runtime
refuses at load, each naming its node. Imported by make_test_models.py."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from make_qdq_models import OUTPUT_STEP

MICROSOFT = "com.microsoft"


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _params(inits, name, scale, zero_point):
    """Scale and zero point initializers; their names."""
    inits += [_const(f"{name}_s", np.float32(scale)), _const(f"{name}_zp", zero_point)]
    return [f"{name}_s", f"{name}_zp"]


def _weights(name, w, axis, inits):
    """int8 symmetric weights per channel along `axis`: their scales and
    their dequantized values, as NumPy computes float32 (q - 0) * s."""
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    scale = (np.abs(moved).max(axis=1) / 127).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    inits += [_const(name, q), _const(f"{name}_s", scale),
              _const(f"{name}_zp", np.zeros(w.shape[axis], np.int8))]
    return scale, q.astype(np.float32) * scale.reshape(shape)


def _bias(name, b, s_x, s_w, inits):
    """int32 bias in accumulator units (s_x * s_w): its dequantized values."""
    scale = (np.float32(s_x) * s_w).astype(np.float32)
    q = np.rint(b / scale).astype(np.int32)
    inits.append(_const(name, q))
    return q.astype(np.float32) * scale


def _ms(op, inputs, outputs, name, **attrs):
    return helper.make_node(op, inputs, outputs, name=name, domain=MICROSOFT, **attrs)


def qoperator_models(out, rng, save, tensor):
    """The graphs (saved with make_test_models.py's `save`)."""
    # Every rewritten operator in one graph: uint8 activations (a QLinearConv
    # with zero point 0 clips as a fused Relu), per-channel int8 weights and
    # int32 biases, MaxPool and Flatten on 8-bit tensors, a QGemm.
    nodes, inits = [], []
    x = _params(inits, "x", 0.02, np.uint8(128))
    nodes.append(helper.make_node("QuantizeLinear", ["x", *x], ["xq"], name="x_quantize"))
    w1 = (rng.standard_normal((8, 3, 3, 3)) / 3).astype(np.float32)
    s1, w1_float = _weights("w1", w1, 0, inits)
    np.save(out / "qop_conv_w1.npy", w1_float)
    np.save(out / "qop_conv_b1.npy",
            _bias("b1", rng.standard_normal(8).astype(np.float32) / 4, 0.02, s1, inits))
    c1 = _params(inits, "c1", 0.01, np.uint8(0))
    nodes += [helper.make_node("QLinearConv", ["xq", *x, "w1", "w1_s", "w1_zp", *c1, "b1"], ["c1q"],
                               pads=[1, 1, 1, 1], name="conv1"),
              helper.make_node("MaxPool", ["c1q"], ["p1q"], kernel_shape=[2, 2], strides=[2, 2],
                               name="pool1")]
    w2 = (rng.standard_normal((4, 8, 3, 3)) / 6).astype(np.float32)
    _weights("w2", w2, 0, inits)
    c2 = _params(inits, "c2", 0.02, np.uint8(128))
    l2 = _params(inits, "l2", 0.015, np.uint8(100))
    a2 = _params(inits, "a2", 0.03, np.uint8(128))
    s2 = _params(inits, "s2", 1.0 / 256, np.uint8(0))
    m2 = _params(inits, "m2", 0.02, np.uint8(128))
    pool = _params(inits, "pool", OUTPUT_STEP, np.uint8(128))
    g = _params(inits, "g", 0.01, np.uint8(128))
    nodes += [
        helper.make_node("QLinearConv", ["p1q", *c1, "w2", "w2_s", "w2_zp", *c2], ["c2q"],
                         pads=[1, 1, 1, 1], name="conv2"),
        _ms("QLinearLeakyRelu", ["c2q", *c2, *l2], ["l2q"], "leaky", alpha=0.1),
        _ms("QLinearAdd", ["c2q", *c2, "l2q", *l2, *a2], ["a2q"], "add"),
        _ms("QLinearSigmoid", ["a2q", *a2, *s2], ["s2q"], "sigmoid"),
        _ms("QLinearMul", ["s2q", *s2, "a2q", *a2, *m2], ["m2q"], "swish"),
        _ms("QLinearAveragePool", ["m2q", *m2, *pool], ["avq"], "avgpool", kernel_shape=[2, 2],
            strides=[1, 1]),
        helper.make_node("DequantizeLinear", ["avq", *pool], ["pooled"], name="pooled_dequantize"),
        _ms("QLinearGlobalAveragePool", ["m2q", *m2, *g], ["g1q"], "gap_swish"),
        _ms("QLinearGlobalAveragePool", ["a2q", *a2, *g], ["g2q"], "gap_add"),
        _ms("QLinearConcat", [*g, "g1q", *g, "g2q", *g], ["catq"], "concat", axis=1),
        helper.make_node("Flatten", ["catq"], ["fq"], name="flatten"),
    ]
    wg = (rng.standard_normal((10, 8)) / 2).astype(np.float32)
    sg, _ = _weights("wg", wg, 0, inits)
    _bias("bg", rng.standard_normal(10).astype(np.float32), 0.01, sg, inits)
    y = _params(inits, "y", OUTPUT_STEP, np.uint8(128))
    nodes += [_ms("QGemm", ["fq", *g, "wg", "wg_s", "wg_zp", "bg", *y], ["yq"], "gemm", transB=1),
              helper.make_node("DequantizeLinear", ["yq", *y], ["y"], name="y_dequantize")]
    save(out, "qop_conv", nodes, [tensor("x", [1, 3, 8, 8])],
         [tensor("y", None), tensor("pooled", None)], inits, domains={MICROSOFT: 1})

    # QLinearMatMul (onnxruntime's kernels: an output of its input's type):
    # uint8 activations of zero point 128, per-column int8 weights, then
    # uint8 weights of zero point 100 per tensor and a uint8 output of zero
    # point 0 (negative values saturate); beside them int8 activations of
    # zero point -3 into an int8 output of zero point 5.
    nodes, inits = [], []
    x = _params(inits, "x", 0.03, np.uint8(128))
    xs = _params(inits, "xs", 0.03, np.int8(-3))
    wm = (rng.standard_normal((16, 12)) / 3).astype(np.float32)
    np.save(out / "qop_matmul_wm.npy", _weights("wm", wm, 1, inits)[1])
    h = _params(inits, "h", 0.05, np.uint8(100))
    wu = rng.integers(0, 256, (12, 6)).astype(np.uint8)
    np.save(out / "qop_matmul_wu.npy",
            (wu.astype(np.int32) - 100).astype(np.float32) * np.float32(0.004))
    inits += [_const("wu", wu), _const("wu_s", np.float32(0.004)), _const("wu_zp", np.uint8(100))]
    y = _params(inits, "y", OUTPUT_STEP, np.uint8(0))
    y2 = _params(inits, "y2", OUTPUT_STEP, np.int8(5))
    nodes += [helper.make_node("QuantizeLinear", ["x", *x], ["xq"], name="x_quantize"),
              helper.make_node("QLinearMatMul", ["xq", *x, "wm", "wm_s", "wm_zp", *h], ["hq"],
                               name="matmul1"),
              helper.make_node("QLinearMatMul", ["hq", *h, "wu", "wu_s", "wu_zp", *y], ["yq"],
                               name="matmul2"),
              helper.make_node("DequantizeLinear", ["yq", *y], ["y"], name="y_dequantize"),
              helper.make_node("QuantizeLinear", ["x", *xs], ["xsq"], name="xs_quantize"),
              helper.make_node("QLinearMatMul", ["xsq", *xs, "wm", "wm_s", "wm_zp", *y2],
                               ["y2q"], name="matmul_int8"),
              helper.make_node("DequantizeLinear", ["y2q", *y2], ["y2"], name="y2_dequantize")]
    save(out, "qop_matmul", nodes, [tensor("x", [2, 16])], [tensor("y", None), tensor("y2", None)],
         inits)

    # Opset 10, where DequantizeLinear takes no axis: QLinearConv's
    # per-channel weights are folded all the same.
    nodes, inits = [], []
    x = _params(inits, "x", 0.05, np.uint8(128))
    w = (rng.standard_normal((4, 2, 1, 1)) / 2).astype(np.float32)
    _weights("w", w, 0, inits)
    y = _params(inits, "y", OUTPUT_STEP, np.uint8(128))
    nodes += [helper.make_node("QuantizeLinear", ["x", *x], ["xq"], name="x_quantize"),
              helper.make_node("QLinearConv", ["xq", *x, "w", "w_s", "w_zp", *y], ["yq"],
                               name="conv"),
              helper.make_node("DequantizeLinear", ["yq", *y], ["y"], name="y_dequantize")]
    save(out, "qop_opset10", nodes, [tensor("x", [1, 2, 5, 5])], [tensor("y", None)], inits,
         opset=10)

    # A fully quantized model's edges: a QLinearConv reading a uint8 graph
    # input and writing a uint8 graph output.
    inits = []
    x = _params(inits, "x", 0.05, np.uint8(128))
    _weights("w", (rng.standard_normal((4, 2, 3, 3)) / 3).astype(np.float32), 0, inits)
    y = _params(inits, "y", 0.04, np.uint8(120))
    save(out, "qop_quantized_io",
         [helper.make_node("QLinearConv", ["x", *x, "w", "w_s", "w_zp", *y], ["y"],
                           pads=[1, 1, 1, 1], name="conv")],
         [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 2, 5, 5])],
         [helper.make_tensor_value_info("y", TensorProto.UINT8, None)], inits)


def dynamic_models(out, rng, save, tensor):
    """Dynamic quantization as onnxruntime's quantize_dynamic writes it:
    each activation quantized at run time from its own range
    (DynamicQuantizeLinear); ConvInteger with per-channel int8 weights,
    MatMulInteger with uint8 weights of a zero point per column, each Cast to
    float and times the two scales; com.microsoft's MatMulIntegerToFloat and
    DynamicQuantizeMatMul. Outputs: the result, the convolution's float
    output, the input's scale and zero point."""
    inits = []
    wc = (rng.standard_normal((8, 3, 3, 3)) / 3).astype(np.float32)
    wc_s = (np.abs(wc).reshape(8, -1).max(axis=1) / 127).astype(np.float32)
    inits += [_const("wc", np.clip(np.rint(wc / wc_s.reshape(8, 1, 1, 1)), -127, 127)
                     .astype(np.int8)),
              _const("wc_s", wc_s.reshape(8, 1, 1)),
              _const("bc", (rng.standard_normal((8, 1, 1)) / 4).astype(np.float32)),
              _const("t_shape", np.array([1, 8, 36], np.int64)),
              _const("wu", rng.integers(0, 256, (8, 12)).astype(np.uint8)),
              _const("wu_s", np.float32(0.01)),
              _const("wu_zp", rng.integers(100, 156, 12).astype(np.uint8)),
              _const("wu_cs", np.linspace(0.005, 0.02, 12).astype(np.float32)),
              _const("bu", (rng.standard_normal(12) / 4).astype(np.float32)),
              _const("wm", rng.integers(-127, 128, (12, 5)).astype(np.int8)),
              _const("wm_s", np.float32(0.02)),
              _const("bm", (rng.standard_normal(5) / 4).astype(np.float32))]
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xzp"], name="x_quantize"),
        helper.make_node("ConvInteger", ["xq", "wc", "xzp"], ["ci"], pads=[1, 1, 1, 1],
                         name="conv"),
        helper.make_node("Cast", ["ci"], ["cf"], to=TensorProto.FLOAT, name="conv_cast"),
        helper.make_node("Mul", ["xs", "wc_s"], ["cs"], name="conv_scales"),
        helper.make_node("Mul", ["cf", "cs"], ["c"], name="conv_scaled"),
        helper.make_node("Add", ["c", "bc"], ["cb"], name="conv_bias"),
        helper.make_node("Relu", ["cb"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "t_shape"], ["rf"], name="flatten"),
        helper.make_node("Transpose", ["rf"], ["t"], perm=[0, 2, 1], name="tokens"),
        helper.make_node("DynamicQuantizeLinear", ["t"], ["tq", "ts", "tzp"], name="t_quantize"),
        helper.make_node("MatMulInteger", ["tq", "wu", "tzp", "wu_zp"], ["mi"], name="matmul"),
        helper.make_node("Cast", ["mi"], ["mf"], to=TensorProto.FLOAT, name="matmul_cast"),
        helper.make_node("Mul", ["ts", "wu_s"], ["ms"], name="matmul_scales"),
        helper.make_node("Mul", ["mf", "ms"], ["m"], name="matmul_scaled"),
        _ms("MatMulIntegerToFloat", ["tq", "wu", "ts", "wu_cs", "tzp", "wu_zp", "bu"], ["m2"],
            "matmul_to_float"),
        _ms("DynamicQuantizeMatMul", ["m", "wm", "wm_s", "", "bm"], ["y"], "dynamic_matmul"),
        helper.make_node("DequantizeLinear", ["tq", "ts", "tzp"], ["td"], name="t_dequantize"),
        helper.make_node("MatMul", ["td", "wf"], ["m3"], name="float_matmul")]
    inits.append(_const("wf", (rng.standard_normal((8, 3)) / 2).astype(np.float32)))
    save(out, "qop_dynamic", nodes, [tensor("x", [1, 3, 6, 6])],
         [tensor("y", None), tensor("m2", None), tensor("m3", None), tensor("c", None),
          tensor("xs", None),
          helper.make_tensor_value_info("xzp", TensorProto.UINT8, None)],
         inits, domains={MICROSOFT: 1})


    # A quantized embedding, as quantize_dynamic writes it: a Gather of the
    # uint8 table by the token ids x, DequantizeLinear of the rows it
    # selects; then a dynamically quantized MatMul of the embeddings.
    inits = [_const("table", rng.integers(0, 256, (50, 16)).astype(np.uint8)),
             _const("table_s", np.float32(0.02)), _const("table_zp", np.uint8(131)),
             _const("we", rng.integers(-127, 128, (16, 4)).astype(np.int8)),
             _const("we_s", np.float32(0.01))]
    nodes = [helper.make_node("Gather", ["table", "x"], ["eq"], name="embed"),
             helper.make_node("DequantizeLinear", ["eq", "table_s", "table_zp"], ["e"],
                              name="embed_dequantize"),
             helper.make_node("DynamicQuantizeLinear", ["e"], ["eqd", "es", "ezp"],
                              name="e_quantize"),
             helper.make_node("MatMulInteger", ["eqd", "we", "ezp"], ["pi"], name="project"),
             helper.make_node("Cast", ["pi"], ["pf"], to=TensorProto.FLOAT, name="project_cast"),
             helper.make_node("Mul", ["es", "we_s"], ["ps"], name="project_scales"),
             helper.make_node("Mul", ["pf", "ps"], ["y"], name="project_scaled")]
    save(out, "qop_embedding", nodes,
         [helper.make_tensor_value_info("x", TensorProto.INT64, [2, 7])],  # token ids
         [tensor("y", None), tensor("e", None)], inits)


def hostile_qoperator_models(out, save, tensor):
    """Malformed QOperator graphs: each refused at load, naming the node.
    Also in the model fuzzer's corpus."""
    def conv(name, w_scale=None, x_zero_point=np.uint8(128), y_zero_point=None, bias=None,
             x_scale=np.float32(0.02)):
        inits = [_const("x_s", x_scale), _const("x_zp", x_zero_point),
                 _const("w", np.ones((8, 3, 1, 1), np.int8)),
                 _const("w_s", np.full(8, 0.1, np.float32) if w_scale is None else w_scale),
                 _const("w_zp", np.zeros(np.shape(w_scale if w_scale is not None else
                                                  np.zeros(8)), np.int8)),
                 _const("y_s", np.float32(0.1)),
                 _const("y_zp", np.uint8(0)) if y_zero_point is None else y_zero_point]
        inputs = ["xq", "x_s", "x_zp", "w", "w_s", "w_zp", "y_s", "y_zp"]
        if bias is not None:
            inits.append(_const("b", bias))
            inputs.append("b")
        save(out, name,
             [helper.make_node("QuantizeLinear", ["x", "x_s", "x_zp"], ["xq"], name="quantize"),
              helper.make_node("QLinearConv", inputs, ["yq"], name="bad_conv"),
              helper.make_node("DequantizeLinear", ["yq", "y_s", "y_zp"], ["y"],
                               name="dequantize")],
             [tensor("x", [1, 3, 4, 4])], [tensor("y", None)], inits)
    conv("qop_scale_zero", w_scale=np.array([0.1] * 7 + [0.0], np.float32))
    conv("qop_scale_shape", w_scale=np.full(3, 0.1, np.float32))
    conv("qop_activation_per_channel", x_scale=np.full(3, 0.02, np.float32))
    conv("qop_bias_type", bias=np.zeros(8, np.float32))
    conv("qop_bias_shape", bias=np.zeros(3, np.int32))
    # A uint8 zero point of 300 (int32_data holds any int32).
    conv("qop_zero_point_outside_type",
         y_zero_point=helper.make_tensor("y_zp", TensorProto.UINT8, [], [300]))

    def unary(name, node, inputs, inits, x_type=TensorProto.FLOAT):
        save(out, name, [node], [helper.make_tensor_value_info(n, x_type, [1, 4, 2, 2])
                                 for n in inputs], [tensor("y", None)], inits,
             domains={MICROSOFT: 1})
    params = [_const("s", np.float32(0.1)), _const("zp", np.uint8(0))]
    # A float graph input where a quantized one belongs.
    unary("qop_float_input",
          _ms("QLinearSigmoid", ["q", "s", "zp", "s", "zp"], ["y"], "bad_sigmoid"), ["q"],
          params)
    # A com.microsoft operator with an input count its schema does not take.
    save(out, "qop_input_count",
         [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="quantize"),
          _ms("QLinearAdd", ["q", "s", "zp", "q", "s"], ["aq"], "bad_add"),
          helper.make_node("DequantizeLinear", ["aq", "s", "zp"], ["y"], name="dequantize")],
         [tensor("x", [4])], [tensor("y", None)], params, domains={MICROSOFT: 1})
    save(out, "qop_channels_last",
         [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="quantize"),
          _ms("QLinearGlobalAveragePool", ["q", "s", "zp", "s", "zp"], ["gq"], "bad_pool",
              channels_last=1),
          helper.make_node("DequantizeLinear", ["gq", "s", "zp"], ["y"], name="dequantize")],
         [tensor("x", [1, 2, 2, 4])], [tensor("y", None)], params, domains={MICROSOFT: 1})
    # An int8 zero point for a uint8 tensor.
    save(out, "qop_zero_point_type",
         [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="quantize"),
          _ms("QLinearSigmoid", ["q", "s", "zp_i8", "s", "zp"], ["sq"], "bad_sigmoid"),
          helper.make_node("DequantizeLinear", ["sq", "s", "zp"], ["y"], name="dequantize")],
         [tensor("x", [4])], [tensor("y", None)], params + [_const("zp_i8", np.int8(0))],
         domains={MICROSOFT: 1})
    # A zero point of MatMulInteger's A per row (ONNX's form; onnxruntime
    # takes one value).
    save(out, "qop_dynamic_per_row",
         [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xzp"], name="quantize"),
          helper.make_node("MatMulInteger", ["xq", "w", "rows_zp"], ["acc"], name="bad_matmul"),
          helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT, name="cast"),
          helper.make_node("Mul", ["accf", "xs"], ["y"], name="scale")],
         [tensor("x", [2, 4])], [tensor("y", None)],
         [_const("w", np.ones((4, 3), np.uint8)), _const("rows_zp", np.array([3, 4], np.uint8))])
    # A DequantizeLinear of a quantized activation by scales per axis.
    save(out, "qop_dynamic_dequantize_per_axis",
         [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xzp"], name="quantize"),
          helper.make_node("DequantizeLinear", ["xq", "axis_s"], ["y"], axis=1,
                           name="bad_dequantize")],
         [tensor("x", [2, 4])], [tensor("y", None)],
         [_const("axis_s", np.full(4, 0.1, np.float32))])
    # A dynamically quantized LSTM (quantize_dynamic's DynamicQuantizeLSTM).
    save(out, "qop_dynamic_lstm",
         [_ms("DynamicQuantizeLSTM", ["x", "w", "r", "", "", "", "", "", "s", "zp", "s", "zp"],
              ["y"], "bad_lstm", hidden_size=2)],
         [tensor("x", [1, 1, 2])], [tensor("y", None)],
         [_const("w", np.ones((1, 2, 8), np.int8)), _const("r", np.ones((1, 2, 8), np.int8)),
          _const("s", np.float32(0.1)), _const("zp", np.int8(0))], domains={MICROSOFT: 1})
