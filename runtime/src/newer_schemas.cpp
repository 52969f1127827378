#include "newer_schemas.hpp"

#include <onnx/defs/shape_inference.h>

#include <cstdint>

namespace npu::onnx_runtime {
namespace {

// GroupNormalization-18 (scale and bias per group) and -21 (per channel,
// and `stash_type`): the output has the input's type and shape.
::onnx::OpSchema group_normalization(int since) {
  ::onnx::OpSchema schema;
  schema.SetName("GroupNormalization")
      .SetDomain("")
      .SinceVersion(since)
      .Attr("epsilon", "added to the variance", ::onnx::AttributeProto::FLOAT, 1e-5F)
      .Attr("num_groups", "groups of channels", ::onnx::AttributeProto::INT)
      .Input(0, "X", "N x C x D1 x ...", "T")
      .Input(1, "scale", "per group (18) or per channel (21)", "T")
      .Input(2, "bias", "per group (18) or per channel (21)", "T")
      .Output(0, "Y", "X's shape", "T")
      .TypeConstraint("T",
                      {"tensor(float16)", "tensor(float)", "tensor(double)", "tensor(bfloat16)"},
                      "float tensors")
      .TypeAndShapeInferenceFunction(::onnx::propagateShapeAndTypeFromFirstInput);
  if (since >= 21) {
    schema.Attr("stash_type", "precision of the mean and variance", ::onnx::AttributeProto::INT,
                static_cast<std::int64_t>(1));
  }
  schema.Finalize();
  return schema;
}

}  // namespace

const ::onnx::OpSchema* newer_schema(const std::string& op, int version,
                                     const std::string& domain) {
  if (op != "GroupNormalization" || (!domain.empty() && domain != "ai.onnx")) {
    return nullptr;
  }
  static const ::onnx::OpSchema v18 = group_normalization(18);
  static const ::onnx::OpSchema v21 = group_normalization(21);
  return version >= 21 ? &v21 : version >= 18 ? &v18 : nullptr;
}

}  // namespace npu::onnx_runtime
