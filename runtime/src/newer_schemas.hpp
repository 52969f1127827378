// Schemas of ONNX operators newer than Debian's libonnx 1.12 (operator sets
// up to 17) that the runtime lowers (GroupNormalization-18/21, Mish-18,
// Gelu-20, and ReduceLogSum, ReduceLogSumExp, ReduceMax, ReduceMean and
// ReduceMin of opset 18, whose axes became an input): without a schema a
// model using them is refused at load (a Reduce* given libonnx's opset-13
// schema, axes an attribute) and its shapes are not inferred. Each is
// written from the ONNX operator documentation of its version. And
// Einsum-12 with its output's dimensions inferred (libonnx infers its
// rank only); DFT-20 (its axis an input); and where libonnx's inference
// falls short: STFT-17 (it ignores onesided), OneHot 9/11 and Compress
// 9/11 (the new axis's length from a constant depth or condition).
#pragma once

#include <onnx/defs/schema.h>

#include <string>

namespace npu::onnx_runtime {

// The schema of `op` in version `version` of `domain`'s operator set, if it
// is one of these operators and that version has it; otherwise nullptr.
const ::onnx::OpSchema* newer_schema(const std::string& op, int version, const std::string& domain);

}  // namespace npu::onnx_runtime
