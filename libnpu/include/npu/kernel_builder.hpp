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

enum class EltwiseOp : std::uint8_t { add, sub, mul, div, max, min };
enum class Activation : std::uint8_t { none, relu, gelu, silu, sigmoid, tanh };
enum class PoolMode : std::uint8_t { max, average, average_with_padding };
enum class ReduceOp : std::uint8_t { sum, mean, max, min };

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
  KernelBuilder& layernorm(isa::DataType dtype, BufferArg in, BufferArg out, BufferArg gamma,
                           BufferArg beta, Value rows, Value cols, FloatValue epsilon);
  KernelBuilder& rmsnorm(isa::DataType dtype, BufferArg in, BufferArg out, BufferArg gamma,
                         Value rows, Value cols, FloatValue epsilon);
  KernelBuilder& reduce(isa::DataType dtype, ReduceOp op, BufferArg in, BufferArg out, Value outer,
                        Value length, Value inner);
  KernelBuilder& transpose(isa::DataType dtype, BufferArg in, BufferArg out, Value batch,
                           Value rows, Value cols);
  // Any instruction, checked with isa::check().
  KernelBuilder& emit(isa::Instruction instruction);

  // The kernel so far; validated (KernelFormatError).
  [[nodiscard]] KernelImage build() const;

 private:
  KernelImage image_;
};

}  // namespace npu
