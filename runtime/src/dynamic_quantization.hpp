// Dynamically quantized ONNX models (onnxruntime's quantize_dynamic: an
// activation quantized at run time from its own range, integer products
// with constant 8-bit weights): rewritten, when the model is loaded, into
// the float arithmetic the compiler runs.
#pragma once

#include <cstddef>

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace npu::onnx_runtime {

struct DynamicQuantizationStats {
  std::size_t quantizers = 0;        // DynamicQuantizeLinear, also inside DynamicQuantizeMatMul
  std::size_t integer_products = 0;  // MatMulInteger, ConvInteger, MatMulIntegerToFloat, ...
};

// DynamicQuantizeLinear(x) is onnxruntime's computation on float values:
//   lo = min(ReduceMin(x), 0), hi = max(ReduceMax(x), 0),
//   scale = hi == lo ? 1 : (hi - lo) / 255,
//   zero point = round_half_even(clamp(0 - lo / scale, 0, 255)),
//   y = clamp(round_half_even(x / scale) + zero point, 0, 255)
// (rounding by adding and subtracting 1.5 * 2^23, exact in FP32 only).
// MatMulInteger and ConvInteger become MatMul and Conv of the operands
// minus their zero points in float32: every product of two 8-bit values is
// exact, and the sums are exact while they stay below 2^24 in magnitude
// (beyond, FP32's rounding, relative 2^-24 per addition). A zero point of
// W of one value per output channel is reshaped to [M, 1, ...]; B's per
// column broadcasts as it is. com.microsoft's MatMulIntegerToFloat and
// DynamicQuantizeMatMul are the same with their scales and bias applied.
// A DequantizeLinear of such a value (Intel Neural Compressor's dynamic
// QDQ: DynamicQuantizeLinear into DequantizeLinear by its own scale and
// zero point) is (x - zp) * scale, per tensor. The 8-bit and int32 values
// keep their float form between these nodes (a Cast to float of one reads
// it directly); a Cast to the integer type is made only where something
// else reads the value or it is a graph output.
// ModelError naming the node for a zero point of A or X not known to be one
// value (ONNX's per-row form, which onnxruntime refuses too), one of
// unknown rank computed at run time, a DequantizeLinear of such a value by
// a scale not known to be one value, and for DynamicQuantizeLSTM. A model without these operators
// is left untouched.
DynamicQuantizationStats rewrite_dynamic_quantization(::onnx::ModelProto& model);

}  // namespace npu::onnx_runtime
