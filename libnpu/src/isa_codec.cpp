// Encoder, decoder and structural checks of instruction words (hw-spec 7.2).
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "npu/isa.hpp"

namespace npu::isa {
namespace {

constexpr std::size_t kHeaderWords = 3;
constexpr std::uint32_t kReservedMask = 0xff00'0000;

struct Word0 {
  std::uint8_t opcode;
  std::uint8_t dtype;
  std::uint8_t nops;
};

Word0 split_word0(std::uint32_t word) {
  return {static_cast<std::uint8_t>(word & 0xff), static_cast<std::uint8_t>((word >> 8) & 0xff),
          static_cast<std::uint8_t>((word >> 16) & 0xff)};
}

std::uint32_t make_word0(const Instruction& instruction) {
  return static_cast<std::uint32_t>(instruction.opcode) |
         static_cast<std::uint32_t>(instruction.dtype) << 8 |
         static_cast<std::uint32_t>(instruction.operands.size()) << 16;
}

std::string hex(std::uint32_t value) {
  return fmt::format("{:#x}", value);
}

DecodeError error(DecodeErrc errc, std::string detail) {
  return {errc, 0, std::move(detail)};
}

const FlagField* find_field(const OpcodeInfo& op, std::string_view field_name) {
  for (const FlagField& field : op.flag_fields) {
    if (field.name == field_name) {
      return &field;
    }
  }
  return nullptr;
}

std::uint32_t field_value(const OpcodeInfo& op, std::uint32_t flags, std::string_view field_name) {
  const FlagField* field = find_field(op, field_name);
  return field == nullptr ? 0 : (flags & field->mask()) >> field->shift;
}

std::optional<DecodeError> check_flag_values(const OpcodeInfo& op, std::uint32_t flags) {
  for (const FlagField& field : op.flag_fields) {
    if (field.is_switch()) {
      continue;
    }
    const std::uint32_t value = (flags & field.mask()) >> field.shift;
    if (value >= field.value_names.size() || field.value_names[value].empty()) {
      return error(DecodeErrc::invalid_flag_value,
                   fmt::format("{}: {}={} has no meaning", op.mnemonic, field.name, value));
    }
  }
  return std::nullopt;
}

// The dtype-dependent flag rules of GEMM, CONV2D and ACTIVATION (hw-spec 7.3,
// 7.4): INT8 output allows only the RELU activation, OUT_INT32 only INT8,
// PER_CHANNEL only INT8 requantization; ELTWISE's POW and FMOD only floats
// (7.4.8).
// CONVERT (hw-spec 7.4.2): the source is the dtype, the destination the
// `to` flag; only float <-> INT8, INT32 -> INT8 or float and (v1.7, 7.4.7)
// float -> INT32 convert.
std::optional<DecodeError> check_conversion(const Instruction& instruction) {
  const auto to = static_cast<DataType>(instruction.flags & 0xfU);
  const auto is_float = [](DataType t) {
    return t == DataType::fp32 || t == DataType::fp16 || t == DataType::bf16;
  };
  const bool valid = to == DataType::int8    ? instruction.dtype != DataType::int8
                     : to == DataType::int32 ? is_float(instruction.dtype)
                                             : is_float(to) && !is_float(instruction.dtype);
  if (!valid) {
    return error(DecodeErrc::invalid_flag_value, fmt::format("convert: no conversion from {} to {}",
                                                             name(instruction.dtype), name(to)));
  }
  return std::nullopt;
}

std::optional<DecodeError> check_int8_rules(const OpcodeInfo& op, const Instruction& instruction) {
  constexpr std::uint32_t kRelu = 1;
  constexpr std::uint32_t kPow = 6;
  if (op.opcode == Opcode::convert) {
    return check_conversion(instruction);
  }
  const bool integer = instruction.dtype == DataType::int8 || instruction.dtype == DataType::int32;
  if (op.opcode == Opcode::eltwise && integer && field_value(op, instruction.flags, "op") >= kPow) {
    return error(DecodeErrc::invalid_flag_value,
                 fmt::format("eltwise.{}: op={} takes only float types", name(instruction.dtype),
                             field_value(op, instruction.flags, "op") == kPow ? "pow" : "fmod"));
  }
  const bool int8 = instruction.dtype == DataType::int8;
  const std::uint32_t act = field_value(op, instruction.flags, "act");
  if (int8 && act > kRelu) {
    return error(DecodeErrc::invalid_flag_value,
                 fmt::format("{}.int8 allows only act=relu", op.mnemonic));
  }
  if (!int8 && field_value(op, instruction.flags, "out_int32") != 0) {
    return error(DecodeErrc::invalid_flag_value,
                 fmt::format("{}: out_int32 needs dtype int8", op.mnemonic));
  }
  if (field_value(op, instruction.flags, "per_channel") != 0 &&
      (!int8 || field_value(op, instruction.flags, "out_int32") != 0)) {
    return error(DecodeErrc::invalid_flag_value,
                 fmt::format("{}: per_channel needs dtype int8 without out_int32", op.mnemonic));
  }
  return std::nullopt;
}

std::optional<DecodeError> check_operands(const OpcodeInfo& op, const Instruction& instruction) {
  for (std::size_t i = 0; i < instruction.operands.size(); ++i) {
    const Operand& operand = instruction.operands[i];
    const OperandKind kind = op.operand_kind(i, instruction.flags);
    if (kind == OperandKind::address && !operand.is_argument) {
      return error(
          DecodeErrc::address_not_argument,
          fmt::format("{}: operand {} is an address and must be an argument", op.mnemonic, i));
    }
    if (kind == OperandKind::bias && (operand.is_argument || operand.word != 0)) {
      return error(
          DecodeErrc::bias_not_zero,
          fmt::format("{}: operand {} must be immediate 0 without the bias flag", op.mnemonic, i));
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<DecodeError> check(const Instruction& instruction) {
  const OpcodeInfo* op = find_opcode(static_cast<std::uint8_t>(instruction.opcode));
  if (op == nullptr) {
    return error(DecodeErrc::unknown_opcode,
                 "opcode " + hex(static_cast<std::uint32_t>(instruction.opcode)));
  }
  if (!op->allows(instruction.dtype)) {
    return error(DecodeErrc::dtype_not_allowed,
                 fmt::format("{} does not take dtype {}", op->mnemonic,
                             static_cast<unsigned>(instruction.dtype)));
  }
  if (instruction.operands.size() != op->operand_count()) {
    return error(DecodeErrc::wrong_operand_count,
                 fmt::format("{} takes {} operands, not {}", op->mnemonic, op->operand_count(),
                             instruction.operands.size()));
  }
  if ((instruction.flags & ~op->defined_flags()) != 0) {
    return error(DecodeErrc::undefined_flags,
                 fmt::format("{}: flag bits {} are not defined", op->mnemonic,
                             hex(instruction.flags & ~op->defined_flags())));
  }
  if (auto flag_error = check_flag_values(*op, instruction.flags)) {
    return flag_error;
  }
  if (auto int8_error = check_int8_rules(*op, instruction)) {
    return int8_error;
  }
  return check_operands(*op, instruction);
}

void encode(const Instruction& instruction, std::vector<std::uint32_t>& words) {
  if (auto problem = check(instruction)) {
    throw std::invalid_argument("npu::isa::encode: " + problem->message());
  }
  std::uint32_t argmask = 0;
  for (std::size_t i = 0; i < instruction.operands.size(); ++i) {
    argmask |= instruction.operands[i].is_argument ? 1U << i : 0U;
  }
  words.push_back(make_word0(instruction));
  words.push_back(instruction.flags);
  words.push_back(argmask);
  for (const Operand& operand : instruction.operands) {
    words.push_back(operand.word);
  }
}

std::vector<std::uint32_t> encode(std::span<const Instruction> program) {
  std::vector<std::uint32_t> words;
  for (const Instruction& instruction : program) {
    encode(instruction, words);
  }
  return words;
}

DecodeResult decode_one(std::span<const std::uint32_t> words, std::size_t& offset) {
  const auto fail = [offset](DecodeErrc errc, std::string detail) {
    return DecodeResult{std::nullopt, DecodeError{errc, offset, std::move(detail)}};
  };
  if (words.size() - offset < kHeaderWords) {
    return fail(DecodeErrc::truncated, "the instruction header needs 3 words");
  }
  if ((words[offset] & kReservedMask) != 0) {
    return fail(DecodeErrc::reserved_bits, "word 0 bits 31:24 are " + hex(words[offset] >> 24));
  }
  const Word0 word0 = split_word0(words[offset]);
  if (words.size() - offset - kHeaderWords < word0.nops) {
    return fail(DecodeErrc::truncated,
                fmt::format("nops {} runs past the end of the program", word0.nops));
  }
  const std::uint32_t argmask = words[offset + 2];
  if (word0.nops < 32 && (argmask >> word0.nops) != 0) {
    return fail(DecodeErrc::argmask_out_of_range,
                fmt::format("argmask {} has bits at or above nops {}", hex(argmask), word0.nops));
  }
  Instruction instruction{
      static_cast<Opcode>(word0.opcode), static_cast<DataType>(word0.dtype), words[offset + 1], {}};
  instruction.operands.reserve(word0.nops);
  for (std::size_t i = 0; i < word0.nops; ++i) {
    const bool is_argument = i < 32 && ((argmask >> i) & 1U) != 0;
    instruction.operands.push_back({is_argument, words[offset + kHeaderWords + i]});
  }
  if (auto problem = check(instruction)) {
    problem->word_offset = offset;
    return {std::nullopt, std::move(problem)};
  }
  offset += instruction.word_count();
  return {std::move(instruction), std::nullopt};
}

ProgramDecode decode(std::span<const std::uint32_t> words) {
  ProgramDecode result;
  std::size_t offset = 0;
  while (offset < words.size()) {
    DecodeResult one = decode_one(words, offset);
    if (one.error) {
      result.error = std::move(one.error);
      return result;
    }
    result.instructions.push_back(std::move(*one.instruction));
  }
  return result;
}

std::uint32_t instruction_version(const Instruction& instruction) {
  const OpcodeInfo& op = info(instruction.opcode);
  std::uint32_t version = op.isa_version;
  for (const FlagField& field : op.flag_fields) {
    const std::uint32_t value = (instruction.flags & field.mask()) >> field.shift;
    if (value < field.value_versions.size()) {
      version = std::max(version, field.value_versions[value]);
    }
  }
  return version;
}

std::uint32_t required_version(std::span<const std::uint32_t> words) {
  std::uint32_t version = kIsaVersion1_0;
  for (const Instruction& instruction : decode(words).instructions) {
    version = std::max(version, instruction_version(instruction));
  }
  return version;
}

}  // namespace npu::isa
