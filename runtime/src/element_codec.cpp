#include "element_codec.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>

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

}  // namespace

std::vector<std::byte> encode_elements(std::span<const float> values, isa::DataType dtype) {
  std::vector<std::byte> bytes(values.size() * isa::element_size(dtype));
  for (std::size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case isa::DataType::fp32:
        std::memcpy(&bytes[i * 4], &values[i], 4);
        break;
      case isa::DataType::fp16: {
        const auto half = static_cast<_Float16>(values[i]);
        std::memcpy(&bytes[i * 2], &half, 2);
        break;
      }
      case isa::DataType::bf16: {
        const std::uint16_t bf = to_bf16(values[i]);
        std::memcpy(&bytes[i * 2], &bf, 2);
        break;
      }
      default:
        throw std::invalid_argument("encode_elements: fp32, fp16 or bf16 only");
    }
  }
  return bytes;
}

std::vector<float> decode_elements(std::span<const std::byte> bytes, isa::DataType dtype) {
  const std::size_t size = isa::element_size(dtype);
  std::vector<float> values(bytes.size() / size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case isa::DataType::fp32:
        std::memcpy(&values[i], &bytes[i * 4], 4);
        break;
      case isa::DataType::fp16: {
        _Float16 half;
        std::memcpy(&half, &bytes[i * 2], 2);
        values[i] = static_cast<float>(half);
        break;
      }
      case isa::DataType::bf16: {
        std::uint16_t bf = 0;
        std::memcpy(&bf, &bytes[i * 2], 2);
        values[i] = from_bf16(bf);
        break;
      }
      default:
        throw std::invalid_argument("decode_elements: fp32, fp16 or bf16 only");
    }
  }
  return values;
}

std::size_t encoded_size(const Constant& constant, isa::DataType float_dtype) {
  if (constant.is_float()) {
    return constant.floats.size() * isa::element_size(float_dtype);
  }
  if (constant.type != ElementType::int8 && constant.type != ElementType::int32) {
    throw std::invalid_argument("only float, int8 and int32 constants go to the device");
  }
  return constant.ints.size() * (constant.type == ElementType::int8 ? 1 : 4);
}

std::vector<std::byte> encode_constant(const Constant& constant, isa::DataType float_dtype) {
  if (constant.is_float()) {
    return encode_elements(constant.floats, float_dtype);
  }
  if (constant.type != ElementType::int8 && constant.type != ElementType::int32) {
    throw std::invalid_argument("only float, int8 and int32 constants go to the device");
  }
  const std::size_t size = constant.type == ElementType::int8 ? 1 : 4;
  std::vector<std::byte> bytes(constant.ints.size() * size);
  for (std::size_t i = 0; i < constant.ints.size(); ++i) {
    const auto value = static_cast<std::uint32_t>(static_cast<std::int32_t>(constant.ints[i]));
    for (std::size_t b = 0; b < size; ++b) {
      bytes[i * size + b] = static_cast<std::byte>((value >> (8 * b)) & 0xffU);
    }
  }
  return bytes;
}

}  // namespace npu::onnx_runtime
