#include "weight_upload.hpp"

#include <malloc.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "element_codec.hpp"
#include "memory_plan.hpp"

namespace npu::onnx_runtime {

namespace {

void write_at(std::span<std::byte> destination, std::uint64_t offset,
              std::span<const std::byte> bytes) {
  if (offset > destination.size() || bytes.size() > destination.size() - offset) {
    throw std::out_of_range("a weight does not fit the weight buffer");
  }
  std::ranges::copy(bytes, destination.begin() + static_cast<std::ptrdiff_t>(offset));
}

}  // namespace

WeightLayout layout_weights(const std::map<std::string, Constant>& weights,
                            isa::DataType float_dtype) {
  WeightLayout layout;
  for (const auto& [name, constant] : weights) {
    layout.offsets[name] = layout.bytes;
    const std::uint64_t end = layout.bytes + encoded_size(constant, float_dtype);
    layout.bytes = (end + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  }
  return layout;
}

void upload_weights(std::map<std::string, Constant>& weights,
                    const std::map<std::string, std::uint64_t>& offsets, isa::DataType float_dtype,
                    std::span<std::byte> destination) {
  const std::size_t element_size = isa::element_size(float_dtype);
  for (auto& [name, constant] : weights) {
    const std::uint64_t offset = offsets.at(name);
    if (constant.is_float()) {
      const std::span<const float> values(constant.floats);
      for (std::size_t first = 0; first < values.size(); first += kUploadSliceElements) {
        const auto slice =
            values.subspan(first, std::min(kUploadSliceElements, values.size() - first));
        write_at(destination, offset + first * element_size,
                 encode_constant_elements(slice, float_dtype));
      }
    } else {
      write_at(destination, offset, encode_constant(constant, float_dtype));
    }
    constant = Constant{};  // frees the values: the device has them
    // Returns the freed pages to the system now: a weight freed below
    // others on the heap would otherwise stay resident while the buffer,
    // in host memory, fills.
    malloc_trim(0);
  }
}

}  // namespace npu::onnx_runtime
