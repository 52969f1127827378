// Pre-quantized ONNX models (the QDQ format onnxruntime's quantize_static
// writes): QuantizeLinear and DequantizeLinear rewritten, when the model is
// loaded, into what the rest of the compiler already runs.
#pragma once

#include <cstddef>

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace npu::onnx_runtime {

struct QdqRewriteStats {
  std::size_t folded = 0;  // QuantizeLinear/DequantizeLinear of constants, computed here
  // QuantizeLinear -> DequantizeLinear pairs on computed tensors, and
  // QuantizeLinear into graph outputs: float rounding that needs FP32
  std::size_t round_trips = 0;
  std::size_t dequantized_inputs = 0;  // DequantizeLinear of computed integers
};

// Every DequantizeLinear of a constant (an int8, uint8 or int32 weight or
// bias) becomes a float32 initializer, computed as onnxruntime computes it:
// float(q - zp) * s, per tensor or per axis. Every QuantizeLinear of a
// computed tensor must be read only by DequantizeLinear; each such pair
// becomes ONNX's exact result in float32 arithmetic the device runs:
//   Div by s, Clip to [type_min - zp, type_max - zp], round half to even
//   (Add then Sub 1.5 * 2^23), Mul by the DequantizeLinear's scale
// (and an Add of zp_q - zp_dq before it if the two zero points differ).
// A QuantizeLinear into a graph output (a quantized model's uint8 or int8
// result) is the same arithmetic up to the rounding, then Add zp and a
// Cast to its type. A DequantizeLinear of a computed tensor no
// QuantizeLinear made (a uint8 or int8 graph input: a quantized model's
// image) is Cast to float, Sub zp, Mul s: onnxruntime's float(x - zp) * s.
// A DequantizeLinear (per tensor) of a Gather of a constant 8-bit or int32
// table (quantize_dynamic's embedding) is a Gather of the table dequantized
// here. Per-axis scales on a computed tensor need its shape declared.
// ModelError naming the node for anything else: a scale not constant, not
// float32, not finite or not positive; a zero point outside its type or of
// another shape than the scale; a per-axis scale whose length is not the
// axis' extent (or on a tensor of undeclared shape, or quantized and read by
// a DequantizeLinear); an element type other than int8, uint8 (and int32
// for DequantizeLinear, zero point 0); block_size or output_dtype (opset
// 21); a QuantizeLinear read by another op. A model without either op is
// left untouched.
QdqRewriteStats rewrite_qdq(::onnx::ModelProto& model);

}  // namespace npu::onnx_runtime
