// Argument layouts and the validation of a kernel image's program.
#include "npu/kernel_image.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "npu/isa.hpp"

namespace npu {
namespace {

constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxProgramBytes = std::size_t{1} << 20;

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

std::string_view kind_name(SlotKind kind) {
  return kind == SlotKind::buffer ? "buffer" : "scalar";
}

SlotKind slot_kind_for(isa::OperandKind operand) {
  const bool is_address = operand == isa::OperandKind::address || operand == isa::OperandKind::bias;
  return is_address ? SlotKind::buffer : SlotKind::scalar;
}

void check_argument_references(const isa::Instruction& instruction, std::size_t byte_offset,
                               const ArgumentLayout& layout) {
  const isa::OpcodeInfo& op = isa::info(instruction.opcode);
  for (std::size_t i = 0; i < instruction.operands.size(); ++i) {
    const isa::Operand& operand = instruction.operands[i];
    if (!operand.is_argument) {
      continue;
    }
    if (operand.word >= layout.size()) {
      throw KernelFormatError(
          KernelErrc::argument_mismatch,
          fmt::format(
              "instruction at byte {} ({}): operand {} refers to slot {}, the kernel has {}",
              byte_offset, op.mnemonic, i, operand.word, layout.size()));
    }
    const ArgumentSlot& slot = layout[operand.word];
    const SlotKind wanted = slot_kind_for(op.operand_kind(i, instruction.flags));
    if (slot.kind != wanted) {
      throw KernelFormatError(
          KernelErrc::argument_mismatch,
          fmt::format("instruction at byte {} ({}): operand {} needs a {} slot, '{}' is a {}",
                      byte_offset, op.mnemonic, i, kind_name(wanted), slot.name,
                      kind_name(slot.kind)));
    }
  }
}

}  // namespace

bool is_valid_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength && is_name_start(name.front()) &&
         std::ranges::all_of(name, is_name_char);
}

ArgumentLayout::ArgumentLayout(std::vector<ArgumentSlot> slots) {
  for (ArgumentSlot& slot : slots) {
    add(slot.kind, std::move(slot.name), slot.info);
  }
}

std::uint32_t ArgumentLayout::add(SlotKind kind, std::string name, ArgumentInfo info) {
  if (!is_valid_name(name)) {
    throw std::invalid_argument(fmt::format("invalid argument name '{}'", name));
  }
  if (find(name)) {
    throw std::invalid_argument(fmt::format("duplicate argument name '{}'", name));
  }
  slots_.push_back({kind, std::move(name), info});
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

std::optional<std::uint32_t> ArgumentLayout::find(std::string_view name) const {
  const auto it = std::ranges::find(slots_, name, &ArgumentSlot::name);
  if (it == slots_.end()) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(it - slots_.begin());
}

namespace {

// How the program reads each scalar slot (unspecified: never, or both ways).
std::vector<ScalarKind> used_scalar_kinds(const KernelImage& image) {
  std::vector<bool> as_value(image.arguments.size(), false);
  std::vector<bool> as_float(image.arguments.size(), false);
  for (const isa::Instruction& instruction : isa::decode(image.program).instructions) {
    const isa::OpcodeInfo& op = isa::info(instruction.opcode);
    for (std::size_t i = 0; i < instruction.operands.size(); ++i) {
      const isa::Operand& operand = instruction.operands[i];
      if (!operand.is_argument || operand.word >= as_value.size()) {
        continue;
      }
      as_value[operand.word] =
          as_value[operand.word] || op.operand_kinds[i] == isa::OperandKind::value;
      as_float[operand.word] =
          as_float[operand.word] || op.operand_kinds[i] == isa::OperandKind::floating;
    }
  }
  std::vector<ScalarKind> kinds(image.arguments.size(), ScalarKind::unspecified);
  for (std::size_t slot = 0; slot < kinds.size(); ++slot) {
    if (as_value[slot] != as_float[slot]) {
      kinds[slot] = as_value[slot] ? ScalarKind::integer : ScalarKind::float32;
    }
  }
  return kinds;
}

[[noreturn]] void bad_metadata(const std::string& detail) {
  throw KernelFormatError(KernelErrc::bad_metadata, detail);
}

// The 1.1 metadata agrees with the layout and the program.
void check_metadata(const KernelImage& image) {
  const std::vector<ScalarKind> used = used_scalar_kinds(image);
  for (std::size_t slot = 0; slot < image.arguments.size(); ++slot) {
    const ArgumentSlot& argument = image.arguments[slot];
    const ArgumentInfo& info = argument.info;
    if (argument.kind == SlotKind::buffer && info.scalar != ScalarKind::unspecified) {
      bad_metadata(fmt::format("buffer argument '{}' has a scalar kind", argument.name));
    }
    if (argument.kind == SlotKind::scalar &&
        (info.access != Access::unspecified || info.size != 0 || info.alignment != 0)) {
      bad_metadata(fmt::format("scalar argument '{}' has buffer metadata", argument.name));
    }
    if (info.scalar != ScalarKind::unspecified && used[slot] != ScalarKind::unspecified &&
        info.scalar != used[slot]) {
      throw KernelFormatError(
          KernelErrc::argument_mismatch,
          fmt::format("argument '{}' is declared {} but read as {}", argument.name,
                      info.scalar == ScalarKind::float32 ? "float" : "integer",
                      used[slot] == ScalarKind::float32 ? "float" : "integer"));
    }
    if (info.scalar > ScalarKind::float32 || info.access > Access::read_write ||
        info.dtype > static_cast<std::uint8_t>(isa::DataType::int32) ||
        (info.alignment & (info.alignment - 1)) != 0) {
      bad_metadata(
          fmt::format("argument '{}': undefined kind, access, dtype or a non-power-of-2 "
                      "alignment",
                      argument.name));
    }
  }
  std::vector<bool> constant(image.arguments.size(), false);
  for (const ConstantData& data : image.constants) {
    if (data.slot >= image.arguments.size() ||
        image.arguments[data.slot].kind != SlotKind::buffer || constant[data.slot] ||
        data.bytes.empty()) {
      bad_metadata(
          fmt::format("constant data for slot {}: not a buffer slot of the kernel, "
                      "given twice, or empty",
                      data.slot));
    }
    constant[data.slot] = true;
  }
  std::uint32_t previous = 0;
  for (const LineEntry& entry : image.line_table) {
    if (entry.offset % 4 != 0 || entry.offset >= image.program.size() * 4 ||
        (&entry != image.line_table.data() && entry.offset <= previous)) {
      bad_metadata(
          fmt::format("line table entry at program offset {}: not increasing, unaligned "
                      "or past the program",
                      entry.offset));
    }
    previous = entry.offset;
  }
}

}  // namespace

void validate(const KernelImage& image) {
  if (!is_valid_name(image.name)) {
    throw KernelFormatError(KernelErrc::bad_name,
                            fmt::format("invalid kernel name '{}'", image.name));
  }
  if ((image.isa_version >> 16) != (isa::kIsaVersion >> 16) ||
      image.isa_version > isa::kIsaVersion) {
    throw KernelFormatError(KernelErrc::unsupported_isa,
                            fmt::format("the kernel needs ISA version {:#010x}, this library knows "
                                        "{:#010x}",
                                        image.isa_version, isa::kIsaVersion));
  }
  if (image.program.empty() || image.program.size() * 4 > kMaxProgramBytes) {
    throw KernelFormatError(KernelErrc::program_not_whole_words,
                            fmt::format("program of {} bytes (must be 4 to {} bytes)",
                                        image.program.size() * 4, kMaxProgramBytes));
  }
  std::size_t offset = 0;
  while (offset < image.program.size()) {
    const std::size_t byte_offset = offset * 4;
    isa::DecodeResult result = isa::decode_one(image.program, offset);
    if (result.error) {
      throw KernelFormatError(KernelErrc::invalid_instruction, result.error->message());
    }
    check_argument_references(*result.instruction, byte_offset, image.arguments);
    const std::uint32_t needed = isa::instruction_version(*result.instruction);
    if (needed > image.isa_version) {
      throw KernelFormatError(
          KernelErrc::unsupported_isa,
          fmt::format("instruction at byte {}: {} needs ISA version {:#010x}, the kernel declares "
                      "{:#010x}",
                      byte_offset, isa::info(result.instruction->opcode).mnemonic, needed,
                      image.isa_version));
    }
  }
  check_metadata(image);
}

std::vector<ScalarKind> scalar_kinds(const KernelImage& image) {
  const std::vector<ScalarKind> used = used_scalar_kinds(image);
  std::vector<ScalarKind> kinds(image.arguments.size(), ScalarKind::unspecified);
  for (std::size_t slot = 0; slot < kinds.size(); ++slot) {
    const ScalarKind declared = image.arguments[slot].info.scalar;
    kinds[slot] = declared != ScalarKind::unspecified ? declared : used[slot];
  }
  return kinds;
}

KernelRequirements requirements(const KernelImage& image) {
  KernelRequirements needs;
  for (const isa::Instruction& instruction : isa::decode(image.program).instructions) {
    needs.ops |= 1ULL << static_cast<unsigned>(instruction.opcode);
    if (instruction.dtype != isa::DataType::none) {
      needs.dtypes |= 1ULL << static_cast<unsigned>(instruction.dtype);
    }
  }
  return needs;
}

std::vector<bool> value_slots(const KernelImage& image) {
  std::vector<bool> slots(image.arguments.size(), false);
  for (const isa::Instruction& instruction : isa::decode(image.program).instructions) {
    const isa::OpcodeInfo& op = isa::info(instruction.opcode);
    for (std::size_t i = 0; i < instruction.operands.size(); ++i) {
      const isa::Operand& operand = instruction.operands[i];
      if (operand.is_argument && op.operand_kinds[i] == isa::OperandKind::value &&
          operand.word < slots.size()) {
        slots[operand.word] = true;
      }
    }
  }
  return slots;
}

}  // namespace npu
