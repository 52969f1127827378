// Command-line descriptions of a launch's buffers and scalars:
//   --buffer dst=4096   --buffer weights=2M@device   --scalar bytes=0x1000
//   --fill src=0xa5
//   --input x=x.npy     --input w=w.bin@device
//   --output y=y.npy:fp32:4x64   --output y=y.npy   --output y=y.bin:256
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "npu/buffer.hpp"
#include "npy.hpp"

namespace npu_run {

// The .npy code is shared with npu-infer (tools/common).
using npu_tools::NpyArray;
using npu_tools::NpyError;
using npu_tools::NpyHeader;
using npu_tools::NpyType;
using npu_tools::parse_npy_type;
using npu_tools::read_npy_file;
using npu_tools::write_npy_file;

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

// A buffer's contents from a file: a .npy tensor (by its extension), or raw
// bytes (the whole file).
struct InputSpec {
  std::string name;
  std::string path;
  bool npy = false;
  npu::MemoryPlacement placement = npu::MemoryPlacement::host;
};

// A buffer written to a file after the job. A .npy output has a type and a
// shape, or takes the header of the .npy input of the same name (an op that
// works in place); a raw output has a byte count or is the whole buffer.
struct OutputSpec {
  std::string name;
  std::string path;
  bool npy = false;
  std::optional<NpyHeader> header;  // npy with :TYPE:SHAPE
  std::optional<std::uint64_t> raw_size;

  // Bytes the output needs, when the spec says (to allocate its buffer).
  [[nodiscard]] std::optional<std::uint64_t> size() const;
};

// Each throws std::invalid_argument saying what is wrong with `text`.
std::uint64_t parse_number(std::string_view text);  // decimal or 0x hex
std::uint64_t parse_size(std::string_view text);    // a number with an optional K, M or G (binary)
BufferSpec parse_buffer_spec(std::string_view text);
ScalarSpec parse_scalar_spec(std::string_view text);
FillSpec parse_fill_spec(std::string_view text);
InputSpec parse_input_spec(std::string_view text);
OutputSpec parse_output_spec(std::string_view text);
// "4x64" -> {4, 64}; every dimension at least 1.
std::vector<std::uint64_t> parse_shape(std::string_view text);

}  // namespace npu_run
