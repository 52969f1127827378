// Host-side conversion between float32 and the device's element types: the
// model's weights, inputs and outputs are float32 in the ONNX file and in
// npu-infer's .npy files; FP16/BF16 programs store them narrowed.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "graph.hpp"
#include "npu/isa.hpp"

namespace npu::onnx_runtime {

// `values` as `dtype` elements (fp32, fp16 or bf16), rounded to nearest even.
std::vector<std::byte> encode_elements(std::span<const float> values, isa::DataType dtype);
// The same into `out`, which holds exactly values.size() elements of
// `dtype` (a model's inputs go straight into the device-visible buffer).
void encode_elements_into(std::span<const float> values, isa::DataType dtype,
                          std::span<std::byte> out);
// A model's constant values as `dtype` elements: finite values beyond the
// type's range saturate to its largest finite value, as ONNX's float16
// converters clip weights (onnxconverter-common's max_finite_val), so that
// a mask's lowest FP32 value stays finite and 0 times it stays 0 (an
// infinity there makes NaN of every row it masks); infinities and NaN stay.
std::vector<std::byte> encode_constant_elements(std::span<const float> values, isa::DataType dtype);
// `bytes` of `dtype` elements widened to float32 (exactly).
std::vector<float> decode_elements(std::span<const std::byte> bytes, isa::DataType dtype);
// The same into `out`, which holds exactly as many values as `bytes` has
// elements (a model's outputs read once from the device-visible buffer).
void decode_elements_into(std::span<const std::byte> bytes, isa::DataType dtype,
                          std::span<float> out);
// A constant as the device reads it: float values as `float_dtype`, the INT8
// path's int8 weights and int32 biases, and a constant graph output's int64
// or bool values, as themselves (little-endian; bool one byte).
std::vector<std::byte> encode_constant(const Constant& constant, isa::DataType float_dtype);
// The bytes encode_constant() makes of `constant`, without making them.
std::size_t encoded_size(const Constant& constant, isa::DataType float_dtype);

}  // namespace npu::onnx_runtime
