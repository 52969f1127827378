#include "element_codec.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace npu::onnx_runtime {
namespace {

std::uint16_t to_bf16(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fff'ffffU) > 0x7f80'0000U) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x40U);  // quiet NaN
  }
  const std::uint32_t rounding = 0x7fffU + ((bits >> 16) & 1U);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

float from_bf16(std::uint16_t value) {
  return std::bit_cast<float>(std::uint32_t{value} << 16);
}

void check_sizes(std::size_t elements, std::size_t bytes, isa::DataType dtype, const char* what) {
  if (dtype != isa::DataType::fp32 && dtype != isa::DataType::fp16 &&
      dtype != isa::DataType::bf16) {
    throw std::invalid_argument(std::string(what) + ": fp32, fp16 or bf16 only");
  }
  if (elements * isa::element_size(dtype) != bytes) {
    throw std::invalid_argument(std::string(what) + ": the element and byte counts differ");
  }
}

}  // namespace

// One loop per type, the type chosen once: these run on every inference's
// inputs and outputs, on the guest's emulated CPU.
void encode_elements_into(std::span<const float> values, isa::DataType dtype,
                          std::span<std::byte> out) {
  static_assert(std::endian::native == std::endian::little, "the device's floats are LE");
  check_sizes(values.size(), out.size(), dtype, "encode_elements");
  if (dtype == isa::DataType::fp32) {
    std::ranges::copy(std::as_bytes(values), out.begin());  // no memcpy from null when empty
    return;
  }
  std::byte* next = out.data();
  if (dtype == isa::DataType::fp16) {
    for (const float value : values) {
      const auto half = static_cast<_Float16>(value);
      std::memcpy(next, &half, 2);
      next += 2;
    }
    return;
  }
  for (const float value : values) {
    const std::uint16_t bf = to_bf16(value);
    std::memcpy(next, &bf, 2);
    next += 2;
  }
}

std::vector<std::byte> encode_elements(std::span<const float> values, isa::DataType dtype) {
  std::vector<std::byte> bytes(values.size() * isa::element_size(dtype));
  encode_elements_into(values, dtype, bytes);
  return bytes;
}

std::vector<std::byte> encode_constant_elements(std::span<const float> values,
                                                isa::DataType dtype) {
  if (dtype == isa::DataType::fp32) {
    return encode_elements(values, dtype);
  }
  // The largest finite FP16 (0x7bff) and BF16 (0x7f7f).
  const float largest =
      dtype == isa::DataType::fp16 ? 65504.0F : std::bit_cast<float>(0x7f7f'0000U);
  std::vector<float> saturated(values.begin(), values.end());
  for (float& value : saturated) {
    if (std::isfinite(value)) {
      value = std::clamp(value, -largest, largest);
    }
  }
  return encode_elements(saturated, dtype);
}

void decode_elements_into(std::span<const std::byte> bytes, isa::DataType dtype,
                          std::span<float> out) {
  check_sizes(out.size(), bytes.size(), dtype, "decode_elements");
  if (dtype == isa::DataType::fp32) {
    std::ranges::copy(bytes, std::as_writable_bytes(out).begin());
    return;
  }
  const std::byte* next = bytes.data();
  if (dtype == isa::DataType::fp16) {
    for (float& value : out) {
      _Float16 half;
      std::memcpy(&half, next, 2);
      value = static_cast<float>(half);
      next += 2;
    }
    return;
  }
  for (float& value : out) {
    std::uint16_t bf = 0;
    std::memcpy(&bf, next, 2);
    value = from_bf16(bf);
    next += 2;
  }
}

std::vector<float> decode_elements(std::span<const std::byte> bytes, isa::DataType dtype) {
  std::vector<float> values(bytes.size() / isa::element_size(dtype));
  decode_elements_into(bytes.first(values.size() * isa::element_size(dtype)), dtype, values);
  return values;
}

namespace {

// Bytes per element of an integer constant on the device.
std::size_t integer_size(ElementType type) {
  switch (type) {
    case ElementType::int8:
    case ElementType::boolean:
      return 1;
    case ElementType::int32:
      return 4;
    case ElementType::int64:
      return 8;
    default:
      throw std::invalid_argument(
          "only float, int8, int32 and (a graph output's) int64 and bool constants go to the "
          "device");
  }
}

}  // namespace

std::size_t encoded_size(const Constant& constant, isa::DataType float_dtype) {
  if (constant.is_float()) {
    return constant.floats.size() * isa::element_size(float_dtype);
  }
  return constant.ints.size() * integer_size(constant.type);
}

std::vector<std::byte> encode_constant(const Constant& constant, isa::DataType float_dtype) {
  if (constant.is_float()) {
    return encode_constant_elements(constant.floats, float_dtype);
  }
  const std::size_t size = integer_size(constant.type);
  std::vector<std::byte> bytes(constant.ints.size() * size);
  for (std::size_t i = 0; i < constant.ints.size(); ++i) {
    const auto value = static_cast<std::uint64_t>(constant.ints[i]);  // two's complement, LE
    for (std::size_t b = 0; b < size; ++b) {
      bytes[i * size + b] = static_cast<std::byte>((value >> (8 * b)) & 0xffU);
    }
  }
  return bytes;
}

}  // namespace npu::onnx_runtime
