// Building kernels in C++:
//
//   npu::KernelBuilder b("fill_copy");
//   auto dst = b.arg_buffer("dst");
//   auto src = b.arg_buffer("src");
//   auto bytes = b.arg_scalar("bytes");
//   b.dma_fill(src, bytes, 0xA5A5A5A5).dma_copy(dst, src, bytes);
//   npu::KernelImage image = b.build();
//
// Every instruction is checked when it is added (std::invalid_argument).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "npu/isa.hpp"
#include "npu/kernel_image.hpp"

namespace npu {

// An argument slot that holds a buffer's device address.
struct BufferArg {
  std::uint32_t slot;
};

// An argument slot that holds a number.
struct ScalarArg {
  std::uint32_t slot;
};

// A value operand: an immediate or a scalar argument.
class Value {
 public:
  constexpr Value(std::uint32_t immediate) : operand_(isa::Operand::immediate(immediate)) {}
  constexpr Value(ScalarArg argument) : operand_(isa::Operand::argument(argument.slot)) {}
  [[nodiscard]] constexpr isa::Operand operand() const { return operand_; }

 private:
  isa::Operand operand_;
};

// A float operand: an immediate binary32 or a scalar argument.
class FloatValue {
 public:
  FloatValue(float immediate);
  constexpr FloatValue(ScalarArg argument) : operand_(isa::Operand::argument(argument.slot)) {}
  [[nodiscard]] constexpr isa::Operand operand() const { return operand_; }

 private:
  isa::Operand operand_;
};

// ELTWISE operations (hw-spec 7.4); pow and fmod are v1.8's (7.4.8),
// floats only.
enum class EltwiseOp : std::uint8_t { add, sub, mul, div, max, min, pow, fmod };
// COMPARE (hw-spec 7.4.4, v1.4): mask[i] = a[i] OP b[i mod b_count], one
// byte 1 or 0 per element (NaN unordered: only ne is true).
enum class CompareOp : std::uint8_t { eq, ne, lt, le, gt, ge };
// Fused activations (hw-spec 7.3); hardswish, hardsigmoid and relu6 are
// v1.5's (7.4.5): a kernel using them declares ISA v1.5.
enum class Activation : std::uint8_t {
  none,
  relu,
  gelu,
  silu,
  sigmoid,
  tanh,
  hardswish,
  hardsigmoid,
  relu6
};
enum class PoolMode : std::uint8_t { max, average, average_with_padding };
enum class ReduceOp : std::uint8_t { sum, mean, max, min };
// ACTIVATION_PARAM functions (hw-spec 7.4.1, v1.1; log to round v1.5,
// 7.4.5, sin and cos v1.6, 7.4.6, tan to erf v1.8, 7.4.8; alpha and beta
// 0).
enum class ParamActivation : std::uint8_t {
  hardsigmoid,  // max(0, min(1, alpha*x + beta))
  hardswish,    // x * hardsigmoid(x)
  clip,         // min(max(x, alpha), beta)
  sqrt,         // alpha and beta 0
  exp,          // alpha and beta 0
  pow,          // alpha * x^beta
  leaky_relu,   // x >= 0 ? x : alpha*x; beta 0
  log,          // ln x (v1.5)
  softplus,     // ln(1 + e^x) (v1.5)
  mish,         // x * tanh(softplus(x)) (v1.5)
  gelu_tanh,    // GELU's tanh approximation (v1.5)
  abs,          // |x| (v1.5)
  round,        // to nearest, ties to even (v1.5)
  sin,          // (v1.6)
  cos,          // (v1.6)
  tan,          // (v1.8)
  asin,         // (v1.8)
  acos,         // (v1.8)
  atan,         // (v1.8)
  sinh,         // (v1.8)
  cosh,         // (v1.8)
  asinh,        // (v1.8)
  acosh,        // (v1.8)
  atanh,        // (v1.8)
  erf,          // (v1.8)
};
enum class ResizeMode : std::uint8_t { nearest, linear };
enum class ResizeCoordinates : std::uint8_t {
  half_pixel,
  asymmetric,
  align_corners,
  pytorch_half_pixel
};
enum class NearestRounding : std::uint8_t { round_prefer_floor, round_prefer_ceil, floor, ceil };

struct GemmOperands {
  BufferArg a, b, c;
  std::optional<BufferArg> bias = std::nullopt;
  Value m, n, k;
  Value lda, ldb, ldc;
  bool transpose_a = false;
  bool transpose_b = false;
  Activation activation = Activation::none;
  FloatValue scale = 1.0F;
  // INT8 requantization per output channel: N FP32 scales instead of `scale`.
  std::optional<BufferArg> channel_scales = std::nullopt;
  Value zero_point = 0U;
  bool int32_output = false;
};

// CONV2D (hw-spec 7.4): NCHW input, K x (C/groups) x R x S weights.
struct Conv2dOperands {
  BufferArg input, weight, output;
  std::optional<BufferArg> bias = std::nullopt;
  Value n, c, h, w;
  Value k, r, s;
  Value stride_h = 1U, stride_w = 1U;
  Value pad_h = 0U, pad_w = 0U;
  Value dilation_h = 1U, dilation_w = 1U;
  Value groups = 1U;
  Activation activation = Activation::none;
  FloatValue scale = 1.0F;
  // INT8 requantization per output channel: K FP32 scales instead of `scale`.
  std::optional<BufferArg> channel_scales = std::nullopt;
  Value zero_point = 0U;
  bool int32_output = false;
};

// POOL2D (hw-spec 7.4).
struct Pool2dOperands {
  BufferArg input, output;
  Value n, c, h, w;
  Value kernel_h, kernel_w;
  Value stride_h = 1U, stride_w = 1U;
  Value pad_h = 0U, pad_w = 0U;
  PoolMode mode = PoolMode::max;
};

// COPY_STRIDED (hw-spec 7.4.1, v1.1): dst[sum i*dst_stride] = src[sum i*src_stride]
// over four dimensions, outermost first; strides in elements.
struct CopyStridedOperands {
  BufferArg dst, src;
  std::array<Value, 4> sizes{1U, 1U, 1U, 1U};
  std::array<Value, 4> src_strides{0U, 0U, 0U, 0U};
  std::array<Value, 4> dst_strides{0U, 0U, 0U, 0U};
};

// GEMM_BATCHED (hw-spec 7.4.1, v1.1): `batch` GEMMs, matrices `stride_*`
// elements apart (0 for A or B: one matrix for every batch).
struct GemmBatchedOperands {
  BufferArg a, b, c;
  std::optional<BufferArg> bias = std::nullopt;
  Value m, n, k;
  Value lda, ldb, ldc;
  Value batch;
  Value stride_a, stride_b, stride_c;
  bool transpose_a = false;
  bool transpose_b = false;
  Activation activation = Activation::none;
  FloatValue scale = 1.0F;
};

// CONV_TRANSPOSE (hw-spec 7.4.1, v1.1): NCHW input, C x (K/groups) x R x S
// weights (ONNX ConvTranspose layout).
struct ConvTransposeOperands {
  BufferArg input, weight, output;
  std::optional<BufferArg> bias = std::nullopt;
  Value n, c, h, w;
  Value k, r, s;
  Value stride_h = 1U, stride_w = 1U;
  Value pad_h = 0U, pad_w = 0U;
  Value output_pad_h = 0U, output_pad_w = 0U;
  Value dilation_h = 1U, dilation_w = 1U;
  Value groups = 1U;
  Activation activation = Activation::none;
};

// RESIZE (hw-spec 7.4.1, v1.1): N x C x H x W to N x C x out_h x out_w. A
// scale of 0 means out/in (ONNX `sizes`); otherwise ONNX's `scales` value.
struct ResizeOperands {
  BufferArg input, output;
  Value n, c, h, w;
  Value out_h, out_w;
  FloatValue scale_h = 0.0F, scale_w = 0.0F;
  ResizeMode mode = ResizeMode::nearest;
  ResizeCoordinates coordinates = ResizeCoordinates::half_pixel;
  NearestRounding rounding = NearestRounding::round_prefer_floor;  // nearest only
};

// CONVERT (hw-spec 7.4.2, v1.2): out[i] = in[i] * scale, from one data type
// to another (float <-> INT8, INT32 -> INT8 or float), rounded to nearest
// even and saturated; float -> INT32 (v1.7, 7.4.7) truncates toward zero,
// saturates and makes NaN 0. Per channel: `channels` FP32 scales, element i taking
// scale[(i / inner) % channels] (NCHW: channels C, inner H*W).
struct ConvertOperands {
  BufferArg input, output;
  Value count;
  FloatValue scale = 1.0F;
  std::optional<BufferArg> channel_scales = std::nullopt;
  Value channels = 0U, inner = 0U;  // with channel_scales only
};

// GATHER (hw-spec 7.4.3, v1.3): out[i, :] = table[indices[i], :], rows of
// `row_elems` elements chosen by `count` INT32 or INT64 indices read at run
// time (an embedding lookup); a negative index counts from the end, one
// outside [-rows, rows) fails the job.
enum class IndexType : std::uint8_t { int32, int64 };

struct GatherOperands {
  BufferArg table, indices, output;
  Value rows, row_elems, count;
  IndexType index_type = IndexType::int64;
};

// SELECT (hw-spec 7.4.4, v1.4): out[i] = cond[i mod cond_count] != 0 ?
// x[i mod x_count] : y[i mod y_count]; cond a byte mask (COMPARE's
// output), elements moved bit for bit.
struct SelectOperands {
  BufferArg condition, x, y, output;
  Value count, condition_count, x_count, y_count;
};

class KernelBuilder {
 public:
  explicit KernelBuilder(std::string name);

  BufferArg arg_buffer(std::string name);
  ScalarArg arg_scalar(std::string name);

  KernelBuilder& nop();
  KernelBuilder& barrier();
  KernelBuilder& dma_copy(BufferArg dst, BufferArg src, Value bytes);
  KernelBuilder& dma_fill(BufferArg dst, Value bytes, Value pattern);
  KernelBuilder& sem_signal(BufferArg semaphore, Value value, bool add = false);
  KernelBuilder& sem_wait(BufferArg semaphore, Value value);
  KernelBuilder& timestamp(BufferArg dst);
  KernelBuilder& eltwise(isa::DataType dtype, EltwiseOp op, BufferArg a, BufferArg b, BufferArg out,
                         Value count, Value b_count);
  KernelBuilder& activation(isa::DataType dtype, Activation act, BufferArg in, BufferArg out,
                            Value count);
  KernelBuilder& gemm(isa::DataType dtype, const GemmOperands& operands);
  KernelBuilder& conv2d(isa::DataType dtype, const Conv2dOperands& operands);
  KernelBuilder& pool2d(isa::DataType dtype, const Pool2dOperands& operands);
  KernelBuilder& softmax(isa::DataType dtype, BufferArg in, BufferArg out, Value rows, Value cols);
  // SOFTMAX with its LOG flag (v1.5): x - max - ln(sum(e^(x - max))) per row.
  KernelBuilder& log_softmax(isa::DataType dtype, BufferArg in, BufferArg out, Value rows,
                             Value cols);
  KernelBuilder& layernorm(isa::DataType dtype, BufferArg in, BufferArg out, BufferArg gamma,
                           BufferArg beta, Value rows, Value cols, FloatValue epsilon);
  KernelBuilder& rmsnorm(isa::DataType dtype, BufferArg in, BufferArg out, BufferArg gamma,
                         Value rows, Value cols, FloatValue epsilon);
  KernelBuilder& reduce(isa::DataType dtype, ReduceOp op, BufferArg in, BufferArg out, Value outer,
                        Value length, Value inner);
  KernelBuilder& transpose(isa::DataType dtype, BufferArg in, BufferArg out, Value batch,
                           Value rows, Value cols);
  // v1.1 (hw-spec 7.4.1): the kernel then declares ISA version 1.1 and loads
  // only on devices whose OPS register has these opcodes.
  KernelBuilder& copy_strided(isa::DataType dtype, const CopyStridedOperands& operands);
  KernelBuilder& gemm_batched(isa::DataType dtype, const GemmBatchedOperands& operands);
  KernelBuilder& conv_transpose(isa::DataType dtype, const ConvTransposeOperands& operands);
  KernelBuilder& resize(isa::DataType dtype, const ResizeOperands& operands);
  KernelBuilder& activation_param(isa::DataType dtype, ParamActivation function, BufferArg in,
                                  BufferArg out, Value count, FloatValue alpha = 0.0F,
                                  FloatValue beta = 0.0F);
  // v1.2 (hw-spec 7.4.2): likewise declares ISA version 1.2.
  KernelBuilder& convert(isa::DataType from, isa::DataType to, const ConvertOperands& operands);
  // v1.3 (hw-spec 7.4.3): likewise declares ISA version 1.3.
  KernelBuilder& gather(isa::DataType dtype, const GatherOperands& operands);
  // v1.4 (hw-spec 7.4.4): likewise declare ISA version 1.4.
  KernelBuilder& compare(isa::DataType dtype, CompareOp op, BufferArg a, BufferArg b,
                         BufferArg mask, Value count, Value b_count);
  KernelBuilder& select(isa::DataType dtype, const SelectOperands& operands);
  // Any instruction, checked with isa::check().
  KernelBuilder& emit(isa::Instruction instruction);

  // The kernel so far; validated (KernelFormatError).
  [[nodiscard]] KernelImage build() const;
  // The program's bytes so far: where the next instruction starts (a
  // failed job's JobResult::error_offset names an instruction by it).
  [[nodiscard]] std::uint32_t program_bytes() const {
    return static_cast<std::uint32_t>(image_.program.size() * sizeof(std::uint32_t));
  }

 private:
  KernelImage image_;
};

}  // namespace npu
