#include "newer_schemas.hpp"

#include <onnx/defs/shape_inference.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "einsum_equation.hpp"
#include "onnx_import.hpp"

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

// An element-wise activation of one float input, `since` its operator set:
// Mish-18 and Gelu-20 (with `approximate`, "none" or "tanh").
::onnx::OpSchema unary_activation(const char* name, int since, bool approximate) {
  ::onnx::OpSchema schema;
  schema.SetName(name)
      .SetDomain("")
      .SinceVersion(since)
      .Input(0, "X", "any shape", "T")
      .Output(0, "Y", "X's shape", "T")
      .TypeConstraint("T",
                      {"tensor(float16)", "tensor(float)", "tensor(double)", "tensor(bfloat16)"},
                      "float tensors")
      .TypeAndShapeInferenceFunction(::onnx::propagateShapeAndTypeFromFirstInput);
  if (approximate) {
    schema.Attr("approximate", "none (erf) or tanh", ::onnx::AttributeProto::STRING,
                std::string("none"));
  }
  schema.Finalize();
  return schema;
}

// A Reduce* operator of opset 18, its axes an optional input as ReduceSum's
// since opset 13: libonnx's ReduceSum-13 inference (which reads the axes
// when they are a constant and honours noop_with_empty_axes) infers its
// shape.
::onnx::OpSchema reduce_with_axes_input(const char* name) {
  const ::onnx::OpSchema* reduce_sum = ::onnx::OpSchemaRegistry::Schema("ReduceSum", 13, "");
  ::onnx::OpSchema schema;
  schema.SetName(name)
      .SetDomain("")
      .SinceVersion(18)
      .Attr("keepdims", "keep the reduced axes as 1", ::onnx::AttributeProto::INT,
            static_cast<std::int64_t>(1))
      .Attr("noop_with_empty_axes", "no axes given: the identity, not every axis",
            ::onnx::AttributeProto::INT, static_cast<std::int64_t>(0))
      .Input(0, "data", "any shape", "T")
      .Input(1, "axes", "the axes to reduce", "tensor(int64)", ::onnx::OpSchema::Optional)
      .Output(0, "reduced", "data's shape, the reduced axes 1 or dropped", "T")
      .TypeConstraint("T",
                      {"tensor(float16)", "tensor(float)", "tensor(double)", "tensor(bfloat16)",
                       "tensor(int32)", "tensor(int64)", "tensor(uint32)", "tensor(uint64)",
                       "tensor(int8)", "tensor(uint8)"},
                      "numeric tensors")
      .TypeAndShapeInferenceFunction(reduce_sum->GetTypeAndShapeInferenceFunction());
  schema.Finalize();
  return schema;
}

// The opset-18 schema of the Reduce* operators the runtime lowers (ReduceSum
// has had the axes input since 13, in libonnx), or nullptr.
const ::onnx::OpSchema* reduce_schema_18(const std::string& op) {
  static const std::map<std::string, ::onnx::OpSchema> schemas = [] {
    std::map<std::string, ::onnx::OpSchema> by_name;
    for (const char* name : {"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                             "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"}) {
      by_name.emplace(name, reduce_with_axes_input(name));
    }
    return by_name;
  }();
  const auto it = schemas.find(op);
  return it == schemas.end() ? nullptr : &it->second;
}

// Einsum-12 as libonnx 1.12 defines it, with an inference of its own:
// libonnx's infers the output's rank only, which leaves every shape after
// an Einsum unknown, and corrupts memory on some malformed equations (an
// implicit output with upper-case labels: the model fuzzer, 2026-12-06).
// The output has the first operand's type and, with every operand's
// dimensions known and the equation valid, the dimensions it computes.
void infer_einsum(::onnx::InferenceContext& ctx) {
  if (ctx.getNumInputs() < 1 || ctx.getNumOutputs() != 1 || ctx.getOutputType(0) == nullptr) {
    return;  // a malformed node: refused when the model is checked
  }
  ::onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  const ::onnx::AttributeProto* equation = ctx.getAttribute("equation");
  std::vector<Shape> operands;
  for (std::size_t i = 0; i < ctx.getNumInputs(); ++i) {
    if (equation == nullptr || !::onnx::hasInputShape(ctx, i)) {
      return;
    }
    Shape& dims = operands.emplace_back();
    for (const auto& d : ::onnx::getInputShape(ctx, i).dim()) {
      if (!d.has_dim_value()) {
        return;
      }
      dims.push_back(d.dim_value());
    }
  }
  if (const std::optional<Shape> out = einsum_output_shape(equation->s(), operands)) {
    ::onnx::TensorShapeProto shape;
    for (const std::int64_t d : *out) {
      shape.add_dim()->set_dim_value(d);
    }
    ::onnx::updateOutputShape(ctx, 0, shape);
  }
}

::onnx::OpSchema einsum() {
  ::onnx::OpSchema schema;
  schema.SetName("Einsum")
      .SetDomain("")
      .SinceVersion(12)
      .Attr("equation", "the Einstein summation", ::onnx::AttributeProto::STRING)
      .Input(0, "Inputs", "the operands", "T", ::onnx::OpSchema::Variadic)
      .Output(0, "Output", "the equation's result", "T")
      .TypeConstraint("T",
                      {"tensor(uint8)", "tensor(uint16)", "tensor(uint32)", "tensor(uint64)",
                       "tensor(int8)", "tensor(int16)", "tensor(int32)", "tensor(int64)",
                       "tensor(float16)", "tensor(float)", "tensor(double)", "tensor(bfloat16)"},
                      "numeric tensors")
      .TypeAndShapeInferenceFunction(infer_einsum);
  schema.Finalize();
  return schema;
}

// The new axis of a OneHot whose depth is a constant: libonnx 1.12 leaves
// it unknown, and with it every shape after the OneHot.
void infer_one_hot_depth(::onnx::InferenceContext& ctx) {
  const ::onnx::TensorProto* depth = ctx.getNumInputs() > 1 ? ctx.getInputData(1) : nullptr;
  ::onnx::TypeProto* out = ctx.getNumOutputs() == 1 ? ctx.getOutputType(0) : nullptr;
  if (depth == nullptr || out == nullptr || !out->tensor_type().has_shape()) {
    return;
  }
  double value = 0;
  try {
    const Constant c = from_tensor_proto(*depth);
    if (c.size() != 1) {
      return;
    }
    value = c.value(0);
  } catch (const std::exception&) {
    return;  // malformed: refused when the model is checked
  }
  auto* shape = out->mutable_tensor_type()->mutable_shape();
  const int rank = shape->dim_size();
  const ::onnx::AttributeProto* attribute = ctx.getAttribute("axis");
  std::int64_t axis = attribute != nullptr ? attribute->i() : -1;
  axis += axis < 0 ? rank : 0;
  if (axis >= 0 && axis < rank && value >= 1 && value < static_cast<double>(1LL << 40)) {
    shape->mutable_dim(static_cast<int>(axis))
        ->set_dim_value(static_cast<std::int64_t>(std::floor(value)));
  }
}

// `op` of `version` as libonnx 1.12 defines it, its inference followed by
// `fill` (what libonnx leaves unknown).
::onnx::OpSchema libonnx_then(const char* op, int version,
                              void (*fill)(::onnx::InferenceContext&)) {
  ::onnx::OpSchema schema = *::onnx::OpSchemaRegistry::Schema(op, version, "");
  schema.TypeAndShapeInferenceFunction(
      [libonnx = schema.GetTypeAndShapeInferenceFunction(), fill](::onnx::InferenceContext& ctx) {
        libonnx(ctx);
        fill(ctx);
      });
  return schema;
}

// Compress's output shape (opsets 9 and 11) when the condition is a
// constant: libonnx infers none, which leaves every shape after a Compress
// unknown. The kept axis holds the condition's true values; without an axis
// the output is them, flattened.
void infer_compress(::onnx::InferenceContext& ctx) {
  const ::onnx::TensorProto* data = ctx.getNumInputs() > 1 ? ctx.getInputData(1) : nullptr;
  if (data == nullptr || !::onnx::hasInputShape(ctx, 0) || ctx.getNumOutputs() != 1) {
    return;
  }
  std::int64_t kept = 0;
  try {
    const Constant condition = from_tensor_proto(*data);
    for (std::int64_t i = 0; i < condition.size(); ++i) {
      kept += condition.value(i) != 0.0 ? 1 : 0;
    }
  } catch (const std::exception&) {
    return;  // malformed: refused when the model is checked
  }
  ::onnx::TensorShapeProto shape;
  const ::onnx::AttributeProto* axis = ctx.getAttribute("axis");
  if (axis == nullptr) {
    shape.add_dim()->set_dim_value(kept);
  } else {
    shape = ::onnx::getInputShape(ctx, 0);
    const std::int64_t a = axis->i() < 0 ? axis->i() + shape.dim_size() : axis->i();
    if (a < 0 || a >= shape.dim_size()) {
      return;
    }
    shape.mutable_dim(static_cast<int>(a))->set_dim_value(kept);
  }
  ::onnx::updateOutputShape(ctx, 0, shape);
}

// Input `index` of a node as one integer, if it is a constant of one value.
std::optional<std::int64_t> constant_scalar(::onnx::InferenceContext& ctx, std::size_t index) {
  const ::onnx::TensorProto* data = ctx.getNumInputs() > index ? ctx.getInputData(index) : nullptr;
  if (data == nullptr) {
    return std::nullopt;
  }
  try {
    const Constant c = from_tensor_proto(*data);
    return c.size() == 1 ? std::optional{c.integer(0)} : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;  // malformed: refused when the model is checked
  }
}

// Whether input `index` is given (an optional input may be named "").
bool has_input(::onnx::InferenceContext& ctx, std::size_t index) {
  return ctx.getNumInputs() > index && ctx.getInputType(index) != nullptr;
}

std::int64_t onesided_bins(::onnx::InferenceContext& ctx, std::int64_t length,
                           std::int64_t fallback) {
  const ::onnx::AttributeProto* onesided = ctx.getAttribute("onesided");
  return (onesided != nullptr ? onesided->i() : fallback) != 0 ? length / 2 + 1 : length;
}

// STFT-17: [batch, frames, bins, 2], frames = (length - frame_length) /
// frame_step + 1, bins halved by onesided (default 1). libonnx 1.12 ignores
// onesided, and refuses every onesided model whose output shape is declared.
void infer_stft(::onnx::InferenceContext& ctx) {
  if (ctx.getNumInputs() < 2 || ctx.getNumOutputs() != 1 || ctx.getOutputType(0) == nullptr) {
    return;  // a malformed node: refused when the model is checked
  }
  ::onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  const std::optional<std::int64_t> step = constant_scalar(ctx, 1);
  std::optional<std::int64_t> length = constant_scalar(ctx, 3);
  if (!length && has_input(ctx, 2) && ::onnx::hasInputShape(ctx, 2) &&
      ::onnx::getInputShape(ctx, 2).dim_size() == 1 &&
      ::onnx::getInputShape(ctx, 2).dim(0).has_dim_value()) {
    length = ::onnx::getInputShape(ctx, 2).dim(0).dim_value();
  }
  if (!::onnx::hasInputShape(ctx, 0) || !step || !length || *step < 1 || *length < 1) {
    return;
  }
  const auto& signal = ::onnx::getInputShape(ctx, 0);
  if (signal.dim_size() < 2 || !signal.dim(1).has_dim_value() ||
      signal.dim(1).dim_value() < *length) {
    return;
  }
  ::onnx::TensorShapeProto shape;
  *shape.add_dim() = signal.dim(0);
  shape.add_dim()->set_dim_value((signal.dim(1).dim_value() - *length) / *step + 1);
  shape.add_dim()->set_dim_value(onesided_bins(ctx, *length, 1));
  shape.add_dim()->set_dim_value(2);
  ::onnx::updateOutputShape(ctx, 0, shape);
}

::onnx::OpSchema stft_17() {
  ::onnx::OpSchema schema = *::onnx::OpSchemaRegistry::Schema("STFT", 17, "");
  schema.TypeAndShapeInferenceFunction(infer_stft);
  return schema;
}

// DFT-20, whose axis became an input (default -2): the input's shape, the
// axis dft_length long (halved by onesided), the last dimension 2.
void infer_dft_20(::onnx::InferenceContext& ctx) {
  if (ctx.getNumInputs() < 1 || ctx.getNumOutputs() != 1 || ctx.getOutputType(0) == nullptr) {
    return;
  }
  ::onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  if (!::onnx::hasInputShape(ctx, 0)) {
    return;
  }
  ::onnx::TensorShapeProto shape = ::onnx::getInputShape(ctx, 0);
  const int rank = shape.dim_size();
  std::int64_t axis = -2;
  if (has_input(ctx, 2)) {
    const std::optional<std::int64_t> given = constant_scalar(ctx, 2);
    if (!given) {
      return;
    }
    axis = *given;
  }
  axis += axis < 0 ? rank : 0;
  if (rank < 2 || axis < 0 || axis > rank - 2) {
    return;
  }
  auto* dim = shape.mutable_dim(static_cast<int>(axis));
  std::int64_t length = dim->has_dim_value() ? dim->dim_value() : 0;  // 0: unknown
  if (has_input(ctx, 1)) {
    length = constant_scalar(ctx, 1).value_or(0);
  }
  if (length >= 1) {
    dim->set_dim_value(onesided_bins(ctx, length, 0));
  } else {
    dim->clear_dim_value();
  }
  shape.mutable_dim(rank - 1)->set_dim_value(2);
  ::onnx::updateOutputShape(ctx, 0, shape);
}

::onnx::OpSchema dft_20() {
  using ::onnx::AttributeProto;
  ::onnx::OpSchema schema;
  schema.SetName("DFT")
      .SetDomain("")
      .SinceVersion(20)
      .Attr("inverse", "the inverse DFT", AttributeProto::INT, static_cast<std::int64_t>(0))
      .Attr("onesided", "only the first length / 2 + 1 bins", AttributeProto::INT,
            static_cast<std::int64_t>(0))
      .Input(0, "input", "[..., signal, ..., 1 or 2]", "T1")
      .Input(1, "dft_length", "the DFT's length", "T2", ::onnx::OpSchema::Optional)
      .Input(2, "axis", "the signal axis (default -2)", "tensor(int64)", ::onnx::OpSchema::Optional)
      .Output(0, "output", "the input's shape, the axis the bins, the last dimension 2", "T1")
      .TypeConstraint("T1",
                      {"tensor(float16)", "tensor(float)", "tensor(double)", "tensor(bfloat16)"},
                      "float tensors")
      .TypeConstraint("T2", {"tensor(int32)", "tensor(int64)"}, "integer lengths")
      .TypeAndShapeInferenceFunction(infer_dft_20);
  schema.Finalize();
  return schema;
}

// AveragePool-19, which added `dilations`: AveragePool-11's attributes and
// the attribute, its shape inferred as libonnx's MaxPool-12 infers it (the
// same window arithmetic, dilations included).
::onnx::OpSchema average_pool_19() {
  using ::onnx::AttributeProto;
  ::onnx::OpSchema schema;
  schema.SetName("AveragePool")
      .SetDomain("")
      .SinceVersion(19)
      .Attr("auto_pad", "NOTSET, SAME_UPPER, SAME_LOWER or VALID", AttributeProto::STRING,
            std::string("NOTSET"))
      .Attr("ceil_mode", "ceil instead of floor for the output size", AttributeProto::INT,
            static_cast<std::int64_t>(0))
      .Attr("count_include_pad", "count the padding in each average", AttributeProto::INT,
            static_cast<std::int64_t>(0))
      .Attr("dilations", "dilation along each spatial axis", AttributeProto::INTS, false)
      .Attr("kernel_shape", "the window along each spatial axis", AttributeProto::INTS, true)
      .Attr("pads", "padding at the start and end of each spatial axis", AttributeProto::INTS,
            false)
      .Attr("strides", "stride along each spatial axis", AttributeProto::INTS, false)
      .Input(0, "X", "N x C x D1 x ...", "T")
      .Output(0, "Y", "N x C x the pooled axes", "T")
      .TypeConstraint("T",
                      {"tensor(float16)", "tensor(float)", "tensor(double)", "tensor(bfloat16)"},
                      "float tensors")
      .TypeAndShapeInferenceFunction(
          ::onnx::OpSchemaRegistry::Schema("MaxPool", 12, "")->GetTypeAndShapeInferenceFunction());
  schema.Finalize();
  return schema;
}

}  // namespace

const ::onnx::OpSchema* newer_schema(const std::string& op, int version,
                                     const std::string& domain) {
  if (!domain.empty() && domain != "ai.onnx") {
    return nullptr;
  }
  if (version >= 18) {
    if (const ::onnx::OpSchema* reduce = reduce_schema_18(op)) {
      return reduce;
    }
  }
  if (op == "Einsum") {
    static const ::onnx::OpSchema schema = einsum();
    return version >= 12 ? &schema : nullptr;
  }
  if (op == "OneHot") {
    static const ::onnx::OpSchema v9 = libonnx_then("OneHot", 9, infer_one_hot_depth);
    static const ::onnx::OpSchema v11 = libonnx_then("OneHot", 11, infer_one_hot_depth);
    return version >= 11 ? &v11 : version >= 9 ? &v9 : nullptr;
  }
  if (op == "AveragePool" && version >= 19) {
    static const ::onnx::OpSchema schema = average_pool_19();
    return &schema;
  }
  if (op == "Compress") {
    static const ::onnx::OpSchema v9 = libonnx_then("Compress", 9, infer_compress);
    static const ::onnx::OpSchema v11 = libonnx_then("Compress", 11, infer_compress);
    return version >= 11 ? &v11 : version >= 9 ? &v9 : nullptr;
  }
  if (op == "STFT") {
    static const ::onnx::OpSchema stft = stft_17();
    return version >= 17 ? &stft : nullptr;
  }
  if (op == "DFT" && version >= 20) {
    static const ::onnx::OpSchema dft = dft_20();
    return &dft;
  }
  if (op == "Mish") {
    static const ::onnx::OpSchema mish = unary_activation("Mish", 18, false);
    return version >= 18 ? &mish : nullptr;
  }
  if (op == "Gelu") {
    static const ::onnx::OpSchema gelu = unary_activation("Gelu", 20, true);
    return version >= 20 ? &gelu : nullptr;
  }
  if (op != "GroupNormalization") {
    return nullptr;
  }
  static const ::onnx::OpSchema v18 = group_normalization(18);
  static const ::onnx::OpSchema v21 = group_normalization(21);
  return version >= 21 ? &v21 : version >= 18 ? &v18 : nullptr;
}

}  // namespace npu::onnx_runtime
