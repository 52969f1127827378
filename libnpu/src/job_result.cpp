// Names of job statuses and errors.
#include <fmt/format.h>

#include <array>

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

}  // namespace

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
