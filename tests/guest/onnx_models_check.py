#!/usr/bin/python3
"""Inputs and verdicts of guest-onnx-models (Debian's python3-numpy).

  onnx_models_check.py inputs WORK [--full] --op-graphs DIR
                                        writes the input .npy files and one
                                        WORK/<case>.case ("MODEL INPUTS DTYPE
                                        [CALIBRATION,...]", INPUTS one file for
                                        the input x, or NAME=FILE,...)
                                        each: the quick set of `make test`, or
                                        every case (make test-onnx); the op-*
                                        cases are the small graphs of the ISA
                                        v1.1 lowerings in DIR (make_test_models.py),
                                        the emb-* cases its transformer encoder
                                        layer on int64 token ids and mask
  onnx_models_check.py compare WORK RESULTS
                                        compares npu-<case>/ with ref-<case>/

Tolerances against onnxruntime's FP32 outputs, every element (an infinity
or NaN only where onnxruntime has the same):
  fp32  |npu - ort| <= 1e-4 + 1e-3 * |ort| (op graphs: 1e-5 + 1e-5 * |ort|;
        the encoder layer on token ids, emb-*, as the models),
        the same top class per row (cls, rec), and for the recognition model
        the same text (greedy CTC decoding with ppocr_keys_v1.txt, passed as
        KEYS in the environment);
        pre-quantized (QDQ) graphs, qdq-*, against onnxruntime running the
        same QDQ file: three of the output's quantization steps (3/32),
        qdq-semantics (quantization alone) exact; the QDQ classifier
        cls-qdq 2e-2 and the same top class; the QOperator graphs, qop-*
        (make_qoperator_models.py), against onnxruntime's integer kernels
        running the same file: three of the output's steps (3/32), the
        dynamically quantized qop-dynamic and qop-embedding 1e-5 + 1e-6 * |ort|,
        the dynamically quantized recognizer rec-rendered-dynamic 5e-3 and
        the rendered text; the
        QOperator classifier cls-qop 2e-2 and the same top class;
  fp16  |npu - ort| <= 1e-2 (cls), 5e-2 (rec probabilities);
  bf16  |npu - ort| <= 5e-2 (cls), 0.25 (rec probabilities);
  int8  (calibrated on other inputs than the one checked) |npu - ort| <= 0.05
        (cls probabilities), 0.25 + 0.05|ort| (op graph int8_convs, outputs up to
        12, its input inside the calibrated ranges), the same
        top class (cls); for rec the same text as FP32 and a mean |npu - ort|
        <= 1e-3 (single steps between two characters move from blank to the
        character and back, by up to 1);
  for the detection map in fp16/bf16 the mean |npu - ort| <= DET_MEAN_ERROR
  (single pixels on the steep edges of the sigmoid move by up to 0.75);
and in every precision, the rendered text image reads as its text, and the
detection map thresholded at 0.3 (DB post-processing) differs from
onnxruntime's in at most DET_MAP_PIXELS of its pixels.
"""
import os
import pathlib
import sys
import zlib

import numpy as np

CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
REC = "ch_PP-OCRv4_rec_infer.onnx"
DET = "ch_PP-OCRv4_det_infer.onnx"
DET_MEAN_ERROR = {"fp16": 5e-3, "bf16": 1e-2, "int8": 3e-2}
REC_MEAN_ERROR_INT8 = 1e-3
DET_MAP_PIXELS = {"fp32": 0.0, "fp16": 0.002, "bf16": 0.01, "int8": 0.03}
TOLERANCE = {  # (atol, rtol) per precision and model
    ("fp32", "cls"): (1e-4, 1e-3), ("fp32", "rec"): (1e-4, 1e-3), ("fp32", "det"): (1e-4, 1e-3),
    ("fp32", "op-"): (1e-5, 1e-5), ("fp32", "emb"): (1e-4, 1e-3),
    ("fp16", "cls"): (1e-2, 0.0), ("fp16", "rec"): (5e-2, 0.0),
    ("fp16", "op-reduce_mean_fp16"): (1e-2, 1e-2),  # its one value, about 3
    ("bf16", "cls"): (5e-2, 0.0), ("bf16", "rec"): (0.25, 0.0),
    ("int8", "cls"): (5e-2, 0.0), ("int8", "op-"): (0.25, 5e-2),
    # Pre-quantized graphs, against onnxruntime running the same QDQ file
    # (its integer kernels, the device float arithmetic): three of the
    # outputs' quantization steps (1/32, make_qdq_models.py); qdq-semantics,
    # quantization alone, exact.
    ("fp32", "qdq"): (3 / 32, 0.0), ("fp32", "cls-qdq"): (2e-2, 0.0),
    # QOperator graphs: onnxruntime's QLinearConv, QLinearMatMul, QGemm, ...
    # requantize their integer accumulators, the device rounds the float
    # result once: three steps, as the QDQ graphs.
    ("fp32", "qop"): (3 / 32, 0.0), ("fp32", "cls-qop"): (2e-2, 0.0),
    ("fp32", "qop-quantized_io"): (1.0, 0.0),
    # Dynamic quantization: the same rounding as onnxruntime's and integer
    # sums exact in FP32 at these sizes; only the order of float products
    # may differ.
    ("fp32", "qop-dynamic"): (1e-5, 1e-6), ("fp32", "qop-embedding"): (1e-5, 1e-6),
    # The dynamically quantized recognizer: its activations' rounding
    # follows float results that may differ from onnxruntime's in the last
    # bit, where one step of a quantized activation moves the output.
    ("fp32", "rec-rendered-dynamic"): (5e-3, 0.0),
}
EXACT = {"qdq-semantics"}
# The small graphs of the ISA v1.1 lowerings (tests/host/onnx/make_test_models.py).
OP_GRAPHS = ["resize_nearest_floor", "resize_linear_sizes", "resize_linear_align_corners",
             "resize_nearest_half_pixel", "conv_transpose", "conv_transpose_bn", "hard_swish",
             "hard_swish_op", "activations", "concat_slice", "transpose_0213", "matmul_batched",
             "conv_transpose_asymmetric", "conv_transpose_output_shape", "conv_transpose_same",
             "matmul_broadcast", "matmul_broadcast_computed", "gelu", "split_expand",
             "pad_softmax", "conv_asymmetric", "fold_mask", "batch_norm", "variadic", "pad_gather",
             "maxpool_ceil", "upsample_v9", "resize_v10", "mask_ops", "prelu", "tile",
             # Weights in a file beside the model (ONNX external data), read by
             # both runtimes relative to the model (make_external_data_models.py).
             "external_data",
             "argmax", "instance_norm", "group_norm_v18", "group_norm_v21", "lrn",
             "window_mask",
             # 1-D convolutions and pooling (lifted to a height of 1), and
             # pooling padded unevenly (SAME, ceil_mode averages).
             "window_1d", "pool_uneven",
             # Floor, Ceil and Sign, on an input with infinities.
             "floor_ceil_sign",
             # A classifier exported in float16: float16 input and output,
             # and float32 ones with Casts (keep_io_types).
             "half_io", "half_keep_io",
             # An MLP in float64: float64 input and output, computed as float.
             "double_io",
             # Trilu of a computed tensor and of integers (int64 and int32
             # outputs), and a causal mask folded on the host.
             "trilu", "trilu_integers", "causal_mask",
             # An image's bytes (uint8) and int8 values, Cast to float.
             "uint8_image", "int8_values",
             # Graph outputs that are constants (int64, float, bool).
             "constant_outputs",
             # LSTM, GRU and RNN unrolled: forward, reverse, bidirectional,
             # peepholes, clip, linear_before_reset, other activations.
             "lstm", "gru", "rnn",
             # Einsum rewritten into Transpose, ReduceSum, Reshape, MatMul.
             "einsum",
             # CumSum as one GEMM_BATCHED; Clip bounds, LayerNormalization's
             # scale and bias and Gemm's C computed at run time.
             "cumsum", "computed_operands",
             # Negative Slice steps, irregular Gather, GatherElements and
             # GatherND of constant indices: one GATHER each.
             "constant_selection",
             # TopK: k rounds of the extreme and its first index; Hardmax.
             "top_k", "hardmax", "hardmax_axis",
             # Resizes RESIZE lacks, one product per axis by its interpolation
             # matrix: cubic, tf_crop_and_resize, 1-D, 3-D, the channel axis.
             "resize_general", "upsample_line",
             # ScatterND, ScatterElements and Scatter of constant indices: a
             # GATHER from data and updates; reductions one round per repeat.
             "scatter", "scatter_v10",
             # OneHot of computed float and int64 indices; EyeLike folded.
             "one_hot",
             # Integer arithmetic on computed values (INT32): RoBERTa's and
             # Llama's position ids from a mask, CumSum, Max/Min, broadcasts.
             "integer_arithmetic", "integer_slice",
             # Floats made int64 and int32 (ISA v1.7), integer Div and Mod;
             # Gather, GatherElements, GatherND, ScatterElements and ScatterND
             # by run-time indices along any axis; index tuples stacked by an
             # integer Concat; integer reductions (last-token pooling).
             "integer_division", "integer_pow", "runtime_gathers", "runtime_scatters", "stacked_tuples",
             "integer_reductions",
             # uint8 arithmetic and outputs, wrapping as onnxruntime's; a
             # quantized model's uint8 input and int8 and uint8 outputs.
             "byte_arithmetic", "quantized_io",
             # Losses ONNX defines as functions of other operators, inlined:
             # NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.
             "losses",
             # Copies of more than four axes: a Tile along every axis of a
             # 4-D tensor, an Expand of rank 6.
             "high_rank_copies",
             # MaxPool's Indices and MaxUnpool (SegNet's 2 x 2 / 2 windows).
             "max_unpool", "maxpool_indices_windows",
             # GridSample of a computed grid (bilinear, nearest and bicubic;
             # zeros, border and reflection padding; align_corners 0 and 1),
             # decomposed at load.
             "grid_sample",
             # 3-D convolutions (depth taps stacked into channels, one CONV2D;
             # uneven and SAME padding by a padded copy), ConvTranspose of
             # volumes (slices, then a product along depth), pooling (two
             # POOL2Ds: planes, then depth), InstanceNormalization of volumes.
             "conv3d", "conv3d_padding", "conv3d_blocks", "conv_transpose3d", "pool3d",
             "instance_norm_5d",
             # Dilated pooling of 1, 2 and 3 dimensions: taps per axis, REDUCE.
             "pool_dilated", "pool3d_dilated",
             # Convolutions beyond one CONV2D (feature maps over 64 MiB, 5e9
             # multiply-adds per image) in bands of rows; elementwise work
             # over 64 MiB in ranges, pooling and Resize in runs of planes,
             # copies in pieces, ConvTranspose in groups of output channels.
             "conv_bands", "conv_many_macs", "copy_pieces", "resize_planes",
             "conv_transpose_channels",
             # Reductions, comparisons, selections and conversions of 66 MiB:
             # ranges that fit, a reduction beyond the operand in partial rows;
             # products whose A exceeds the operand in ranges of rows, whose
             # B or transposed A does by a transposed copy; grouped and
             # depthwise ConvTranspose in parts of one group's channels.
             "reduce_beyond_operand", "masks_beyond_operand", "matmul_rows",
             "gather_beyond_operand", "batched_matmul_beyond_operand",
             "products_beyond_operand", "conv_transpose_groups",
             # An If on the input's channel count (folded to a constant): the
             # branch it takes spliced in, an If inside it too.
             "if_constant",
             # Binary operators whose first operand or both broadcast; Sin and
             # Cos of computed angles (ISA v1.6: rotary tables of positions
             # computed per inference); Tan, the inverse and hyperbolic
             # functions, Erf and Pow of an exponent per element (ISA v1.8).
             "broadcast_operands", "rotary_computed", "math_functions",
             # ThresholdedRelu, Shrink, IsInf, IsNaN: COMPAREs and SELECTs.
             "thresholds",
             # ISA v1.5: hard-swish, hard-sigmoid and ReLU6 fused into the
             # convolutions and products before them.
             "hard_activations", "hard_activations_opset9",
             # HardSigmoids of other alpha and beta (PaddleOCR v2.0's 0.2, a
             # negative one, ...) folded into the products before them, and
             # those that cannot be (a product read twice).
             "hard_sigmoid_affine",
             # ISA v1.5's logarithm family (hw-spec 7.4.5): a LeNet/MNIST-shaped
             # classifier ending in LogSoftmax (its argmax checked too), Log,
             # Softplus, Softsign, Round, Abs, Mish (op and spelled out), Gelu tanh,
             # ReduceLogSum, ReduceLogSumExp.
             "lenet_log_softmax", "log_softmax_axis1", "log_family", "mish_op", "mish_spelled",
             "gelu_tanh", "reduce_log_sum", "reduce_log_sum_exp",
             # Opset 18's Reduce* with the axes an input (noop_with_empty_axes
             # too), and ReduceLogSumExp of slices of -inf and with +inf.
             "reduce_opset18", "reduce_log_sum_exp_infinite",
             # ReduceL1, ReduceL2, ReduceSumSquare (opsets 11, 13, 18, keepdims 0
             # and 1, axes first, middle, last, every one, noop_with_empty_axes)
             # and LpNormalization (p 1 and 2 along each axis), their inputs
             # with all-zero slices along each axis; layer normalization spelled
             # out at opset 18, fused into one LAYERNORM.
             "reduce_norms", "reduce_norms_opset11", "reduce_norms_opset18", "lp_norm",
             "layer_norm_spelled_opset18",
             # ReduceProd along each axis and every one (rows multiplied by
             # halves), opset 18's with the noop, and ReduceLogSum's noop (ln x).
             "reduce_prod", "reduce_prod_opset18",
             # DFT and STFT as MatMuls by constant DFT matrices (padded,
             # truncated, onesided, inverse, windows constant and computed), a
             # log-mel spectrogram with MelWeightMatrix folded; DFT-20.
             "spectral", "dft_opset20",
             # Scan (opsets 17 and 8) and Loop of a constant trip count,
             # unrolled: directions, output axes, outer values, iteration_num.
             "loops", "scan_opset8",
             # ReverseSequence (constant and computed lengths) and Compress
             # (a constant condition) as one GatherElements or Gather.
             "selections",
             # Det of 1 x 1 to 4 x 4 blocks: Leibniz's sum over permutations.
             "determinants",
             # Tensors without elements (an empty Slice), what reads them
             # folded at import: reductions over nothing, an empty output.
             "empty_tensors"]
# Op graphs whose inputs have all-zero slices (with_zero_slices).
ZERO_SLICE_GRAPHS = {"reduce_norms", "reduce_norms_opset11", "reduce_norms_opset18", "lp_norm",
                     "reduce_prod", "reduce_prod_opset18"}
# Op graphs that are classifiers: the NPU's top class must be onnxruntime's.
CLASSIFIER_GRAPHS = {"op-lenet_log_softmax"}
# Pre-quantized graphs (tests/host/onnx/make_qdq_models.py), cases qdq-*.
QDQ_GRAPHS = ["conv", "matmul", "semantics", "opset10"]
# QOperator graphs (tests/host/onnx/make_qoperator_models.py), cases qop-*.
QOP_GRAPHS = ["conv", "matmul", "opset10", "quantized_io", "dynamic", "embedding"]
# Quantized (integer) outputs onnxruntime requantizes from its integer
# accumulators and the device rounds from its float result once: one step
# apart at most (TOLERANCE), not exact like other integer outputs.
QUANTIZED_OUTPUTS = {"qop-quantized_io"}


def text_like(rng, shape):
    """Dark strokes on a light background, normalized as PaddleOCR does."""
    img = np.full(shape, 230.0)
    n, _, h, w = shape
    for b in range(n):
        for _ in range(12):
            x0, y0 = rng.integers(0, w - 12), rng.integers(h // 4, h - h // 4)
            img[b, :, y0 : y0 + 3, x0 : x0 + 10] = rng.integers(0, 60)
    return ((img / 255.0 - 0.5) / 0.5).astype(np.float32)


RENDERED = "knpu 2026 NPU"


def rendered_text(shape, origin=(8, 6), text=RENDERED):
    """`text` drawn in DejaVu Sans (Pillow), black on white."""
    from PIL import Image, ImageDraw, ImageFont  # python3-pil
    _, _, h, w = shape
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 32)
    img = Image.new("RGB", (w, h), "white")
    ImageDraw.Draw(img).text(origin, text, fill="black", font=font)
    pixels = np.asarray(img, dtype=np.float32).transpose(2, 0, 1)[None]
    return (pixels / 255.0 - 0.5) / 0.5


# The cases `make test` runs: each model, a batch, each reduced precision,
# the detection model on a small image, every op graph.
QUICK = ({"cls-text", "cls-batch2", "rec-rendered", "rec-rendered-fp16", "cls-text-bf16",
          "det-small", "op-int8_convs-int8", "cls-text-int8", "rec-rendered-int8",
          "det-small-int8"} | {f"op-{g}" for g in OP_GRAPHS} | {f"qdq-{g}" for g in QDQ_GRAPHS}
         | {f"qop-{g}" for g in QOP_GRAPHS})
# INT8 cases: the input checked and the calibration samples, which are other
# inputs of the same kind (other strokes, another rendered line).
INT8 = {"op-int8_convs": ["calib-op-1", "calib-op-2", "calib-op-3", "calib-op-4"],
        "cls-text": ["calib-cls-1", "calib-cls-2"],
        "rec-rendered": ["calib-rec-1", "calib-rec-2"],
        "det-small": ["calib-det-1"], "det-rendered": ["calib-det-2"]}


def normal(name, shape):
    """A standard normal sample from a generator of its own, seeded by its
    name: the same however many other op graphs draw inputs."""
    return np.random.default_rng(zlib.crc32(name.encode())).standard_normal(shape)


def with_infinities(sample):
    """reduce_log_sum_exp_infinite's input ([2, 3, 4], reduced along the
    last axis): a slice of only -inf (onnxruntime: -inf), slices holding
    some -inf, one holding +inf (+inf); floor_ceil_sign's too."""
    sample[0, 0, :] = -np.inf
    sample[0, 1, 1] = -np.inf
    sample[1, 0, :2] = -np.inf
    sample[1, 2, 3] = np.inf
    return sample


def with_zero_slices(sample):
    """The norm graphs' input ([2, 3, 4]) with an all-zero slice along each
    axis: LpNormalization writes 0 there (onnxruntime: 0 where the norm is
    0), the norms 0."""
    sample[1, 2, :] = 0.0
    sample[0, :, 1] = 0.0
    sample[:, 1, 3] = 0.0
    return sample


def op_graph_inputs(op_graphs):
    """Standard normal inputs of the op graphs' declared input shapes. The
    INT8 graph's is scaled by 0.75, inside the range of its four calibration
    samples (every calibrated tensor, checked with onnxruntime): the case
    checks the INT8 arithmetic; an input beyond the calibrated range
    saturates, which is calibration's concern (docs/onnx-runtime.md, INT8)."""
    import onnx  # python3-onnx
    cases = {}
    for graph in OP_GRAPHS + ["maxpool_indices", "conv_transpose_computed_beyond_operand", "int8_convs",
                                 "reduce_mean_fp16"]:
        path = op_graphs / f"{graph}.onnx"
        # The input's shape only: external data stays where it is.
        declared = onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type
        sample = normal(f"op-{graph}", [d.dim_value for d in declared.shape.dim])
        if graph in ("reduce_log_sum_exp_infinite", "floor_ceil_sign", "thresholds"):
            sample = with_infinities(sample)
        if graph in ZERO_SLICE_GRAPHS:
            sample = with_zero_slices(sample)
        if graph == "int8_convs":
            sample = 0.75 * sample
        if graph == "rotary_computed":
            # Positions of a long context: angles up to thousands of radians.
            sample = np.round(np.abs(sample) * 2000).astype(np.float32)
        if declared.elem_type == onnx.TensorProto.FLOAT16:
            sample = sample.astype(np.float16)
        elif declared.elem_type == onnx.TensorProto.DOUBLE:
            sample = sample.astype(np.float64)
        elif declared.elem_type in (onnx.TensorProto.UINT8, onnx.TensorProto.INT8):
            sample = every_byte(declared.elem_type, sample.shape)
        else:
            sample = sample.astype(np.float32)
        cases[f"op-{graph}"] = (str(path), sample)
    for prefix, graphs in (("qdq", QDQ_GRAPHS), ("qop", QOP_GRAPHS)):
        for graph in graphs:
            path = op_graphs / f"{prefix}_{graph}.onnx"
            declared = onnx.load(path).graph.input[0].type.tensor_type
            shape = [d.dim_value for d in declared.shape.dim]
            if declared.elem_type in (onnx.TensorProto.UINT8, onnx.TensorProto.INT8):
                cases[f"{prefix}-{graph}"] = (str(path), every_byte(declared.elem_type, shape))
                continue
            if declared.elem_type == onnx.TensorProto.INT64:
                cases[f"{prefix}-{graph}"] = (str(path), token_ids(onnx.load(path), shape))
                continue
            sample = normal(f"{prefix}-{graph}", shape)
            # Multiples of 1/16: the semantics graph's x / 0.5 hits ties.
            cases[f"{prefix}-{graph}"] = (str(path), (np.round(sample * 16) / 16).astype(np.float32))
    return cases


def token_ids(model, shape):
    """Row indices across the table the graph's first Gather reads, the
    first and last row among them."""
    from onnx import numpy_helper  # python3-onnx
    gather = next(n for n in model.graph.node if n.op_type == "Gather")
    table = next(i for i in model.graph.initializer if i.name == gather.input[0])
    rows = numpy_helper.to_array(table).shape[0]
    return (np.arange(int(np.prod(shape))) * 7 % rows).reshape(shape).astype(np.int64)


def every_byte(elem_type, shape):
    """Every value of ONNX's uint8 or int8 across `shape`: the extremes and
    values between."""
    import onnx  # python3-onnx
    info = np.iinfo(np.uint8 if elem_type == onnx.TensorProto.UINT8 else np.int8)
    flat = np.linspace(info.min, info.max, int(np.prod(shape))).round()
    return flat.reshape(shape).astype(info.dtype)


# The encoder layer on int64 inputs (make_test_models.py embed_encoder): its
# vocabulary and sequence length, and two inputs, one with padding masked.
ENCODER_VOCAB, ENCODER_SEQ = 64, 8


def encoder_cases(work, op_graphs):
    """The emb-* cases: token ids (int64) across the vocabulary, an all-ones
    mask and one masking the last three tokens (padding); and token ids past
    the vocabulary for the refusal (the job fails at that index)."""
    rng = np.random.default_rng(17)
    model = op_graphs / "embed_encoder.onnx"
    masks = {"full": np.ones((1, ENCODER_SEQ), np.int64),
             "padded": np.array([[1] * (ENCODER_SEQ - 3) + [0] * 3], np.int64)}
    for name, mask in masks.items():
        ids = rng.integers(0, ENCODER_VOCAB, (1, ENCODER_SEQ), dtype=np.int64)
        np.save(work / f"emb-{name}-ids.npy", ids)
        np.save(work / f"emb-{name}-mask.npy", mask)
        (work / f"emb-{name}.case").write_text(
            f"{model} input_ids=emb-{name}-ids.npy,attention_mask=emb-{name}-mask.npy fp32\n")
    # The same layer with the mask Hugging Face's BERT builds (Expand of the
    # int64 mask, Where with finfo.min: ISA v1.4), its padding (bool) and
    # the mask's Unsqueeze (int64) also graph outputs, compared exactly.
    hf = op_graphs / "hf_mask_encoder.onnx"
    (work / "emb-hf-padded.case").write_text(
        f"{hf} input_ids=emb-padded-ids.npy,attention_mask=emb-padded-mask.npy fp32\n")
    bad = np.arange(ENCODER_SEQ, dtype=np.int64)[None]
    bad[0, 5] = ENCODER_VOCAB
    np.save(work / "emb-out-of-range-ids.npy", bad)
    (work / "embed_encoder.onnx").write_bytes(model.read_bytes())
    # A table of 66 MiB, beyond the operand, read by one GATHER as it is.
    large = op_graphs / "large_table_embedding.onnx"
    (work / "emb-large-table.case").write_text(f"{large} input_ids=emb-full-ids.npy fp32\n")
    (work / "large_table_embedding.onnx").write_bytes(large.read_bytes())
    # A mask value beyond 32 bits, which the Cast reads as INT32: refused.
    wide = np.ones((1, ENCODER_SEQ), np.int64)
    wide[0, 3] = 1 << 32
    np.save(work / "emb-wide-mask.npy", wide)
    (work / "hf_mask_encoder.onnx").write_bytes(hf.read_bytes())
    # Gather along axis 1 by an int64 input (a negative id counted from the
    # end), and by ids beyond the axis: that job fails at the index.
    axis1 = op_graphs / "gather_runtime_axis1.onnx"
    np.save(work / "axis1-x.npy", rng.standard_normal((3, 5)).astype(np.float32))
    np.save(work / "axis1-ids.npy", np.array([4, -5], np.int64))
    np.save(work / "axis1-bad-ids.npy", np.array([1, 5], np.int64))
    (work / "op-gather_axis1_ids.case").write_text(f"{axis1} x=axis1-x.npy,cols=axis1-ids.npy fp32\n")
    (work / "gather_runtime_axis1.onnx").write_bytes(axis1.read_bytes())
    # GatherND by int64 pairs of an input.
    nd = op_graphs / "gather_nd_ids.onnx"
    np.save(work / "nd-x.npy", rng.standard_normal((5, 4, 3)).astype(np.float32))
    np.save(work / "nd-ids.npy", np.array([[4, 3], [0, 0], [-1, -4], [2, 1]], np.int64))
    (work / "op-gather_nd_ids.case").write_text(f"{nd} x=nd-x.npy,ids=nd-ids.npy fp32\n")


def inputs(work, full, op_graphs):
    rng = np.random.default_rng(9)
    cases = {
        "cls-normal": (CLS, rng.standard_normal((1, 3, 48, 192))),
        "cls-uniform": (CLS, rng.uniform(-1, 1, (1, 3, 48, 192))),
        "cls-text": (CLS, text_like(rng, (1, 3, 48, 192))),
        "cls-batch2": (CLS, rng.uniform(-1, 1, (2, 3, 48, 192))),
        "rec-uniform": (REC, rng.uniform(-1, 1, (1, 3, 48, 320))),
        "rec-text": (REC, text_like(rng, (1, 3, 48, 320))),
        "rec-rendered": (REC, rendered_text((1, 3, 48, 320))),
        "det-small": (DET, rendered_text((1, 3, 64, 160), origin=(8, 14))),
        "det-uniform": (DET, rng.uniform(-1, 1, (1, 3, 96, 160))),
        "det-rendered": (DET, rendered_text((1, 3, 96, 352), origin=(24, 28))),
    }
    op_cases = op_graph_inputs(op_graphs)  # each in its input's own type
    cases.update(op_cases)
    calibration = {f"calib-op-{i}": normal(f"calib-op-{i}", (1, 3, 8, 8)) for i in range(1, 5)}
    calibration |= {
        "calib-cls-1": rendered_text((1, 3, 48, 192), origin=(4, 6), text="Hello NPU"),
        "calib-cls-2": text_like(rng, (1, 3, 48, 192)),
        "calib-rec-1": rendered_text((1, 3, 48, 320), text="Hello from the NPU"),
        "calib-rec-2": text_like(rng, (1, 3, 48, 320)),
        "calib-det-1": rendered_text((1, 3, 64, 160), origin=(8, 14), text="Hello NPU"),
        "calib-det-2": rendered_text((1, 3, 96, 352), origin=(24, 28), text="Hello from the NPU"),
    }
    for name, data in calibration.items():
        np.save(work / f"{name}.npy", data.astype(np.float32))
    kept = (np.float16, np.uint8, np.int8)  # the inputs' own types; others float32
    for name, (model, data) in cases.items():
        own = data.dtype in kept or name in op_cases
        np.save(work / f"{name}.npy", data if own else data.astype(np.float32))
        # Expected to fail (by the shell script), or run in INT8 only.
        elsewhere = ("op-maxpool_indices", "op-conv_transpose_computed_beyond_operand", "op-int8_convs",
                     "op-reduce_mean_fp16")
        if (full or name in QUICK) and name not in elsewhere:
            (work / f"{name}.case").write_text(f"{model} {name}.npy fp32\n")
    for name in ("cls-text", "rec-rendered", "det-rendered"):
        for dtype in ("fp16", "bf16"):
            if full or f"{name}-{dtype}" in QUICK:
                (work / f"{name}-{dtype}.case").write_text(f"{cases[name][0]} {name}.npy {dtype}\n")
    # A mean beyond the operand in FP16 (partial means, not sums that
    # overflow).
    (work / "op-reduce_mean_fp16.case").write_text(
        f"{op_graphs / 'reduce_mean_fp16.onnx'} op-reduce_mean_fp16.npy fp16\n")
    for name, calib in INT8.items():
        if full or f"{name}-int8" in QUICK:
            files = ",".join(f"{c}.npy" for c in calib)
            (work / f"{name}-int8.case").write_text(f"{cases[name][0]} {name}.npy int8 {files}\n")
    encoder_cases(work, op_graphs)
    # The QDQ classifier (onnx-models-test.sh writes it) on the text-like input.
    (work / "cls-qdq.case").write_text(f"{work / 'cls-qdq.onnx'} cls-text.npy fp32\n")
    # Its QOperator copy likewise.
    (work / "cls-qop.case").write_text(f"{work / 'cls-qop.onnx'} cls-text.npy fp32\n")
    # The dynamically quantized recognizer (onnx-models-test.sh writes it).
    (work / "rec-rendered-dynamic.case").write_text(
        f"{work / 'rec-dynamic.onnx'} rec-rendered.npy fp32\n")
    # Refused at compile time (MaxPool's Indices output), in the guest.
    (work / "maxpool_indices.onnx").write_bytes((op_graphs / "maxpool_indices.onnx").read_bytes())
    (work / "op-maxpool_indices.npy").rename(work / "maxpool_indices.npy")
    # A tensor beyond the device's 64 MiB operand: the job fails naming it.
    (work / "conv_transpose_computed_beyond_operand.onnx").write_bytes(
        (op_graphs / "conv_transpose_computed_beyond_operand.onnx").read_bytes())
    (work / "op-conv_transpose_computed_beyond_operand.npy").rename(
        work / "conv_transpose_computed_beyond_operand.npy")


def ctc_text(probabilities, keys):
    """Greedy CTC: best class per step, repeats merged, blanks (0) dropped."""
    best = probabilities.argmax(-1)
    chars = [keys[i - 1] if i - 1 < len(keys) else " "
             for j, i in enumerate(best) if i != 0 and (j == 0 or best[j - 1] != i)]
    return "".join(chars)


def compare(work, results):
    keys = pathlib.Path(os.environ["KEYS"]).read_text(encoding="utf-8").splitlines()
    failed = 0
    for case in sorted(work.glob("*.case")):
        name = case.stem
        dtype = case.read_text().split()[2]
        kind = name[:3]
        atol, rtol = TOLERANCE.get((dtype, name), TOLERANCE.get((dtype, kind), (np.inf, 0.0)))
        refs = sorted((work / f"ref-{name}").glob("*.npy"))
        if not refs:
            print(f"FAIL {name}: no reference outputs")
            failed += 1
        for ref_file in refs:
            npu_file = results / f"npu-{name}" / ref_file.name
            if not npu_file.exists():
                print(f"FAIL {name}: {ref_file.name} missing from the NPU's outputs")
                failed += 1
                continue
            ref, npu = np.load(ref_file), np.load(npu_file)
            if ref.shape != npu.shape:
                print(f"FAIL {name}: shape {npu.shape}, reference {ref.shape}")
                failed += 1
                continue
            # An infinity or NaN where onnxruntime has the same is no error;
            # anywhere else it is one (a NaN error is beyond every tolerance).
            npu64, ref64 = npu.astype(np.float64), ref.astype(np.float64)
            same = (npu64 == ref64) | (np.isnan(npu64) & np.isnan(ref64))
            err = np.where(same, 0.0, np.abs(npu64 - ref64))
            # A mask or integer output is exact, as is a float output that
            # holds the lowest float32 (a mask's finfo.min).
            exact = (ref.dtype.kind in "biu" and name not in QUANTIZED_OUTPUTS
                     or np.isin(np.finfo(np.float32).min, ref) or name in EXACT)
            if ref.dtype != npu.dtype:
                print(f"FAIL {name} {ref_file.stem}: type {npu.dtype}, reference {ref.dtype}")
                failed += 1
            tolerance = 0.0 if exact else atol + rtol * np.abs(np.where(np.isfinite(ref64), ref64, 0.0))
            bad = ~(err <= tolerance)
            # An output without elements has no error and no top class.
            same_top = npu.size == 0 or np.array_equal(npu.argmax(-1), ref.argmax(-1))
            top_checked = ((dtype == "fp32" or kind == "cls") and kind in ("cls", "rec")
                           or name in CLASSIFIER_GRAPHS)
            ok = not bad.any() and (same_top or not top_checked)
            failed += not ok
            top = (f", top class {'same' if same_top else 'different'}"
                   if kind in ("cls", "rec") or name in CLASSIFIER_GRAPHS else "")
            limit = "exact" if exact else f"tolerance {atol:g} + {rtol:g}|ref|"
            print(f"{'ok' if ok else 'FAIL'} {name} {ref_file.stem}: max abs error {err.max(initial=0.0):.3g} "
                  f"({limit}), {int(bad.sum())} of {err.size} beyond{top}")
            if dtype == "int8":
                print(f"   {name} {ref_file.stem}: mean abs error {err.mean():.3g}")
            if dtype == "int8" and kind == "rec":
                ok = err.mean() <= REC_MEAN_ERROR_INT8
                failed += not ok
                print(f"{'ok' if ok else 'FAIL'} {name} mean abs error {err.mean():.3g} "
                      f"(at most {REC_MEAN_ERROR_INT8:g})")
            if kind == "det" and dtype != "fp32":
                ok = err.mean() <= DET_MEAN_ERROR[dtype]
                failed += not ok
                print(f"{'ok' if ok else 'FAIL'} {name} mean abs error {err.mean():.3g} "
                      f"(at most {DET_MEAN_ERROR[dtype]:g})")
            if kind == "det":
                differ = np.mean((npu > 0.3) != (ref > 0.3))
                ok = differ <= DET_MAP_PIXELS[dtype]
                failed += not ok
                print(f"{'ok' if ok else 'FAIL'} {name} map: {differ:.3%} of the pixels differ "
                      f"at threshold 0.3 (at most {DET_MAP_PIXELS[dtype]:.1%}), "
                      f"{int((ref > 0.3).sum())} text pixels in onnxruntime's")
            if kind == "rec":
                texts = [ctc_text(r[0], keys) for r in (npu, ref)]
                ok = texts[0] == texts[1] or dtype not in ("fp32", "int8")
                if name.startswith("rec-rendered"):
                    ok = ok and texts[0].strip() == RENDERED
                failed += not ok
                print(f"{'ok' if ok else 'FAIL'} {name} text: NPU {texts[0]!r}, onnxruntime {texts[1]!r}")
    print(f"{failed} failed")
    return 1 if failed else 0


def main():
    if sys.argv[1] == "inputs":
        args = sys.argv[3:]
        op_graphs = pathlib.Path(args[args.index("--op-graphs") + 1])
        inputs(pathlib.Path(sys.argv[2]), "--full" in args, op_graphs)
        return 0
    return compare(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]))


if __name__ == "__main__":
    sys.exit(main())
