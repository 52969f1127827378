// Names of job statuses and errors, and failures described for people.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <string>
#include <vector>

#include "npu/isa.hpp"
#include "npu/queue.hpp"

namespace npu {
namespace {

// hw-spec 7.6, by code.
constexpr std::array<std::string_view, 13> kDeviceErrorNames{"NONE",
                                                             "DESC_INVALID",
                                                             "PROGRAM_INVALID",
                                                             "OPCODE_INVALID",
                                                             "OPCODE_UNSUPPORTED",
                                                             "OPERAND_INVALID",
                                                             "ARG_INDEX_INVALID",
                                                             "ALIGNMENT",
                                                             "MMU_FAULT",
                                                             "BUS_ERROR",
                                                             "UNCORRECTABLE",
                                                             "CONFIG_INVALID",
                                                             "TAIL_INVALID"};

// hw-spec 6.2, Q_ERROR_INFO[15:12].
constexpr std::array<std::string_view, 7> kMmuReasonNames{"",
                                                          "not present",
                                                          "permission",
                                                          "invalid entry",
                                                          "invalid address space",
                                                          "out of range",
                                                          "page-table walk error"};

// "write, not present": Q_ERROR_INFO's access kind and MMU fault reason.
std::string access_detail(const JobResult& result) {
  std::vector<std::string_view> parts;
  const std::uint32_t access = (result.error_info >> 8) & 0x3U;
  if (result.error == JobError::mmu_fault || result.error == JobError::bus_error) {
    if (access == 1 || access == 2) {
      parts.emplace_back(access == 1 ? "read" : "write");
    }
  }
  const std::uint32_t reason = (result.error_info >> 12) & 0xfU;
  if (result.error == JobError::mmu_fault && reason > 0 && reason < kMmuReasonNames.size()) {
    parts.push_back(kMmuReasonNames[reason]);
  }
  return parts.empty() ? std::string() : fmt::format(" ({})", fmt::join(parts, ", "));
}

// "instruction 3 (dma_copy, line 7) at byte 0x24": the instruction of the
// program that starts at `offset`, counted from 0.
std::string instruction_detail(std::uint32_t offset, const KernelImage* image) {
  if (image == nullptr || offset % 4 != 0) {
    return fmt::format("the instruction at byte {:#x}", offset);
  }
  std::size_t word = 0;
  for (std::size_t index = 0; word < image->program.size(); ++index) {
    const std::size_t start = word;
    const isa::DecodeResult decoded = isa::decode_one(image->program, word);
    if (!decoded.instruction) {
      break;
    }
    if (start * 4 != offset) {
      continue;
    }
    std::string where = std::string(isa::info(decoded.instruction->opcode).mnemonic);
    for (const LineEntry& line : image->line_table) {
      if (line.offset == offset) {
        where += fmt::format(", line {}", line.line);
      }
    }
    return fmt::format("instruction {} ({}) at byte {:#x}", index, where, offset);
  }
  return fmt::format("the instruction at byte {:#x}", offset);
}

}  // namespace

std::string describe(const JobResult& result, const KernelImage* image) {
  if (result.status != JobStatus::failed) {
    return result.error == JobError::none
               ? std::string(to_string(result.status))
               : fmt::format("{}: {}", to_string(result.status), to_string(result.error));
  }
  std::string text = to_string(result.error) + access_detail(result);
  if (result.error == JobError::arg_index_invalid) {
    text += fmt::format(" (slot {})", result.error_address);
  } else if (result.error_address != 0) {
    text += fmt::format(" at {:#x}", result.error_address);
  }
  if (result.error_offset) {
    text += " in " + instruction_detail(*result.error_offset, image);
    if (result.error_operand) {
      text += fmt::format(", operand {}", *result.error_operand);
    }
  }
  return text;
}

std::string to_string(JobError error) {
  const auto code = static_cast<std::uint32_t>(error);
  if (code < kDeviceErrorNames.size()) {
    return std::string(kDeviceErrorNames[code]);
  }
  switch (error) {
    case JobError::timeout:
      return "TIMEOUT";
    case JobError::device_lost:
      return "DEVICE_LOST";
    case JobError::devmem_lost:
      return "DEVMEM_LOST";
    default:
      return fmt::format("{:#x}", code);
  }
}

std::string_view to_string(JobStatus status) {
  switch (status) {
    case JobStatus::ok:
      return "ok";
    case JobStatus::failed:
      return "failed";
    case JobStatus::canceled:
      return "canceled";
    case JobStatus::timeout:
      return "timeout";
  }
  return "?";
}

}  // namespace npu
