// GuardedSchemaRegistry: ONNX's schemas, the fragile inference functions
// checked first.
#include "shape_inference_guard.hpp"

#include <onnx/defs/shape_inference.h>
#include <onnx/defs/tensor_proto_util.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "newer_schemas.hpp"

namespace npu::onnx_runtime {

namespace {

using ::onnx::InferenceContext;

// Operators whose inference reads the weight's (or kernel's) dimensions for
// each spatial dimension of the input (onnx/defs/nn/defs.cc,
// convPoolShapeInference and convTransposeShapeInference).
const std::set<std::string> kConvolutionLike = {
    "Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool",
};

int rank_of(InferenceContext& ctx, std::size_t input) {
  return ::onnx::hasInputShape(ctx, input) ? ::onnx::getInputShape(ctx, input).dim_size() : -1;
}

// @attribute, if given, has @length values, each at least @least.
void expect_values(InferenceContext& ctx, const char* attribute, int length, std::int64_t least) {
  const ::onnx::AttributeProto* value = ctx.getAttribute(attribute);
  if (!value) {
    return;
  }
  if (value->ints_size() != length) {
    fail_shape_inference("attribute ", attribute, " has ", value->ints_size(),
                         " values, the input has ", length, " spatial dimensions");
  }
  for (const std::int64_t v : value->ints()) {
    if (v < least) {
      fail_shape_inference("attribute ", attribute, " has the value ", v);
    }
  }
}

// An NC... input, a weight of the same rank, and per-dimension attributes of
// as many values as there are spatial dimensions.
void check_convolution_like(InferenceContext& ctx, const std::string& op) {
  const int rank = rank_of(ctx, 0);
  if (rank < 0) {
    return;
  }
  if (rank < 3) {
    fail_shape_inference(op, ": the input has rank ", rank, ", at least 3 (N, C, a spatial one)");
  }
  const bool has_weight = op != "MaxPool" && op != "AveragePool" && op != "LpPool";
  const std::size_t weight = op == "QLinearConv" ? 3 : 1;
  if (has_weight && rank_of(ctx, weight) >= 0 && rank_of(ctx, weight) != rank) {
    fail_shape_inference(op, ": the weight has rank ", rank_of(ctx, weight), ", the input ", rank);
  }
  const int spatial = rank - 2;
  for (const char* attribute : {"kernel_shape", "strides", "dilations"}) {
    expect_values(ctx, attribute, spatial, 1);  // the inference divides by them
  }
  expect_values(ctx, "output_padding", spatial, 0);
  expect_values(ctx, "pads", 2 * spatial, 0);
  const ::onnx::AttributeProto* output_shape = ctx.getAttribute("output_shape");
  if (output_shape && output_shape->ints_size() != spatial && output_shape->ints_size() != rank) {
    fail_shape_inference(op, ": output_shape has ", output_shape->ints_size(), " values");
  }
}

// Gemm's inference indexes two dimensions of A and of B.
void check_gemm(InferenceContext& ctx) {
  for (std::size_t input = 0; input < 2 && input < ctx.getNumInputs(); ++input) {
    const int rank = rank_of(ctx, input);
    if (rank >= 0 && rank != 2) {
      fail_shape_inference("Gemm: input ", input, " has rank ", rank, ", not 2");
    }
  }
}

// MaxUnpool's inference gives only the rank when its output_shape input is
// given; a constant one (an initializer) is the shape.
void unpool_shape_from_input(InferenceContext& ctx) {
  const ::onnx::TensorProto* given = ctx.getNumInputs() > 2 ? ctx.getInputData(2) : nullptr;
  if (given == nullptr || given->data_type() != ::onnx::TensorProto::INT64) {
    return;
  }
  const std::vector<std::int64_t> dims = ::onnx::ParseData<std::int64_t>(given);
  ::onnx::TensorShapeProto* shape = ctx.getOutputType(0)->mutable_tensor_type()->mutable_shape();
  if (static_cast<int>(dims.size()) != rank_of(ctx, 0)) {
    fail_shape_inference("MaxUnpool: output_shape has ", dims.size(), " values, the input rank ",
                         rank_of(ctx, 0));
  }
  shape->clear_dim();
  for (const std::int64_t dim : dims) {
    if (dim < 1) {
      fail_shape_inference("MaxUnpool: output_shape holds ", dim);
    }
    shape->add_dim()->set_dim_value(dim);
  }
}

::onnx::InferenceFunction guarded(const std::string& op, ::onnx::InferenceFunction inference) {
  return [op, inference = std::move(inference)](InferenceContext& ctx) {
    if (op == "Gemm") {
      check_gemm(ctx);
    } else if (op != "MaxUnpool") {
      check_convolution_like(ctx, op);
    }
    inference(ctx);
    if (op == "MaxUnpool") {
      unpool_shape_from_input(ctx);
    }
  };
}

}  // namespace

const GuardedSchemaRegistry& guarded_schemas() {
  static const GuardedSchemaRegistry schemas;
  return schemas;
}

const ::onnx::OpSchema* GuardedSchemaRegistry::GetSchema(const std::string& key,
                                                         int max_inclusive_version,
                                                         const std::string& domain) const {
  // The runtime's newer schemas first: libonnx would give a Reduce* of
  // opset 18 its opset-13 schema.
  if (const ::onnx::OpSchema* newer = newer_schema(key, max_inclusive_version, domain)) {
    return newer;
  }
  const ::onnx::OpSchema* schema =
      ::onnx::OpSchemaRegistry::Instance()->GetSchema(key, max_inclusive_version, domain);
  if (!schema) {
    return nullptr;
  }
  if (!schema->has_type_and_shape_inference_function() ||
      (key != "Gemm" && key != "MaxUnpool" && !kConvolutionLike.contains(key))) {
    return schema;
  }
  const std::lock_guard lock(mutex_);
  auto& copy = guarded_[Key{key, max_inclusive_version, domain}];
  if (!copy) {
    copy = std::make_unique<::onnx::OpSchema>(*schema);
    copy->TypeAndShapeInferenceFunction(guarded(key, schema->GetTypeAndShapeInferenceFunction()));
  }
  return copy.get();
}

}  // namespace npu::onnx_runtime
