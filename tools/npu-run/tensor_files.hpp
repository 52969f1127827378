// The files behind --input and --output: what each holds, checked against
// the buffers before the job runs, and written after it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "launch_options.hpp"
#include "npy.hpp"

namespace npu_run {

struct InputTensor {
  InputSpec spec;
  std::optional<NpyHeader> header;  // for a .npy file
  std::vector<std::byte> data;
};

// Reads an --input file; throws (NpyError for a bad .npy) naming the file.
InputTensor read_input(const InputSpec& spec);

// The .npy header an --output is written with: its own :TYPE:SHAPE, or
// that of the .npy input of the same name; nullopt for a raw output.
// Throws std::invalid_argument when a .npy output has neither.
std::optional<NpyHeader> output_header(const OutputSpec& spec, std::span<const InputTensor> inputs);

// How many bytes of the buffer the output takes: throws when the buffer is
// smaller than the output needs.
std::size_t output_size(const OutputSpec& spec, const std::optional<NpyHeader>& header,
                        std::size_t buffer_size);

// Writes `bytes` (output_size() of them) to the output's file.
void write_output(const OutputSpec& spec, const std::optional<NpyHeader>& header,
                  std::span<const std::byte> bytes);

}  // namespace npu_run
