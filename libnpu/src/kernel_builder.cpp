// KernelBuilder: typed instruction emitters over isa::encode().
#include "npu/kernel_builder.hpp"

#include <algorithm>
#include <bit>

namespace npu {
namespace {

using isa::DataType;
using isa::Instruction;
using isa::Opcode;
using isa::Operand;

Operand address(BufferArg buffer) {
  return Operand::argument(buffer.slot);
}

constexpr std::uint32_t kGemmTransA = 1U << 0;
constexpr std::uint32_t kGemmTransB = 1U << 1;
constexpr std::uint32_t kGemmBias = 1U << 2;
constexpr std::uint32_t kGemmActShift = 4;
constexpr std::uint32_t kGemmOutInt32 = 1U << 8;
constexpr std::uint32_t kPerChannel = 1U << 9;

std::uint32_t gemm_flags(const GemmOperands& g) {
  return (g.transpose_a ? kGemmTransA : 0U) | (g.transpose_b ? kGemmTransB : 0U) |
         (g.bias ? kGemmBias : 0U) | static_cast<std::uint32_t>(g.activation) << kGemmActShift |
         (g.int32_output ? kGemmOutInt32 : 0U) | (g.channel_scales ? kPerChannel : 0U);
}

std::uint32_t conv_flags(const Conv2dOperands& c) {
  return (c.bias ? kGemmBias : 0U) | static_cast<std::uint32_t>(c.activation) << kGemmActShift |
         (c.int32_output ? kGemmOutInt32 : 0U) | (c.channel_scales ? kPerChannel : 0U);
}

Operand bias_operand(const std::optional<BufferArg>& bias) {
  return bias ? address(*bias) : Operand::immediate(0);
}

Operand scale_operand(const std::optional<BufferArg>& channel_scales, const FloatValue& scale) {
  return channel_scales ? address(*channel_scales) : scale.operand();
}

}  // namespace

FloatValue::FloatValue(float immediate)
    : operand_(Operand::immediate(std::bit_cast<std::uint32_t>(immediate))) {}

KernelBuilder::KernelBuilder(std::string name) {
  image_.name = std::move(name);
}

BufferArg KernelBuilder::arg_buffer(std::string name) {
  return {image_.arguments.add(SlotKind::buffer, std::move(name))};
}

ScalarArg KernelBuilder::arg_scalar(std::string name) {
  return {image_.arguments.add(SlotKind::scalar, std::move(name))};
}

KernelBuilder& KernelBuilder::emit(Instruction instruction) {
  isa::encode(instruction, image_.program);
  // A kernel declares the oldest instruction set that has all its
  // instructions (opcodes and flag values).
  image_.isa_version = std::max(image_.isa_version, isa::instruction_version(instruction));
  return *this;
}

KernelBuilder& KernelBuilder::nop() {
  return emit({Opcode::nop, DataType::none, 0, {}});
}

KernelBuilder& KernelBuilder::barrier() {
  return emit({Opcode::barrier, DataType::none, 0, {}});
}

KernelBuilder& KernelBuilder::dma_copy(BufferArg dst, BufferArg src, Value bytes) {
  return emit({Opcode::dma_copy, DataType::none, 0, {address(dst), address(src), bytes.operand()}});
}

KernelBuilder& KernelBuilder::dma_fill(BufferArg dst, Value bytes, Value pattern) {
  return emit(
      {Opcode::dma_fill, DataType::none, 0, {address(dst), bytes.operand(), pattern.operand()}});
}

KernelBuilder& KernelBuilder::sem_signal(BufferArg semaphore, Value value, bool add) {
  return emit(
      {Opcode::sem_signal, DataType::none, add ? 1U : 0U, {address(semaphore), value.operand()}});
}

KernelBuilder& KernelBuilder::sem_wait(BufferArg semaphore, Value value) {
  return emit({Opcode::sem_wait, DataType::none, 0, {address(semaphore), value.operand()}});
}

KernelBuilder& KernelBuilder::timestamp(BufferArg dst) {
  return emit({Opcode::timestamp, DataType::none, 0, {address(dst)}});
}

KernelBuilder& KernelBuilder::eltwise(DataType dtype, EltwiseOp op, BufferArg a, BufferArg b,
                                      BufferArg out, Value count, Value b_count) {
  return emit({Opcode::eltwise,
               dtype,
               static_cast<std::uint32_t>(op),
               {address(a), address(b), address(out), count.operand(), b_count.operand()}});
}

KernelBuilder& KernelBuilder::activation(DataType dtype, Activation act, BufferArg in,
                                         BufferArg out, Value count) {
  return emit({Opcode::activation,
               dtype,
               static_cast<std::uint32_t>(act),
               {address(in), address(out), count.operand()}});
}

KernelBuilder& KernelBuilder::gemm(DataType dtype, const GemmOperands& g) {
  const Operand bias = bias_operand(g.bias);
  return emit({Opcode::gemm,
               dtype,
               gemm_flags(g),
               {address(g.a), address(g.b), address(g.c), bias, g.m.operand(), g.n.operand(),
                g.k.operand(), g.lda.operand(), g.ldb.operand(), g.ldc.operand(),
                scale_operand(g.channel_scales, g.scale), g.zero_point.operand()}});
}

KernelImage KernelBuilder::build() const {
  validate(image_);
  return image_;
}

KernelBuilder& KernelBuilder::conv2d(DataType dtype, const Conv2dOperands& c) {
  return emit({Opcode::conv2d,
               dtype,
               conv_flags(c),
               {address(c.input),
                address(c.weight),
                bias_operand(c.bias),
                address(c.output),
                c.n.operand(),
                c.c.operand(),
                c.h.operand(),
                c.w.operand(),
                c.k.operand(),
                c.r.operand(),
                c.s.operand(),
                c.stride_h.operand(),
                c.stride_w.operand(),
                c.pad_h.operand(),
                c.pad_w.operand(),
                c.dilation_h.operand(),
                c.dilation_w.operand(),
                c.groups.operand(),
                scale_operand(c.channel_scales, c.scale),
                c.zero_point.operand()}});
}

KernelBuilder& KernelBuilder::pool2d(DataType dtype, const Pool2dOperands& p) {
  return emit({Opcode::pool2d,
               dtype,
               static_cast<std::uint32_t>(p.mode),
               {address(p.input), address(p.output), p.n.operand(), p.c.operand(), p.h.operand(),
                p.w.operand(), p.kernel_h.operand(), p.kernel_w.operand(), p.stride_h.operand(),
                p.stride_w.operand(), p.pad_h.operand(), p.pad_w.operand()}});
}

KernelBuilder& KernelBuilder::softmax(DataType dtype, BufferArg in, BufferArg out, Value rows,
                                      Value cols) {
  return emit(
      {Opcode::softmax, dtype, 0, {address(in), address(out), rows.operand(), cols.operand()}});
}

KernelBuilder& KernelBuilder::log_softmax(DataType dtype, BufferArg in, BufferArg out, Value rows,
                                          Value cols) {
  constexpr std::uint32_t kLog = 1;  // hw-spec 7.4.5
  return emit(
      {Opcode::softmax, dtype, kLog, {address(in), address(out), rows.operand(), cols.operand()}});
}

KernelBuilder& KernelBuilder::layernorm(DataType dtype, BufferArg in, BufferArg out,
                                        BufferArg gamma, BufferArg beta, Value rows, Value cols,
                                        FloatValue epsilon) {
  return emit({Opcode::layernorm,
               dtype,
               0,
               {address(in), address(out), address(gamma), address(beta), rows.operand(),
                cols.operand(), epsilon.operand()}});
}

KernelBuilder& KernelBuilder::rmsnorm(DataType dtype, BufferArg in, BufferArg out, BufferArg gamma,
                                      Value rows, Value cols, FloatValue epsilon) {
  return emit({Opcode::rmsnorm,
               dtype,
               0,
               {address(in), address(out), address(gamma), rows.operand(), cols.operand(),
                epsilon.operand()}});
}

KernelBuilder& KernelBuilder::reduce(DataType dtype, ReduceOp op, BufferArg in, BufferArg out,
                                     Value outer, Value length, Value inner) {
  return emit({Opcode::reduce,
               dtype,
               static_cast<std::uint32_t>(op),
               {address(in), address(out), outer.operand(), length.operand(), inner.operand()}});
}

KernelBuilder& KernelBuilder::transpose(DataType dtype, BufferArg in, BufferArg out, Value batch,
                                        Value rows, Value cols) {
  return emit({Opcode::transpose,
               dtype,
               0,
               {address(in), address(out), batch.operand(), rows.operand(), cols.operand()}});
}

KernelBuilder& KernelBuilder::copy_strided(DataType dtype, const CopyStridedOperands& c) {
  std::vector<Operand> operands{address(c.dst), address(c.src)};
  for (const auto* values : {&c.sizes, &c.src_strides, &c.dst_strides}) {
    for (const Value& value : *values) {
      operands.push_back(value.operand());
    }
  }
  return emit({Opcode::copy_strided, dtype, 0, std::move(operands)});
}

KernelBuilder& KernelBuilder::gemm_batched(DataType dtype, const GemmBatchedOperands& g) {
  const std::uint32_t flags = (g.transpose_a ? kGemmTransA : 0U) |
                              (g.transpose_b ? kGemmTransB : 0U) | (g.bias ? kGemmBias : 0U) |
                              static_cast<std::uint32_t>(g.activation) << kGemmActShift;
  return emit({Opcode::gemm_batched,
               dtype,
               flags,
               {address(g.a), address(g.b), address(g.c), bias_operand(g.bias), g.m.operand(),
                g.n.operand(), g.k.operand(), g.lda.operand(), g.ldb.operand(), g.ldc.operand(),
                g.scale.operand(), g.batch.operand(), g.stride_a.operand(), g.stride_b.operand(),
                g.stride_c.operand()}});
}

KernelBuilder& KernelBuilder::conv_transpose(DataType dtype, const ConvTransposeOperands& c) {
  const std::uint32_t flags = (c.bias ? kGemmBias : 0U) | static_cast<std::uint32_t>(c.activation)
                                                              << kGemmActShift;
  return emit({Opcode::conv_transpose,
               dtype,
               flags,
               {address(c.input),
                address(c.weight),
                bias_operand(c.bias),
                address(c.output),
                c.n.operand(),
                c.c.operand(),
                c.h.operand(),
                c.w.operand(),
                c.k.operand(),
                c.r.operand(),
                c.s.operand(),
                c.stride_h.operand(),
                c.stride_w.operand(),
                c.pad_h.operand(),
                c.pad_w.operand(),
                c.output_pad_h.operand(),
                c.output_pad_w.operand(),
                c.dilation_h.operand(),
                c.dilation_w.operand(),
                c.groups.operand()}});
}

KernelBuilder& KernelBuilder::resize(DataType dtype, const ResizeOperands& r) {
  constexpr unsigned kCoordShift = 2;
  constexpr unsigned kRoundShift = 4;
  const std::uint32_t flags = static_cast<std::uint32_t>(r.mode) |
                              static_cast<std::uint32_t>(r.coordinates) << kCoordShift |
                              static_cast<std::uint32_t>(r.rounding) << kRoundShift;
  return emit({Opcode::resize,
               dtype,
               flags,
               {address(r.input), address(r.output), r.n.operand(), r.c.operand(), r.h.operand(),
                r.w.operand(), r.out_h.operand(), r.out_w.operand(), r.scale_h.operand(),
                r.scale_w.operand()}});
}

KernelBuilder& KernelBuilder::activation_param(DataType dtype, ParamActivation function,
                                               BufferArg in, BufferArg out, Value count,
                                               FloatValue alpha, FloatValue beta) {
  return emit({Opcode::activation_param,
               dtype,
               static_cast<std::uint32_t>(function),
               {address(in), address(out), count.operand(), alpha.operand(), beta.operand()}});
}

KernelBuilder& KernelBuilder::convert(DataType from, DataType to, const ConvertOperands& c) {
  return emit({Opcode::convert,
               from,
               static_cast<std::uint32_t>(to) | (c.channel_scales ? kPerChannel : 0U),
               {address(c.input), address(c.output), c.count.operand(), c.channels.operand(),
                c.inner.operand(), scale_operand(c.channel_scales, c.scale)}});
}

KernelBuilder& KernelBuilder::gather(DataType dtype, const GatherOperands& g) {
  constexpr std::uint32_t kIndexInt64 = 1U << 0;
  return emit({Opcode::gather,
               dtype,
               g.index_type == IndexType::int64 ? kIndexInt64 : 0U,
               {address(g.table), address(g.indices), address(g.output), g.rows.operand(),
                g.row_elems.operand(), g.count.operand()}});
}

KernelBuilder& KernelBuilder::compare(DataType dtype, CompareOp op, BufferArg a, BufferArg b,
                                      BufferArg mask, Value count, Value b_count) {
  return emit({Opcode::compare,
               dtype,
               static_cast<std::uint32_t>(op),
               {address(a), address(b), address(mask), count.operand(), b_count.operand()}});
}

KernelBuilder& KernelBuilder::select(DataType dtype, const SelectOperands& s) {
  return emit(
      {Opcode::select,
       dtype,
       0U,
       {address(s.condition), address(s.x), address(s.y), address(s.output), s.count.operand(),
        s.condition_count.operand(), s.x_count.operand(), s.y_count.operand()}});
}

}  // namespace npu
