// The opcode table of instruction sets v1 to v1.5, transcribed from
// docs/hw-spec.md sections 7.4 to 7.4.5.
#include <algorithm>
#include <array>
#include <stdexcept>

#include "npu/isa.hpp"

namespace npu::isa {
namespace {

constexpr OperandKind A = OperandKind::address;
constexpr OperandKind V = OperandKind::value;
constexpr OperandKind F = OperandKind::floating;
constexpr OperandKind B = OperandKind::bias;
constexpr OperandKind S = OperandKind::scale;

constexpr std::uint32_t dtypes(std::initializer_list<DataType> list) {
  std::uint32_t mask = 0;
  for (DataType dtype : list) {
    mask |= 1U << static_cast<unsigned>(dtype);
  }
  return mask;
}

constexpr std::uint32_t kNoDtype = dtypes({DataType::none});
constexpr std::uint32_t kFloat = dtypes({DataType::fp32, DataType::fp16, DataType::bf16});
constexpr std::uint32_t kFloatInt8 = kFloat | dtypes({DataType::int8});
constexpr std::uint32_t kAllNumeric = kFloatInt8 | dtypes({DataType::int32});

// Operand kinds per opcode.
constexpr std::array<OperandKind, 3> kCopyOperands{A, A, V};
constexpr std::array<OperandKind, 3> kFillOperands{A, V, V};
constexpr std::array<OperandKind, 2> kSemaphoreOperands{A, V};
constexpr std::array<OperandKind, 1> kTimestampOperands{A};
constexpr std::array<OperandKind, 12> kGemmOperands{A, A, A, B, V, V, V, V, V, V, S, V};
constexpr std::array<OperandKind, 20> kConvOperands{A, A, B, A, V, V, V, V, V, V,
                                                    V, V, V, V, V, V, V, V, S, V};
constexpr std::array<OperandKind, 12> kPoolOperands{A, A, V, V, V, V, V, V, V, V, V, V};
constexpr std::array<OperandKind, 5> kEltwiseOperands{A, A, A, V, V};
constexpr std::array<OperandKind, 3> kActivationOperands{A, A, V};
constexpr std::array<OperandKind, 4> kSoftmaxOperands{A, A, V, V};
constexpr std::array<OperandKind, 7> kLayernormOperands{A, A, A, A, V, V, F};
constexpr std::array<OperandKind, 6> kRmsnormOperands{A, A, A, V, V, F};
constexpr std::array<OperandKind, 5> kReduceOperands{A, A, V, V, V};
constexpr std::array<OperandKind, 5> kTransposeOperands{A, A, V, V, V};
constexpr std::array<OperandKind, 14> kCopyStridedOperands{A, A, V, V, V, V, V,
                                                           V, V, V, V, V, V, V};
constexpr std::array<OperandKind, 15> kGemmBatchedOperands{A, A, A, B, V, V, V, V,
                                                           V, V, F, V, V, V, V};
constexpr std::array<OperandKind, 20> kConvTransposeOperands{A, A, B, A, V, V, V, V, V, V,
                                                             V, V, V, V, V, V, V, V, V, V};
constexpr std::array<OperandKind, 10> kResizeOperands{A, A, V, V, V, V, V, V, F, F};
constexpr std::array<OperandKind, 5> kActivationParamOperands{A, A, V, F, F};
constexpr std::array<OperandKind, 6> kConvertOperands{A, A, V, V, V, S};
constexpr std::array<OperandKind, 6> kGatherOperands{A, A, A, V, V, V};
constexpr std::array<OperandKind, 5> kCompareOperands{A, A, A, V, V};
constexpr std::array<OperandKind, 8> kSelectOperands{A, A, A, A, V, V, V, V};

// Value names of the enumerated flag fields.
constexpr std::array<std::string_view, 9> kFusedActivations{
    "none", "relu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "relu6"};
constexpr std::array<std::string_view, 9> kActivations{
    "", "relu", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "relu6"};
// ACT values 6-8 are v1.5's (hw-spec 7.4.5).
constexpr std::array<std::uint32_t, 9> kActivationVersions{
    kIsaVersion1_0, kIsaVersion1_0, kIsaVersion1_0, kIsaVersion1_0, kIsaVersion1_0,
    kIsaVersion1_0, kIsaVersion1_5, kIsaVersion1_5, kIsaVersion1_5};
constexpr std::array<std::string_view, 3> kPoolModes{"max", "avg", "avg_pad"};
constexpr std::array<std::string_view, 8> kEltwiseOps{"add", "sub", "mul", "div",
                                                      "max", "min", "pow", "fmod"};
// POW and FMOD are v1.8 (hw-spec 7.4.8).
constexpr std::array<std::uint32_t, 8> kEltwiseOpVersions{
    kIsaVersion1_0, kIsaVersion1_0, kIsaVersion1_0, kIsaVersion1_0,
    kIsaVersion1_0, kIsaVersion1_0, kIsaVersion1_8, kIsaVersion1_8};
constexpr std::array<std::string_view, 6> kCompareOps{"eq", "ne", "lt", "le", "gt", "ge"};
constexpr std::array<std::string_view, 4> kReduceOps{"sum", "mean", "max", "min"};
constexpr std::array<std::string_view, 2> kResizeModes{"nearest", "linear"};
constexpr std::array<std::string_view, 4> kResizeCoords{"half_pixel", "asymmetric", "align_corners",
                                                        "pytorch_half_pixel"};
constexpr std::array<std::string_view, 4> kResizeRounding{"round_prefer_floor", "round_prefer_ceil",
                                                          "floor", "ceil"};
constexpr std::array<std::string_view, 25> kParamActivations{
    "hardsigmoid", "hardswish", "clip", "sqrt",  "exp",   "pow",   "leaky_relu", "log",  "softplus",
    "mish",        "gelu_tanh", "abs",  "round", "sin",   "cos",   "tan",        "asin", "acos",
    "atan",        "sinh",      "cosh", "asinh", "acosh", "atanh", "erf"};
// CONVERT's destination types (the data type names; INT32 from v1.7).
constexpr std::array<std::string_view, 6> kConvertDestinations{"",     "fp32", "fp16",
                                                               "bf16", "int8", "int32"};

// Flag fields per opcode.
constexpr std::array<FlagField, 1> kSemSignalFlags{{{"add", 0, 1, {}}}};
constexpr std::array<FlagField, 6> kGemmFlags{
    {{"trans_a", 0, 1, {}},
     {"trans_b", 1, 1, {}},
     {"bias", 2, 1, {}},
     {"act", 4, 4, kFusedActivations, kActivationVersions},
     {"out_int32", 8, 1, {}},
     {"per_channel", 9, 1, {}}}};
constexpr std::array<FlagField, 4> kConvFlags{
    {{"bias", 2, 1, {}},
     {"act", 4, 4, kFusedActivations, kActivationVersions},
     {"out_int32", 8, 1, {}},
     {"per_channel", 9, 1, {}}}};
constexpr std::array<FlagField, 1> kPoolFlags{{{"mode", 0, 2, kPoolModes}}};
constexpr std::array<FlagField, 1> kEltwiseFlags{{{"op", 0, 4, kEltwiseOps, kEltwiseOpVersions}}};
constexpr std::array<FlagField, 1> kActivationFlags{
    {{"act", 0, 4, kActivations, kActivationVersions}}};
constexpr std::array<FlagField, 1> kReduceFlags{{{"op", 0, 2, kReduceOps}}};
constexpr std::array<FlagField, 4> kGemmBatchedFlags{
    {{"trans_a", 0, 1, {}},
     {"trans_b", 1, 1, {}},
     {"bias", 2, 1, {}},
     {"act", 4, 4, kFusedActivations, kActivationVersions}}};
constexpr std::array<FlagField, 2> kConvTransposeFlags{
    {{"bias", 2, 1, {}}, {"act", 4, 4, kFusedActivations, kActivationVersions}}};
constexpr std::array<FlagField, 3> kResizeFlags{{{"mode", 0, 2, kResizeModes},
                                                 {"coord", 2, 2, kResizeCoords},
                                                 {"round", 4, 2, kResizeRounding}}};
// Functions 7-12 and SOFTMAX's log switch are v1.5 (hw-spec 7.4.5),
// functions 13 and 14 v1.6 (7.4.6), 15-24 v1.8 (7.4.8), which widens the
// field to five bits.
constexpr std::array<std::uint32_t, 25> kParamActivationVersions{
    kIsaVersion1_1, kIsaVersion1_1, kIsaVersion1_1, kIsaVersion1_1, kIsaVersion1_1,
    kIsaVersion1_1, kIsaVersion1_1, kIsaVersion1_5, kIsaVersion1_5, kIsaVersion1_5,
    kIsaVersion1_5, kIsaVersion1_5, kIsaVersion1_5, kIsaVersion1_6, kIsaVersion1_6,
    kIsaVersion1_8, kIsaVersion1_8, kIsaVersion1_8, kIsaVersion1_8, kIsaVersion1_8,
    kIsaVersion1_8, kIsaVersion1_8, kIsaVersion1_8, kIsaVersion1_8, kIsaVersion1_8};
constexpr std::array<std::uint32_t, 2> kSoftmaxLogVersions{kIsaVersion1_0, kIsaVersion1_5};
constexpr std::array<FlagField, 1> kActivationParamFlags{
    {{"func", 0, 5, kParamActivations, kParamActivationVersions}}};
constexpr std::array<FlagField, 1> kSoftmaxFlags{{{"log", 0, 1, {}, kSoftmaxLogVersions}}};
// The INT32 destination is v1.7 (hw-spec 7.4.7).
constexpr std::array<std::uint32_t, 6> kConvertDestinationVersions{
    kIsaVersion1_2, kIsaVersion1_2, kIsaVersion1_2, kIsaVersion1_2, kIsaVersion1_2, kIsaVersion1_7};
constexpr std::array<FlagField, 2> kConvertFlags{
    {{"to", 0, 4, kConvertDestinations, kConvertDestinationVersions}, {"per_channel", 9, 1, {}}}};
constexpr std::array<FlagField, 1> kGatherFlags{{{"index_int64", 0, 1, {}}}};
constexpr std::array<FlagField, 1> kCompareFlags{{{"op", 0, 4, kCompareOps}}};

constexpr std::uint32_t kV11 = kIsaVersion1_1;
constexpr std::uint32_t kV12 = kIsaVersion1_2;
constexpr std::uint32_t kV13 = kIsaVersion1_3;
constexpr std::uint32_t kV14 = kIsaVersion1_4;

const std::array<OpcodeInfo, 26> kOpcodes{{
    {Opcode::nop, "nop", kNoDtype, {}, {}},
    {Opcode::dma_copy, "dma_copy", kNoDtype, kCopyOperands, {}},
    {Opcode::dma_fill, "dma_fill", kNoDtype, kFillOperands, {}},
    {Opcode::copy_strided, "copy_strided", kAllNumeric, kCopyStridedOperands, {}, kV11},
    {Opcode::barrier, "barrier", kNoDtype, {}, {}},
    {Opcode::sem_signal, "sem_signal", kNoDtype, kSemaphoreOperands, kSemSignalFlags},
    {Opcode::sem_wait, "sem_wait", kNoDtype, kSemaphoreOperands, {}},
    {Opcode::timestamp, "timestamp", kNoDtype, kTimestampOperands, {}},
    {Opcode::gemm, "gemm", kFloatInt8, kGemmOperands, kGemmFlags},
    {Opcode::conv2d, "conv2d", kFloatInt8, kConvOperands, kConvFlags},
    {Opcode::pool2d, "pool2d", kFloatInt8, kPoolOperands, kPoolFlags},
    {Opcode::eltwise, "eltwise", kAllNumeric, kEltwiseOperands, kEltwiseFlags},
    {Opcode::activation, "activation", kFloatInt8, kActivationOperands, kActivationFlags},
    {Opcode::softmax, "softmax", kFloat, kSoftmaxOperands, kSoftmaxFlags},
    {Opcode::layernorm, "layernorm", kFloat, kLayernormOperands, {}},
    {Opcode::rmsnorm, "rmsnorm", kFloat, kRmsnormOperands, {}},
    {Opcode::reduce, "reduce", kFloat | dtypes({DataType::int32}), kReduceOperands, kReduceFlags},
    {Opcode::transpose, "transpose", kAllNumeric, kTransposeOperands, {}},
    {Opcode::gemm_batched, "gemm_batched", kFloat, kGemmBatchedOperands, kGemmBatchedFlags, kV11},
    {Opcode::conv_transpose, "conv_transpose", kFloat, kConvTransposeOperands, kConvTransposeFlags,
     kV11},
    {Opcode::resize, "resize", kFloat, kResizeOperands, kResizeFlags, kV11},
    {Opcode::activation_param, "activation_param", kFloat, kActivationParamOperands,
     kActivationParamFlags, kV11},
    {Opcode::convert, "convert", kAllNumeric, kConvertOperands, kConvertFlags, kV12},
    {Opcode::gather, "gather", kAllNumeric, kGatherOperands, kGatherFlags, kV13},
    {Opcode::compare, "compare", kAllNumeric, kCompareOperands, kCompareFlags, kV14},
    {Opcode::select, "select", kAllNumeric, kSelectOperands, {}, kV14},
}};

constexpr std::array<std::string_view, 6> kDataTypeNames{"none", "fp32", "fp16",
                                                         "bf16", "int8", "int32"};
constexpr std::array<std::size_t, 6> kElementSizes{0, 4, 2, 2, 1, 4};

}  // namespace

std::uint32_t OpcodeInfo::defined_flags() const {
  std::uint32_t mask = 0;
  for (const FlagField& field : flag_fields) {
    mask |= field.mask();
  }
  return mask;
}

OperandKind OpcodeInfo::operand_kind(std::size_t index, std::uint32_t flags) const {
  const auto switched_on = [&](std::string_view field_name) {
    return std::ranges::any_of(flag_fields, [&](const FlagField& field) {
      return field.name == field_name && (flags & field.mask()) != 0;
    });
  };
  const OperandKind kind = operand_kinds[index];
  if (kind == OperandKind::bias && switched_on("bias")) {
    return OperandKind::address;
  }
  if (kind == OperandKind::scale) {
    return switched_on("per_channel") ? OperandKind::address : OperandKind::floating;
  }
  return kind;
}

std::span<const OpcodeInfo> opcode_table() {
  return kOpcodes;
}

const OpcodeInfo* find_opcode(std::uint8_t opcode) {
  const auto* it = std::ranges::find_if(kOpcodes, [opcode](const OpcodeInfo& op) {
    return static_cast<std::uint8_t>(op.opcode) == opcode;
  });
  return it == kOpcodes.end() ? nullptr : &*it;
}

const OpcodeInfo* find_opcode(std::string_view mnemonic) {
  const auto* it = std::ranges::find(kOpcodes, mnemonic, &OpcodeInfo::mnemonic);
  return it == kOpcodes.end() ? nullptr : &*it;
}

const OpcodeInfo& info(Opcode opcode) {
  const OpcodeInfo* found = find_opcode(static_cast<std::uint8_t>(opcode));
  if (found == nullptr) {
    throw std::invalid_argument("npu::isa::info: not a v1.5 opcode");
  }
  return *found;
}

std::string_view name(DataType dtype) {
  const auto index = static_cast<std::size_t>(dtype);
  return index < kDataTypeNames.size() ? kDataTypeNames[index] : std::string_view{"?"};
}

std::optional<DataType> find_data_type(std::string_view name) {
  const auto* it = std::ranges::find(kDataTypeNames, name);
  if (it == kDataTypeNames.end()) {
    return std::nullopt;
  }
  return static_cast<DataType>(it - kDataTypeNames.begin());
}

std::size_t element_size(DataType dtype) {
  const auto index = static_cast<std::size_t>(dtype);
  return index < kElementSizes.size() ? kElementSizes[index] : 0;
}

}  // namespace npu::isa
