// Command-line descriptions of a launch's buffers and scalars:
//   --buffer dst=4096   --buffer weights=2M@device   --scalar bytes=0x1000
//   --fill src=0xa5
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "npu/buffer.hpp"

namespace npu_run {

struct BufferSpec {
  std::string name;
  std::uint64_t size = 0;
  npu::MemoryPlacement placement = npu::MemoryPlacement::host;
};

struct ScalarSpec {
  std::string name;
  std::uint64_t value = 0;
};

struct FillSpec {
  std::string name;
  std::uint8_t byte = 0;
};

// Each throws std::invalid_argument saying what is wrong with `text`.
std::uint64_t parse_number(std::string_view text);  // decimal or 0x hex
std::uint64_t parse_size(std::string_view text);    // a number with an optional K, M or G (binary)
BufferSpec parse_buffer_spec(std::string_view text);
ScalarSpec parse_scalar_spec(std::string_view text);
FillSpec parse_fill_spec(std::string_view text);

}  // namespace npu_run
