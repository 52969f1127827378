// The weights of a compiled model, from the program's host values into the
// device buffer that holds them: a slice at a time, each weight released
// once written, so a model's weights are never on the host twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "graph.hpp"
#include "npu/isa.hpp"

namespace npu::onnx_runtime {

// Elements encoded per slice: the host holds at most this many weight
// elements in the device's form at once.
inline constexpr std::size_t kUploadSliceElements = std::size_t{1} << 20;

// Where each weight goes in the weight buffer (packed in name order, each
// at kTensorAlignment), and the buffer's size.
struct WeightLayout {
  std::map<std::string, std::uint64_t> offsets;
  std::uint64_t bytes = 0;
};
WeightLayout layout_weights(const std::map<std::string, Constant>& weights,
                            isa::DataType float_dtype);

// Writes each of `weights` at its offset in `destination` (the mapped
// weight buffer), floats as `float_dtype`, and empties it once written.
// std::out_of_range if a weight does not fit.
void upload_weights(std::map<std::string, Constant>& weights,
                    const std::map<std::string, std::uint64_t>& offsets, isa::DataType float_dtype,
                    std::span<std::byte> destination);

}  // namespace npu::onnx_runtime
