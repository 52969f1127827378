#include "qoperator.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph.hpp"
#include "npu/onnx/model.hpp"
#include "onnx_import.hpp"
#include "unique_names.hpp"

namespace npu::onnx_runtime {

using npu::onnx::ModelError;

namespace {

using Nodes = ::google::protobuf::RepeatedPtrField<::onnx::NodeProto>;

bool default_domain(const ::onnx::NodeProto& node) {
  return node.domain().empty() || node.domain() == "ai.onnx";
}

bool microsoft_domain(const ::onnx::NodeProto& node) {
  return node.domain() == "com.microsoft";
}

// The node's name, or its first output's if it has none.
std::string node_name(const ::onnx::NodeProto& node) {
  return node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name();
}

std::string label(const ::onnx::NodeProto& node) {
  return fmt::format("{} '{}'", node.op_type(), node_name(node));
}

// One quantized input of an operator: its tensor, scale and zero point (by
// input index), and for a weight the axis that may carry one scale per
// output channel.
struct OperandSpec {
  const char* role;
  int tensor;
  int scale;
  int zero_point;
  bool per_channel = false;
};

// How a quantized operator maps to its float one.
struct OperatorSpec {
  const char* float_op;
  int min_inputs;
  int max_inputs;  // -1: a variadic tail of (tensor, scale, zero point)
  std::vector<OperandSpec> operands;
  int output_scale;                   // input index of the output's scale
  std::optional<int> bias;            // input index of an int32 bias
  bool float_output_allowed = false;  // QGemm: without an output scale, a float output
};

const std::map<std::string, OperatorSpec>& default_domain_operators() {
  static const std::map<std::string, OperatorSpec> specs{
      {"QLinearConv", {"Conv", 8, 9, {{"x", 0, 1, 2}, {"w", 3, 4, 5, true}}, 6, 8}},
      {"QLinearMatMul", {"MatMul", 8, 8, {{"a", 0, 1, 2}, {"b", 3, 4, 5, true}}, 6, {}}},
  };
  return specs;
}

const std::map<std::string, OperatorSpec>& microsoft_operators() {
  static const std::map<std::string, OperatorSpec> specs{
      {"QGemm", {"Gemm", 6, 9, {{"A", 0, 1, 2}, {"B", 3, 4, 5, true}}, 7, 6, true}},
      {"QLinearAdd", {"Add", 7, 8, {{"A", 0, 1, 2}, {"B", 3, 4, 5}}, 6, {}}},
      {"QLinearMul", {"Mul", 7, 8, {{"A", 0, 1, 2}, {"B", 3, 4, 5}}, 6, {}}},
      {"QLinearGlobalAveragePool", {"GlobalAveragePool", 4, 5, {{"X", 0, 1, 2}}, 3, {}}},
      {"QLinearAveragePool", {"AveragePool", 4, 5, {{"X", 0, 1, 2}}, 3, {}}},
      {"QLinearSigmoid", {"Sigmoid", 4, 5, {{"X", 0, 1, 2}}, 3, {}}},
      {"QLinearLeakyRelu", {"LeakyRelu", 4, 5, {{"X", 0, 1, 2}}, 3, {}}},
      {"QLinearConcat", {"Concat", 5, -1, {}, 0, {}}},
  };
  return specs;
}

// onnxruntime runs these on the 8-bit values of a quantized tensor: each
// selects or moves values, so dequantizing, running it in float and
// quantizing again with the same parameters gives the same numbers.
const std::set<std::string>& data_movement_operators() {
  static const std::set<std::string> ops{"MaxPool", "Reshape",   "Flatten", "Transpose",
                                         "Squeeze", "Unsqueeze", "Identity"};
  return ops;
}

const OperatorSpec* quantized_operator(const ::onnx::NodeProto& node) {
  if (!default_domain(node) && !microsoft_domain(node)) {
    return nullptr;
  }
  const auto& specs = default_domain(node) ? default_domain_operators() : microsoft_operators();
  const auto it = specs.find(node.op_type());
  return it == specs.end() ? nullptr : &it->second;
}

std::int64_t type_min(ElementType type) {
  return type == ElementType::int8 ? -128 : 0;
}
std::int64_t type_max(ElementType type) {
  return type == ElementType::int8 ? 127 : 255;
}

// A quantized tensor computed at run time: its element type and the names
// of the scale and zero point it was quantized with.
struct QuantizedTensor {
  ElementType type = ElementType::uint8;
  std::string scale;
  std::string zero_point;  // "": none (zero)
};

// Checked parameters of one operand.
struct Parameters {
  ElementType type = ElementType::uint8;
  std::vector<float> scales;
  std::vector<std::int64_t> zero_points;
};

class QOperatorRewriter {
 public:
  explicit QOperatorRewriter(::onnx::ModelProto& model) : graph_(*model.mutable_graph()) {
    for (int i = 0; i < graph_.initializer_size(); ++i) {
      initializers_[graph_.initializer(i).name()] = i;
    }
    names_ = UniqueNames(graph_);
    for (const auto& node : graph_.node()) {
      names_.insert(node.name());  // new nodes are named too
    }
  }

  QOperatorRewriteStats run() {
    Nodes rewritten;
    for (const ::onnx::NodeProto& node : graph_.node()) {
      if (const OperatorSpec* spec = quantized_operator(node)) {
        rewrite_operator(node, *spec, rewritten);
      } else if (default_domain(node) && data_movement_operators().contains(node.op_type()) &&
                 node.input_size() > 0 && quantized_.contains(node.input(0))) {
        rewrite_data_movement(node, rewritten);
      } else {
        if (default_domain(node) && node.op_type() == "QuantizeLinear") {
          track_quantize(node);
        }
        *rewritten.Add() = node;
      }
    }
    graph_.mutable_node()->Swap(&rewritten);
    return stats_;
  }

 private:
  [[noreturn]] static void refuse(const ::onnx::NodeProto& node, const std::string& why) {
    throw ModelError(fmt::format("{}: {}", label(node), why));
  }

  static bool present(const ::onnx::NodeProto& node, int index) {
    return index < node.input_size() && !node.input(index).empty();
  }

  const ::onnx::TensorProto* initializer(const std::string& name) const {
    const auto it = initializers_.find(name);
    return it == initializers_.end() ? nullptr : &graph_.initializer(it->second);
  }

  // Initializer `name` (the node's `what`) as a Constant of type `type`.
  Constant constant(const ::onnx::NodeProto& node, const std::string& name, const std::string& what,
                    ElementType type) const {
    const ::onnx::TensorProto* tensor = initializer(name);
    if (!tensor) {
      refuse(node, fmt::format("its {} '{}' is computed at run time; the runtime takes a constant",
                               what, name));
    }
    if (tensor->data_type() != static_cast<int>(type)) {
      refuse(node, fmt::format("its {} '{}' is {}; it must be {}", what, name,
                               to_string(static_cast<ElementType>(tensor->data_type())),
                               to_string(type)));
    }
    return from_tensor_proto(*tensor);
  }

  // The scale and zero point of a `type` tensor; one of each, or (`channels`
  // given) one per index of the output-channel axis of extent *channels.
  Parameters parameters(const ::onnx::NodeProto& node, const std::string& role, int scale_input,
                        int zero_point_input, ElementType type,
                        std::optional<std::int64_t> channels) const {
    Parameters p;
    p.type = type;
    const std::string what = role + " scale";
    const Constant scale = constant(node, node.input(scale_input), what, ElementType::float32);
    for (const float s : scale.floats) {
      if (!std::isfinite(s) || s <= 0.0F) {
        refuse(node, fmt::format("its {} '{}' holds {}; a scale must be finite and positive", what,
                                 node.input(scale_input), s));
      }
    }
    const bool one = scale.size() == 1 && scale.shape.size() <= 1;
    const bool per_channel =
        channels && scale.shape.size() == 1 && scale.shape[0] == *channels && *channels > 1;
    if (!one && !per_channel) {
      refuse(node, fmt::format(
                       "its {} '{}' has shape {}: {}", what, node.input(scale_input),
                       to_string(scale.shape),
                       channels ? fmt::format("one scale or one per output channel ({})", *channels)
                                : std::string("one scale (per tensor)")));
    }
    p.scales = scale.floats;
    if (!present(node, zero_point_input)) {
      p.zero_points.assign(p.scales.size(), 0);
      return p;
    }
    const std::string zero_what = role + " zero point";
    const Constant zero = constant(node, node.input(zero_point_input), zero_what, type);
    if (zero.shape != scale.shape) {
      refuse(node, fmt::format("its {} '{}' has shape {}, its scale {}", zero_what,
                               node.input(zero_point_input), to_string(zero.shape),
                               to_string(scale.shape)));
    }
    for (const std::int64_t z : zero.ints) {
      if (z < type_min(type) || z > type_max(type)) {
        refuse(node, fmt::format("its {} {} is outside {}", zero_what, z, to_string(type)));
      }
    }
    p.zero_points = zero.ints;
    return p;
  }

  std::string fresh(const std::string& base) { return names_.fresh(base); }

  void add_initializer(const std::string& name, const Constant& value) {
    initializers_[name] = graph_.initializer_size();
    *graph_.add_initializer() = to_tensor_proto(name, value);
  }

  ::onnx::NodeProto& add_node(Nodes& nodes, const std::string& op, const std::string& name,
                              const std::vector<std::string>& inputs, const std::string& output) {
    ::onnx::NodeProto& made = *nodes.Add();
    made.set_op_type(op);
    if (!name.empty()) {
      made.set_name(fresh(name));
    }
    for (const std::string& input : inputs) {
      made.add_input(input);
    }
    made.add_output(output);
    return made;
  }

  // The element type of quantized tensor `name` (a constant's or what made
  // it); ModelError naming the node if it is neither.
  ElementType quantized_type(const ::onnx::NodeProto& node, const std::string& role,
                             const std::string& name) const {
    if (const ::onnx::TensorProto* tensor = initializer(name)) {
      const auto type = static_cast<ElementType>(tensor->data_type());
      if (type != ElementType::int8 && type != ElementType::uint8) {
        refuse(node, fmt::format("its {} '{}' is {}; supported: int8, uint8", role, name,
                                 to_string(type)));
      }
      return type;
    }
    const auto it = quantized_.find(name);
    if (it == quantized_.end()) {
      if (const auto input = graph_input_type(name)) {
        if (*input != ElementType::int8 && *input != ElementType::uint8) {
          refuse(node, fmt::format("its {} '{}' is a graph input of {}; supported: int8, uint8",
                                   role, name, to_string(*input)));
        }
        return *input;  // a quantized model's input: dequantized by rewrite_qdq
      }
      refuse(node, fmt::format("its {} '{}' is neither a constant, a graph input nor quantized "
                               "by a QuantizeLinear or a quantized operator",
                               role, name));
    }
    if (it->second.type != ElementType::int8 && it->second.type != ElementType::uint8) {
      refuse(node, fmt::format("its {} '{}' is {}; supported: int8, uint8", role, name,
                               to_string(it->second.type)));
    }
    return it->second.type;
  }

  // The element type graph input `name` declares, if it is one.
  std::optional<ElementType> graph_input_type(const std::string& name) const {
    for (const auto& input : graph_.input()) {
      if (input.name() == name && input.type().has_tensor_type()) {
        return static_cast<ElementType>(input.type().tensor_type().elem_type());
      }
    }
    return std::nullopt;
  }

  // The float value of one operand: a constant dequantized here (ONNX's
  // float(q - zp) * s, per output channel along `axis` for a weight), or a
  // DequantizeLinear of a computed tensor.
  std::string dequantized(const ::onnx::NodeProto& node, const OperandSpec& operand,
                          std::optional<std::size_t> axis, Nodes& nodes, Parameters* checked) {
    const std::string& name = node.input(operand.tensor);
    const ElementType type = quantized_type(node, operand.role, name);
    const ::onnx::TensorProto* tensor = initializer(name);
    std::optional<std::int64_t> channels;
    if (tensor && axis) {
      if (*axis >= static_cast<std::size_t>(tensor->dims_size())) {
        refuse(node, fmt::format("its {} '{}' has rank {}, no output-channel axis {}", operand.role,
                                 name, tensor->dims_size(), *axis));
      }
      channels = tensor->dims(static_cast<int>(*axis));
    }
    const Parameters p =
        parameters(node, operand.role, operand.scale, operand.zero_point, type, channels);
    if (checked) {
      *checked = p;
    }
    if (!tensor) {
      std::vector<std::string> inputs{name, node.input(operand.scale)};
      if (present(node, operand.zero_point)) {
        inputs.push_back(node.input(operand.zero_point));
      }
      const std::string output = fresh(name + "/dequantized");
      add_node(nodes, "DequantizeLinear",
               fmt::format("{}/{}_dequantize", node_name(node), operand.role), inputs, output);
      return output;
    }
    const Constant q = from_tensor_proto(*tensor);
    std::int64_t inner = 1;
    if (p.scales.size() > 1) {
      for (std::size_t d = *axis + 1; d < q.shape.size(); ++d) {
        inner *= q.shape[d];
      }
    }
    std::vector<float> values(q.ints.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t c =
          p.scales.size() > 1
              ? static_cast<std::size_t>((static_cast<std::int64_t>(i) / inner) % q.shape[*axis])
              : 0;
      // onnxruntime's order: the difference in integers, one float product.
      values[i] = static_cast<float>(q.ints[i] - p.zero_points[c]) * p.scales[c];
    }
    const std::string output = fresh(name + "/dequantized");
    add_initializer(output, Constant::of_floats(q.shape, std::move(values)));
    ++stats_.folded;
    return output;
  }

  // An int32 bias in accumulator units: float(b[k]) * (s_0 * s_1[k] * alpha).
  std::string dequantized_bias(const ::onnx::NodeProto& node, int input, const Parameters& first,
                               const Parameters& second, std::int64_t channels, float alpha) {
    const std::string& name = node.input(input);
    const Constant bias = constant(node, name, "bias", ElementType::int32);
    if (bias.shape != Shape{channels}) {
      refuse(node, fmt::format("its bias '{}' has shape {}: one per output channel ({})", name,
                               to_string(bias.shape), channels));
    }
    std::vector<float> values(bias.ints.size());
    for (std::size_t k = 0; k < values.size(); ++k) {
      const float s = first.scales[0] * second.scales[second.scales.size() > 1 ? k : 0] * alpha;
      values[k] = static_cast<float>(bias.ints[k]) * s;
    }
    const std::string output = fresh(name + "/dequantized");
    add_initializer(output, Constant::of_floats(bias.shape, std::move(values)));
    ++stats_.folded;
    return output;
  }

  // The output-channel axis of operand `index`'s constant (a weight).
  static std::optional<std::size_t> channel_axis(const ::onnx::NodeProto& node,
                                                 const OperandSpec& operand,
                                                 const ::onnx::TensorProto* tensor) {
    if (!operand.per_channel || !tensor) {
      return std::nullopt;
    }
    if (node.op_type() == "QLinearConv") {
      return 0;
    }
    if (node.op_type() == "QGemm") {
      return int_attribute(node, "transB", 0) != 0 ? std::size_t{0} : std::size_t{1};
    }
    // QLinearMatMul: one scale per column of b.
    return tensor->dims_size() > 0 ? static_cast<std::size_t>(tensor->dims_size() - 1)
                                   : std::size_t{0};
  }

  static std::int64_t int_attribute(const ::onnx::NodeProto& node, const std::string& name,
                                    std::int64_t fallback) {
    for (const auto& a : node.attribute()) {
      if (a.name() == name) {
        return a.i();
      }
    }
    return fallback;
  }

  static float float_attribute(const ::onnx::NodeProto& node, const std::string& name,
                               float fallback) {
    for (const auto& a : node.attribute()) {
      if (a.name() == name) {
        return a.f();
      }
    }
    return fallback;
  }

  void check_inputs(const ::onnx::NodeProto& node, const OperatorSpec& spec) const {
    const int count = node.input_size();
    const bool variadic = spec.max_inputs < 0;
    if (count < spec.min_inputs || (!variadic && count > spec.max_inputs) ||
        (variadic && (count - 2) % 3 != 0)) {
      refuse(node, variadic ? fmt::format("{} inputs; it takes the output's scale and zero "
                                          "point, then (tensor, scale, zero point) per input",
                                          count)
                            : fmt::format("{} inputs; it takes {} to {}", count, spec.min_inputs,
                                          spec.max_inputs));
    }
    for (const OperandSpec& operand : spec.operands) {
      for (const int required : {operand.tensor, operand.scale}) {
        if (!present(node, required)) {
          refuse(node, fmt::format("its {} input {} is missing", operand.role, required));
        }
      }
    }
    if (node.output_size() != 1) {
      refuse(node, fmt::format("{} outputs; it makes one", node.output_size()));
    }
    if (!spec.float_output_allowed && !present(node, spec.output_scale)) {
      refuse(node, fmt::format("its output scale (input {}) is missing", spec.output_scale));
    }
    if (int_attribute(node, "channels_last", 0) != 0) {
      refuse(node, "channels_last (NHWC) is not supported");
    }
  }

  // QLinearConcat's operands: (tensor, scale, zero point) from input 2 on.
  static std::vector<OperandSpec> operands(const ::onnx::NodeProto& node,
                                           const OperatorSpec& spec) {
    if (spec.max_inputs >= 0) {
      return spec.operands;
    }
    std::vector<OperandSpec> listed;
    for (int i = 2; i + 2 < node.input_size(); i += 3) {
      listed.push_back({"input", i, i + 1, i + 2});
    }
    return listed;
  }

  void rewrite_operator(const ::onnx::NodeProto& node, const OperatorSpec& spec, Nodes& nodes) {
    check_inputs(node, spec);
    std::vector<std::string> float_inputs;
    std::vector<Parameters> checked;
    for (const OperandSpec& operand : operands(node, spec)) {
      if (!present(node, operand.tensor) || !present(node, operand.scale)) {
        refuse(node, fmt::format("its input {} or its scale is missing", operand.tensor));
      }
      const ::onnx::TensorProto* tensor = initializer(node.input(operand.tensor));
      Parameters p;
      float_inputs.push_back(
          dequantized(node, operand, channel_axis(node, operand, tensor), nodes, &p));
      checked.push_back(std::move(p));
    }
    const float alpha = node.op_type() == "QGemm" ? float_attribute(node, "alpha", 1.0F) : 1.0F;
    if (spec.bias && present(node, *spec.bias)) {
      const OperandSpec& weight = spec.operands[1];
      const ::onnx::TensorProto* w = initializer(node.input(weight.tensor));
      const auto axis = channel_axis(node, weight, w);
      if (!w || !axis) {
        refuse(node, "a bias needs a constant weight");
      }
      float_inputs.push_back(dequantized_bias(node, *spec.bias, checked[0], checked[1],
                                              w->dims(static_cast<int>(*axis)), alpha));
    }
    const std::string& y = node.output(0);
    const bool quantized_output = present(node, spec.output_scale);
    const std::string float_output = quantized_output ? fresh(y + "/float") : y;
    ::onnx::NodeProto& op = add_node(nodes, spec.float_op, "", float_inputs, float_output);
    op.set_name(node.name());  // the node it replaces: messages name it
    for (const auto& a : node.attribute()) {
      if (a.name() != "channels_last") {
        *op.add_attribute() = a;
      }
    }
    if (quantized_output) {
      quantize_output(node, spec.output_scale, checked.front().type, float_output, nodes);
    }
    ++stats_.rewritten;
  }

  // QuantizeLinear of the float result with the output's scale and zero
  // point (of the first operand's type if the node gives none).
  void quantize_output(const ::onnx::NodeProto& node, int scale_input, ElementType operand_type,
                       const std::string& float_output, Nodes& nodes) {
    const int zero_input = scale_input + 1;
    ElementType type = operand_type;
    if (present(node, zero_input)) {
      const ::onnx::TensorProto* zero = initializer(node.input(zero_input));
      if (!zero) {
        refuse(node, fmt::format("its output zero point '{}' is computed at run time; the "
                                 "runtime takes a constant",
                                 node.input(zero_input)));
      }
      type = static_cast<ElementType>(zero->data_type());
      if (type != ElementType::int8 && type != ElementType::uint8) {
        refuse(node, fmt::format("its output zero point '{}' is {}; supported: int8, uint8",
                                 node.input(zero_input), to_string(type)));
      }
    }
    (void)parameters(node, "output", scale_input, zero_input, type, std::nullopt);
    std::string zero_point;
    if (present(node, zero_input)) {
      zero_point = node.input(zero_input);
    } else {
      zero_point = fresh(node.output(0) + "/zero_point");
      add_initializer(zero_point, Constant::of_ints({}, {0}, type));
    }
    const std::string& y = node.output(0);
    add_node(nodes, "QuantizeLinear", node_name(node) + "/quantize",
             {float_output, node.input(scale_input), zero_point}, y);
    quantized_[y] = {type, node.input(scale_input), zero_point};
  }

  // MaxPool, Reshape, ... of a quantized tensor: the same op between a
  // DequantizeLinear and a QuantizeLinear of the input's parameters.
  void rewrite_data_movement(const ::onnx::NodeProto& node, Nodes& nodes) {
    if (node.output_size() != 1) {
      refuse(node, fmt::format("{} outputs of a quantized tensor; the runtime takes one",
                               node.output_size()));
    }
    const QuantizedTensor q = quantized_.at(node.input(0));
    std::vector<std::string> dequantize_inputs{node.input(0), q.scale};
    if (!q.zero_point.empty()) {
      dequantize_inputs.push_back(q.zero_point);
    }
    const std::string x = fresh(node.input(0) + "/dequantized");
    const std::string name = node_name(node);
    add_node(nodes, "DequantizeLinear", name + "/dequantize", dequantize_inputs, x);
    const std::string& y = node.output(0);
    ::onnx::NodeProto& op = *nodes.Add();
    op = node;
    op.set_input(0, x);
    op.set_output(0, fresh(y + "/float"));
    std::vector<std::string> quantize_inputs{op.output(0), q.scale};
    if (!q.zero_point.empty()) {
      quantize_inputs.push_back(q.zero_point);
    }
    add_node(nodes, "QuantizeLinear", name + "/quantize", quantize_inputs, y);
    quantized_[y] = q;
    ++stats_.rewritten;
  }

  // A QuantizeLinear of the file: its output's type (of its zero point;
  // uint8 without one) and parameters, for the operators that read it.
  void track_quantize(const ::onnx::NodeProto& node) {
    if (node.input_size() < 2 || node.output_size() < 1) {
      return;  // rewrite_qdq checks the schema
    }
    QuantizedTensor q{ElementType::uint8, node.input(1), ""};
    if (present(node, 2)) {
      q.zero_point = node.input(2);
      if (const ::onnx::TensorProto* zero = initializer(node.input(2))) {
        q.type = static_cast<ElementType>(zero->data_type());
      }
    }
    quantized_[node.output(0)] = q;
  }

  ::onnx::GraphProto& graph_;
  std::map<std::string, int> initializers_;  // name -> index in graph_.initializer
  UniqueNames names_;
  std::map<std::string, QuantizedTensor> quantized_;  // computed quantized tensors, by name
  QOperatorRewriteStats stats_;
};

}  // namespace

QOperatorRewriteStats rewrite_qoperator(::onnx::ModelProto& model) {
  const bool has_qoperator = std::ranges::any_of(
      model.graph().node(), [](const auto& node) { return quantized_operator(node) != nullptr; });
  if (!has_qoperator) {
    return {};
  }
  check_before_rewrite(model);
  return QOperatorRewriter(model).run();
}

}  // namespace npu::onnx_runtime
