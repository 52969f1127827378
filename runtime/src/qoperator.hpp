// Pre-quantized ONNX models in the QOperator format (onnxruntime's
// quantize_static with QuantFormat.QOperator, the ONNX Model Zoo's "-int8"
// files): each quantized operator rewritten, when the model is loaded, into
// its DequantizeLinear -> float operator -> QuantizeLinear form, which
// rewrite_qdq (qdq.hpp) then turns into what the compiler runs.
#pragma once

#include <cstddef>

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace npu::onnx_runtime {

struct QOperatorRewriteStats {
  std::size_t rewritten = 0;  // quantized operators, and 8-bit data movement on quantized tensors
  std::size_t folded = 0;     // quantized constants (weights, biases) dequantized here
};

// QLinearConv, QLinearMatMul and com.microsoft's QGemm, QLinearAdd,
// QLinearMul, QLinearGlobalAveragePool, QLinearAveragePool, QLinearConcat,
// QLinearSigmoid and QLinearLeakyRelu become Conv, MatMul, Gemm, ... on
// their dequantized operands, followed by a QuantizeLinear with the
// output's scale and zero point (none for a QGemm with a float output).
// A constant operand (weights: per tensor, or per output channel for
// QLinearConv, QLinearMatMul's columns and QGemm's B; int32 biases in units
// of s_x * s_w[k], and alpha for QGemm) is dequantized here into a float32
// initializer, float(q - zp) * s; a computed one is read through a
// DequantizeLinear of its producer's QuantizeLinear. MaxPool, Reshape,
// Flatten, Transpose, Squeeze, Unsqueeze and Identity on a quantized tensor
// (onnxruntime runs them on the 8-bit values) become the same op between a
// DequantizeLinear and a QuantizeLinear of the input's parameters, which is
// exact: each selects or moves values.
// ModelError naming the node for a scale that is not a constant float32,
// finite and positive, of one element or (for a constant weight) one per
// output channel; a zero point that is not a constant of the operand's
// type (int8 or uint8), of the scale's shape, inside the type; a bias that
// is not a constant int32 of one element per output channel; an operand
// computed by something other than a QuantizeLinear or a quantized
// operator; channels_last; an input count the operator does not take.
// Dynamic quantization (DynamicQuantizeLinear, MatMulInteger, ...) is
// rewritten before this pass (dynamic_quantization.hpp).
// A model without these operators is left untouched.
QOperatorRewriteStats rewrite_qoperator(::onnx::ModelProto& model);

}  // namespace npu::onnx_runtime
