// The shared state behind npu::Kernel: what a launch needs, kept alive by
// every Kernel copy and every job that runs it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "npu/buffer.hpp"
#include "npu/kernel_image.hpp"

namespace npu::detail {

struct ResidentKernel {
  std::string name;
  ArgumentLayout arguments;       // with every scalar's kind resolved (npu::scalar_kinds())
  std::vector<bool> value_slots;  // see npu::value_slots()
  std::uint32_t program_size;
  Buffer program;
  std::vector<std::pair<std::uint32_t, Buffer>> constants;  // slot, uploaded data
  std::uint64_t workspace_size;
};

}  // namespace npu::detail
