// Kernel images to canonical assembly text.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <vector>

#include "npu/assembly.hpp"

namespace npu {
namespace {

using isa::FlagField;
using isa::OperandKind;

// Immediates up to this value print in decimal, larger ones in hex.
constexpr std::uint32_t kLargestDecimal = 0xffff;

std::string format_value(std::uint32_t value) {
  return value <= kLargestDecimal ? fmt::format("{}", value) : fmt::format("{:#x}", value);
}

// Finite floats in their shortest round-trip decimal form; infinities and
// NaNs as their raw bit pattern, which the assembler reads back exactly.
std::string format_float(std::uint32_t bits) {
  const float value = std::bit_cast<float>(bits);
  if (!std::isfinite(value)) {
    return fmt::format("{:#010x}", bits);
  }
  std::array<char, 32> text{};
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), value);
  return std::string(text.data(), end);
}

bool prints_field(const FlagField& field, std::uint32_t value) {
  if (field.is_switch()) {
    return value != 0;
  }
  return value != 0 || field.value_names[0] != "none";
}

std::string format_flags(const isa::OpcodeInfo& op, std::uint32_t flags) {
  std::vector<std::string> items;
  for (const FlagField& field : op.flag_fields) {
    const std::uint32_t value = (flags & field.mask()) >> field.shift;
    if (!prints_field(field, value)) {
      continue;
    }
    items.push_back(field.is_switch() ? std::string(field.name)
                                      : fmt::format("{}={}", field.name, field.value_names[value]));
  }
  return items.empty() ? std::string{} : fmt::format("[{}]", fmt::join(items, ", "));
}

std::string format_operand(const isa::Operand& operand, OperandKind kind,
                           const ArgumentLayout& layout) {
  if (operand.is_argument) {
    return operand.word < layout.size() ? "@" + layout[operand.word].name
                                        : fmt::format("@{}", operand.word);
  }
  return kind == OperandKind::floating ? format_float(operand.word) : format_value(operand.word);
}

}  // namespace

std::string format_instruction(const isa::Instruction& instruction, const ArgumentLayout& layout) {
  const isa::OpcodeInfo& op = isa::info(instruction.opcode);
  std::string text(op.mnemonic);
  if (instruction.dtype != isa::DataType::none) {
    text += fmt::format(".{}", isa::name(instruction.dtype));
  }
  const std::string flags = format_flags(op, instruction.flags);
  if (!flags.empty()) {
    text += " " + flags;
  }
  std::vector<std::string> operands;
  for (std::size_t i = 0; i < instruction.operands.size(); ++i) {
    operands.push_back(
        format_operand(instruction.operands[i], op.operand_kind(i, instruction.flags), layout));
  }
  if (!operands.empty()) {
    text += " " + fmt::format("{}", fmt::join(operands, ", "));
  }
  return text;
}

std::string disassemble(const KernelImage& image) {
  validate(image);
  std::string text = fmt::format(".kernel {}\n", image.name);
  for (const ArgumentSlot& slot : image.arguments.slots()) {
    text +=
        fmt::format(".arg {} {}\n", slot.kind == SlotKind::buffer ? "buffer" : "scalar", slot.name);
  }
  text += "\n";
  for (const isa::Instruction& instruction : isa::decode(image.program).instructions) {
    text += "    " + format_instruction(instruction, image.arguments) + "\n";
  }
  return text;
}

}  // namespace npu
